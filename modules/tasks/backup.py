"""What a backup of the tasks module holds: its tables and the blobs of task attachments."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(
    tables=(
        'tasks_statuses',
        'tasks_tasks',
        'tasks_assignees',
        'tasks_watchers',
        'tasks_labels',
        'tasks_task_labels',
        'tasks_dependencies',
        'tasks_checklist',
        'tasks_comments',
        'tasks_time_entries',
        'tasks_attachments',
        'tasks_calendar_feeds',
    ),
    blob_owners=('tasks.attachment',),
)
