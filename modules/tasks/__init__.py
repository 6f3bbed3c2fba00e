"""Tasks: boards with per-project workflows, lists, my tasks, a calendar, comments, time, files, notifications."""

from __future__ import annotations

from fastapi import APIRouter

from appliance.errors import N_
from appliance.modules import BackupHooks, ModuleSpec, NavItem, Permission
from modules.tasks import api, api_collab, pages, search
from modules.tasks.jobs import JOBS


def _api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(api.router)
    router.include_router(api_collab.router)
    return router


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
    search=search.search,
    register_pages=pages.register,
    api_router=_api_router,
    jobs=JOBS,
    backup_hooks=BackupHooks(
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
    ),
    protected_paths=('/tasks/mine', '/tasks/calendar', '/api/v1/tasks'),
)
