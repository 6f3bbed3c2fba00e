// A board card: one NiceGUI element per card (a few hundred cards stay light). Text is bound with {{ }}
// (escaped by Vue); colours come from the server already checked to be #rrggbb.
export default {
  template: `
    <div class="tk-card-wrap">
      <div :id="'card-' + task.id" class="tk-card" :data-task-id="task.id">
        <div class="tk-card-top">
          <span class="tk-ref">{{ task.ref }}</span>
          <span v-if="task.priority" :class="'tk-prio tk-prio-' + task.priority_key">{{ task.priority }}</span>
          <span v-if="task.due" :class="task.overdue ? 'tk-due tk-overdue' : 'tk-due'" :title="task.due_title">{{ task.due }}</span>
          <button v-if="menu" type="button" class="tk-menu" :aria-label="menuLabel" :title="menuLabel"
                  @click.stop="$emit('menu')" @keydown.stop><i class="material-icons" aria-hidden="true">more_vert</i></button>
        </div>
        <a :href="task.url" class="tk-title" draggable="false">{{ task.title }}</a>
        <div v-if="task.labels.length || task.people.length" class="tk-meta">
          <span v-for="label in task.labels" class="tk-label" :style="{ background: label.color }">{{ label.name }}</span>
          <span v-for="person in task.people" class="tk-person" :title="person.name">{{ person.initials }}</span>
        </div>
      </div>
    </div>`,
  props: {
    task: Object,
    menu: Boolean,
    menuLabel: String,
  },
};
