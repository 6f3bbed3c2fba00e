// A card of the home page (see appliance/ui/pages_home.py, HomeCard): a title with a link to the whole list, a
// sentence, and lines that are links, each with a caption and an optional progress bar; drawn from plain props.
// Every text is bound as text (escaped by Vue and Quasar), never as HTML; hrefs are local paths checked server-side.
const TONES = { red: "text-red-9", amber: "text-orange-10", green: "text-green-9" };

export default {
  template: `
    <q-card flat bordered>
      <q-card-section class="q-pb-xs">
        <div class="row items-center no-wrap q-gutter-x-sm">
          <div class="text-subtitle1 text-weight-medium ellipsis">{{ title }}</div>
          <q-space />
          <a v-if="href" :href="href" class="text-primary text-body2 no-underline">{{ more }}</a>
        </div>
        <div v-if="summary" :class="['text-body2', tone(summaryTone)]">{{ summary }}</div>
      </q-card-section>
      <q-list v-if="lines.length" dense class="q-pb-sm">
        <q-item v-for="(line, index) in lines" :key="index" :href="line.href || undefined" :clickable="!!line.href">
          <q-item-section>
            <q-item-label lines="2">{{ line.text }}</q-item-label>
            <q-item-label v-if="line.caption" caption :class="tone(line.tone)">{{ line.caption }}</q-item-label>
            <q-linear-progress v-if="line.progress !== null" :value="line.progress" rounded size="6px"
                               color="positive" track-color="grey-3" class="q-mt-xs" />
          </q-item-section>
        </q-item>
      </q-list>
      <q-card-section v-else class="text-grey-7 text-body2 q-pt-xs">{{ empty }}</q-card-section>
    </q-card>`,
  props: {
    title: String,
    summary: String,
    summaryTone: String,
    href: String,
    more: String,
    empty: String,
    lines: Array,
  },
  methods: {
    tone(name) {
      return TONES[name] || "";
    },
  },
};
