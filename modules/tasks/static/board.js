// The whole kanban board in one component: columns and cards come as plain JSON in `columns` (see pages/parts/card.py).
// Text is bound with {{ }} (escaped by Vue), never as HTML; label colours come from the server checked as #rrggbb.
// Dragging uses the SortableJS that NiceGUI bundles ("nicegui-sortable" in its import map, nothing downloaded), in
// pointer mode. After a drop the DOM change SortableJS made is undone and the card is moved in the data instead,
// so that Vue stays the only one drawing; the server hears 'move' {task_id, status_id, after_id} and answers with
// the columns as it has them.
export default {
  template: `
    <div :class="editable ? 'tk-board tk-draggable' : 'tk-board'">
      <div v-for="col in cols" :key="col.id" :id="'column-' + col.id" class="tk-column">
        <div class="tk-column-head">
          <span class="tk-column-name">{{ col.name }}</span>
          <i v-if="col.closed" class="q-icon notranslate material-icons tk-closed" role="img"
             :aria-label="texts.closed" :title="texts.closed">check_circle</i>
          <span class="tk-count">{{ col.total }}</span>
        </div>
        <input v-if="editable" v-model="drafts[col.id]" type="text" class="tk-quick-add" maxlength="200"
               :placeholder="texts.new_task" :aria-label="texts.new_task" @keydown.enter="add(col.id, $event)">
        <div class="tk-cards" :data-status-id="col.id">
          <div v-for="task in col.cards" :key="task.id" :id="'card-' + task.id" class="tk-card" :data-task-id="task.id">
            <div class="tk-card-top">
              <span class="tk-ref">{{ task.ref }}</span>
              <span v-if="task.priority" :class="'tk-prio tk-prio-' + task.priority_key">{{ task.priority }}</span>
              <span v-if="task.due" :class="task.overdue ? 'tk-due tk-overdue' : 'tk-due'" :title="task.due_title">{{ task.due }}</span>
              <button v-if="editable" type="button" class="tk-menu" :aria-label="task.menu_label" :title="task.menu_label"
                      @click.stop="$emit('menu', { task_id: task.id })" @keydown.stop>
                <i class="material-icons" aria-hidden="true">more_vert</i>
              </button>
            </div>
            <a :href="task.url" class="tk-title" draggable="false">{{ task.title }}</a>
            <div v-if="task.labels.length || task.people.length" class="tk-meta">
              <span v-for="label in task.labels" class="tk-label" :style="{ background: label.color }">{{ label.name }}</span>
              <span v-for="person in task.people" class="tk-person" :title="person.name">{{ person.initials }}</span>
            </div>
          </div>
        </div>
        <q-btn v-if="col.cards.length < col.total" flat dense no-caps class="w-full tk-more" :label="texts.show_more"
               @click="$emit('more', { status_id: col.id })" />
      </div>
    </div>`,
  props: {
    columns: Array,
    editable: Boolean,
    group: String,
    texts: Object,
  },
  emits: ["move", "menu", "more", "add"],
  data() {
    return { cols: this.copy(this.columns), drafts: {} };
  },
  watch: {
    columns(value) {
      this.cols = this.copy(value);
    },
  },
  async mounted() {
    if (!this.editable) return;
    const { Sortable } = await import("nicegui-sortable");
    this.Sortable = Sortable;
    this.bind();
  },
  updated() {
    this.bind();
  },
  unmounted() {
    (this.sortables || []).forEach((sortable) => sortable.destroy());
    this.sortables = [];
  },
  methods: {
    copy(columns) {
      return JSON.parse(JSON.stringify(columns || []));
    },
    bind() {
      if (!this.Sortable || !this.$el?.querySelectorAll) return;
      this.sortables = (this.sortables || []).filter((sortable) => sortable.el.isConnected || sortable.destroy());
      this.$el.querySelectorAll(".tk-cards").forEach((list) => {
        if (this.sortables.some((sortable) => sortable.el === list)) return;
        this.sortables.push(
          this.Sortable.create(list, {
            group: this.group,
            animation: 150,
            ghostClass: "tk-ghost",
            draggable: ".tk-card",
            forceFallback: true,
            filter: ".tk-menu, input",
            preventOnFilter: false,
            onEnd: (event) => this.dropped(event),
          }),
        );
      });
    },
    dropped(event) {
      const { item, from, to, oldIndex, newIndex } = event;
      if (from === to && oldIndex === newIndex) return;
      // Put the card back where Vue drew it, then move it in the data (Vue moves the DOM node).
      item.remove();
      const before = oldIndex === 0 ? from.children[0] : from.children[oldIndex - 1]?.nextSibling;
      from.insertBefore(item, before ?? null);
      const source = this.cols.find((col) => col.id === Number(from.dataset.statusId));
      const target = this.cols.find((col) => col.id === Number(to.dataset.statusId));
      if (!source || !target) return;
      const [task] = source.cards.splice(oldIndex, 1);
      if (!task) return;
      target.cards.splice(newIndex, 0, task);
      if (source !== target) {
        source.total -= 1;
        target.total += 1;
      }
      const above = newIndex > 0 ? target.cards[newIndex - 1].id : null;
      this.$emit("move", { task_id: task.id, status_id: target.id, after_id: above });
    },
    add(statusId, event) {
      if (event.isComposing) return;
      event.preventDefault();
      const title = (event.target.value || "").trim();
      if (title) this.$emit("add", { status_id: statusId, title });
    },
    clearDraft(statusId) {
      this.drafts[statusId] = "";
    },
  },
};
