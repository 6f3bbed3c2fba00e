"""Projects: keys, members with roles, milestones, an overview, an activity feed and a timeline."""

from __future__ import annotations

from fastapi import APIRouter

from appliance.errors import N_
from appliance.modules import BackupHooks, ModuleSpec, NavItem, Permission
from modules.projects.pages.projects import register as register_pages
from modules.projects.search import search as search_projects


def _api_router() -> APIRouter:
    from modules.projects.api.projects import router

    return router


MODULE = ModuleSpec(
    name='projects',
    label=N_('Projects'),
    permissions=(
        Permission('projects.use', N_('See and work in projects one belongs to'), roles=('admin', 'member')),
        Permission('projects.create', N_('Create projects'), roles=('admin', 'member')),
        Permission('projects.manage_all', N_('Act as a manager in every project, including private ones')),
    ),
    nav=(NavItem(N_('Projects'), '/projects', 'folder_open', 'projects.use'),),
    search=search_projects,
    register_pages=register_pages,
    api_router=_api_router,
    backup_hooks=BackupHooks(
        tables=('projects_projects', 'projects_members', 'projects_milestones', 'projects_activity')
    ),
    protected_paths=('/projects', '/api/v1/projects'),
)
