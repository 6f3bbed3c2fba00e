"""Tasks: boards with per-project workflows, lists, my tasks, a calendar, comments, time, files, notifications."""

from __future__ import annotations

from appliance.errors import N_, NP_
from appliance.extensions import AUDIT_TEXTS, AuditText
from appliance.modules import ModuleSpec, NavItem, Permission
from modules.projects.extensions import ACTIVITY, BEFORE_DELETE, TABS, ActivityText, ProjectTab
from modules.projects.extensions import STATS as STATS_POINT
from modules.tasks.services import STATS, forget_project

MODULE = ModuleSpec(
    name='tasks',
    label=N_('Tasks'),
    requires=('projects',),
    permissions=(
        Permission('tasks.use', N_('Work on tasks in the projects one belongs to'), roles=('admin', 'member')),
    ),
    nav=(
        NavItem(N_('My tasks'), '/tasks/mine', 'task_alt', 'tasks.use'),
        NavItem(N_('Calendar'), '/tasks/calendar', 'calendar_month', 'tasks.use'),
    ),
    protected_paths=('/tasks/mine', '/tasks/calendar', '/api/v1/tasks'),
    contributes=(
        TABS.contribute(
            ProjectTab('board', N_('Board'), 'view_kanban', '/projects/{id}/board', 10),
            ProjectTab('list', N_('List'), 'list', '/projects/{id}/tasks', 20),
            ProjectTab('calendar', N_('Calendar'), 'calendar_month', '/projects/{id}/calendar', 30),
            ProjectTab('workflow', N_('Workflow'), 'view_column', '/projects/{id}/workflow', 80),
            ProjectTab('labels', N_('Labels'), 'label', '/projects/{id}/labels', 85),
        ),
        STATS_POINT.contribute(STATS),
        BEFORE_DELETE.contribute(forget_project),
        AUDIT_TEXTS.contribute(
            AuditText(
                'tasks.import',
                NP_('Imported {count} task from a CSV file', 'Imported {count} tasks from a CSV file', 'count'),
            ),
            AuditText('tasks.task_deleted', N_('Deleted the task {ref} {title}')),
            AuditText('tasks.status_deleted', N_('Deleted the board column {name}')),
            AuditText('tasks.comment.edit', N_('Edited a comment on {task}')),
            AuditText('tasks.comment.delete', N_('Deleted a comment on {task}')),
            AuditText('tasks.attachment.delete', N_('Deleted the file {filename} from {task}')),
            AuditText('tasks.calendar_feed.create', N_('Created a private calendar address')),
            AuditText('tasks.calendar_feed.revoke', N_('Revoked their private calendar address')),
        ),
        ACTIVITY.contribute(
            ActivityText(
                'tasks.imported', NP_('{actor} imported {count} task', '{actor} imported {count} tasks', 'count')
            ),
            ActivityText('time.deleted', N_('{actor} removed logged time from {ref} {title}')),
            ActivityText('task.created', N_('{actor} created {ref} {title}')),
            ActivityText('task.updated', N_('{actor} changed {ref} {title}')),
            ActivityText('task.moved', N_('{actor} moved {ref} {title} from {from_status} to {to_status}')),
            ActivityText('task.assigned', N_('{actor} assigned {ref} {title} to {assignees}')),
            ActivityText('task.deleted', N_('{actor} deleted {ref} {title}')),
            ActivityText('task.dependency_added', N_('{actor} made {ref} {title} wait for {blocker}')),
            ActivityText('task.dependency_removed', N_('{actor} made {ref} {title} no longer wait for {blocker}')),
            ActivityText('checklist.added', N_('{actor} added a checklist item to {ref} {title}')),
            ActivityText('checklist.checked', N_('{actor} ticked a checklist item of {ref} {title}')),
            ActivityText('checklist.unchecked', N_('{actor} unticked a checklist item of {ref} {title}')),
            ActivityText('status.added', N_('{actor} added the column {name}')),
            ActivityText('status.updated', N_('{actor} changed the column {name}')),
            ActivityText('status.reordered', N_('{actor} reordered the board columns')),
            ActivityText('status.deleted', N_('{actor} deleted the column {name}')),
            ActivityText('label.created', N_('{actor} created the label {name}')),
            ActivityText('label.updated', N_('{actor} changed the label {name}')),
            ActivityText('label.deleted', N_('{actor} deleted the label {name}')),
            ActivityText('comment.added', N_('{actor} commented on {ref} {title}')),
            ActivityText('comment.edited', N_('{actor} edited a comment on {ref} {title}')),
            ActivityText('comment.deleted', N_('{actor} deleted a comment on {ref} {title}')),
            ActivityText('time.logged', N_('{actor} logged time on {ref} {title}')),
            ActivityText('attachment.added', N_('{actor} attached a file to {ref} {title}')),
            ActivityText('attachment.deleted', N_('{actor} removed a file from {ref} {title}')),
        ),
    ),
)
