// The frame's header in one component (see appliance/ui/frame.py, FrameHeader): the menu button, the organisation's
// name, the search form, the notifications bell with its unread count and the account menu, drawn from plain props
// instead of a NiceGUI element each. Every text is bound as text (escaped by Vue and Quasar), never as HTML.
// Navigation is by plain links; only 'sign-out' and 'refresh' (the bell's count, every `every` seconds while the
// page is open) go to the server. The menu button opens and closes the navigation drawer in the browser.
export default {
  template: `
    <div class="row no-wrap items-center gap-2 w-full">
      <q-btn flat dense color="white" icon="menu" :aria-label="menuLabel" @click="toggleDrawer" />
      <a href="/" class="text-white text-lg font-medium no-underline mr-auto truncate">{{ org }}</a>
      <form v-if="searchLabel" action="/search" method="get" role="search" class="max-w-xs grow">
        <input type="search" name="q" :placeholder="searchLabel" :aria-label="searchLabel" :class="searchClasses" />
      </form>
      <q-btn flat dense round color="white" icon="notifications" href="/notifications" :aria-label="bellLabel">
        <q-badge v-if="unread > 0" color="red" floating>{{ unread < 100 ? unread : "99+" }}</q-badge>
      </q-btn>
      <q-btn flat dense color="white" icon="account_circle" :aria-label="accountLabel">
        <q-menu>
          <q-list style="min-width: 160px">
            <q-item disable><q-item-section>{{ name }}</q-item-section></q-item>
            <q-item clickable v-close-popup href="/profile"><q-item-section>{{ profileLabel }}</q-item-section></q-item>
            <q-item clickable v-close-popup @click="$emit('sign-out')">
              <q-item-section>{{ signOutLabel }}</q-item-section>
            </q-item>
          </q-list>
        </q-menu>
      </q-btn>
    </div>`,
  props: {
    org: String,
    name: String,
    unread: Number,
    every: Number,
    drawer: Number,
    menuLabel: String,
    searchLabel: String,
    searchClasses: String,
    bellLabel: String,
    accountLabel: String,
    profileLabel: String,
    signOutLabel: String,
  },
  emits: ["sign-out", "refresh"],
  mounted() {
    if (this.every > 0) this.timer = setInterval(() => this.$emit("refresh"), this.every * 1000);
  },
  unmounted() {
    clearInterval(this.timer);
  },
  methods: {
    toggleDrawer() {
      runMethod(this.drawer, "toggle", []);
    },
  },
};
