// The board's filter bar in one component (see pages/parts/filter_bar.py): Quasar's selects and text field drawn
// from plain JSON in `fields`, instead of a NiceGUI element per field. Labels and option names are bound as text
// (escaped by Vue and Quasar), never as HTML. A change is sent to the server as 'go' {key, value}, which loads the
// page again with the new query string; 'clear' drops every filter.
export default {
  template: `
    <div>
      <template v-for="field in fields" :key="field.key">
        <q-select v-if="field.options" v-model="values[field.key]" :options="field.options" :label="field.label"
                  emit-value map-options dense outlined options-dense :class="field.width"
                  @update:model-value="(value) => go(field.key, value)" />
        <q-input v-else v-model="values[field.key]" :label="field.label" type="text" dense outlined clearable
                 :class="field.width" @keydown.enter="enter(field.key, $event)" @clear="go(field.key, '')" />
      </template>
      <q-btn v-if="clear" flat dense icon="filter_alt_off" :label="clear" @click="$emit('clear')" />
    </div>`,
  props: {
    fields: Array,
    clear: String,
  },
  emits: ["go", "clear"],
  data() {
    return { values: Object.fromEntries((this.fields || []).map((field) => [field.key, field.value])) };
  },
  methods: {
    go(key, value) {
      this.$emit("go", { key, value: value ?? "" });
    },
    enter(key, event) {
      if (event.isComposing) return;
      this.go(key, String(this.values[key] ?? "").trim());
    },
  },
};
