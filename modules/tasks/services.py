"""Every read and write of tasks: workflow, tasks, board order, labels, dependencies, checklists, watchers.

Keyword-only `session` and `actor`; permissions are checked here (project role via modules.tasks.access);
every change is one transaction, audited where it matters and written to the project's activity feed.
The bodies live in smaller files (workflow, editing, moving, queries, detail, relations); this is the one
name pages, the API and other modules import.
"""

from __future__ import annotations

from modules.tasks.detail import get_task
from modules.tasks.editing import UPDATABLE, create_task, delete_task, find_by_ref, move_task, update_task
from modules.tasks.queries import board, calendar, column_page, list_tasks, my_tasks
from modules.tasks.relations import (
    add_checklist_item,
    add_dependency,
    delete_checklist_item,
    remove_dependency,
    set_watching,
    update_checklist_item,
)
from modules.tasks.workflow import (
    add_status,
    create_label,
    delete_label,
    delete_status,
    ensure_workflow,
    list_labels,
    list_statuses,
    reorder_statuses,
    update_label,
    update_status,
)

__all__ = [
    'UPDATABLE',
    'add_checklist_item',
    'add_dependency',
    'add_status',
    'board',
    'calendar',
    'column_page',
    'create_label',
    'create_task',
    'delete_checklist_item',
    'delete_label',
    'delete_status',
    'delete_task',
    'ensure_workflow',
    'find_by_ref',
    'get_task',
    'list_labels',
    'list_statuses',
    'list_tasks',
    'move_task',
    'my_tasks',
    'remove_dependency',
    'reorder_statuses',
    'set_watching',
    'update_checklist_item',
    'update_label',
    'update_status',
    'update_task',
]
