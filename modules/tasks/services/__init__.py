"""Every read and write of tasks: workflow, tasks, board order, labels, dependencies, checklists, watchers.

Keyword-only `session` and `actor`; permissions are checked here (project role via services/access.py);
every change is one transaction, audited where it matters and written to the project's activity feed.
The bodies live in the files of this package (workflow, editing, moving, queries, detail, relations, comments,
timelog, attachments, csvio, ical, notify, stats); this `__init__` is the one name pages, the API, the hooks and
other modules import.
"""

from __future__ import annotations

from modules.tasks.services.access import require_task, task_ref, task_url
from modules.tasks.services.attachments import (
    BLOB_OWNER,
    check_can_upload,
    clean_content_type,
    clean_filename,
    content_disposition,
    delete_attachment,
    list_attachments,
    max_upload_bytes,
    open_attachment,
    receive_upload,
    record_attachment,
    served_type,
    too_large,
    upload_url,
    validation_is_too_large,
)
from modules.tasks.services.comments import add_comment, delete_comment, edit_comment, list_comments, search_comments
from modules.tasks.services.common import LABEL_NAME_MAX
from modules.tasks.services.csvio import (
    MAX_IMPORT_BYTES,
    ImportInvalid,
    Preview,
    commit_import,
    export_csv,
    parse_import,
)
from modules.tasks.services.detail import get_task
from modules.tasks.services.editing import (
    UPDATABLE,
    create_task,
    delete_task,
    find_by_ref,
    forget_project,
    move_task,
    update_task,
)
from modules.tasks.services.ical import FeedStatus, create_feed, feed_status, render_feed, revoke_feed
from modules.tasks.services.notify import due_tomorrow, overdue
from modules.tasks.services.queries import (
    board,
    calendar,
    column_page,
    due_soon,
    list_tasks,
    my_tasks,
    resolve_refs,
)
from modules.tasks.services.relations import (
    add_checklist_item,
    add_dependency,
    checklist_item,
    delete_checklist_item,
    remove_dependency,
    set_watching,
    update_checklist_item,
)
from modules.tasks.services.stats import STATS
from modules.tasks.services.timelog import delete_time, list_time, log_time
from modules.tasks.services.workflow import (
    add_status,
    create_label,
    delete_label,
    delete_status,
    ensure_workflow,
    list_labels,
    list_statuses,
    reorder_statuses,
    status_view,
    update_label,
    update_status,
)

__all__ = [
    'BLOB_OWNER',
    'LABEL_NAME_MAX',
    'MAX_IMPORT_BYTES',
    'STATS',
    'UPDATABLE',
    'FeedStatus',
    'ImportInvalid',
    'Preview',
    'add_checklist_item',
    'add_comment',
    'add_dependency',
    'add_status',
    'board',
    'calendar',
    'check_can_upload',
    'checklist_item',
    'clean_content_type',
    'clean_filename',
    'column_page',
    'commit_import',
    'content_disposition',
    'create_feed',
    'create_label',
    'create_task',
    'delete_attachment',
    'delete_checklist_item',
    'delete_comment',
    'delete_label',
    'delete_status',
    'delete_task',
    'delete_time',
    'due_soon',
    'due_tomorrow',
    'edit_comment',
    'ensure_workflow',
    'export_csv',
    'feed_status',
    'find_by_ref',
    'forget_project',
    'get_task',
    'list_attachments',
    'list_comments',
    'list_labels',
    'list_statuses',
    'list_tasks',
    'list_time',
    'log_time',
    'max_upload_bytes',
    'move_task',
    'my_tasks',
    'open_attachment',
    'overdue',
    'parse_import',
    'receive_upload',
    'record_attachment',
    'remove_dependency',
    'render_feed',
    'reorder_statuses',
    'require_task',
    'resolve_refs',
    'revoke_feed',
    'search_comments',
    'served_type',
    'set_watching',
    'status_view',
    'task_ref',
    'task_url',
    'too_large',
    'update_checklist_item',
    'update_label',
    'update_status',
    'update_task',
    'upload_url',
    'validation_is_too_large',
]
