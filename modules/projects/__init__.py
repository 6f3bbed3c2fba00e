"""Projects: keys, members with roles, milestones, an overview, an activity feed and a timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.errors import N_
from appliance.modules import ModuleSpec, NavItem, Permission
from modules.projects.backup import BACKUP

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from appliance.models import User
    from appliance.search import SearchHit


# The hooks live in files with fixed names (pages/, api/, search.py, backup.py); until the loader finds them by
# those names, the spec points at them, importing each only when it is called.
def _search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    from modules.projects.search import search

    return search(session=session, actor=actor, query=query, limit=limit)


def _register_pages() -> None:
    from modules.projects.pages import register

    register()


def _api_router() -> APIRouter:
    from modules.projects.api import router

    return router()


MODULE = ModuleSpec(
    name='projects',
    label=N_('Projects'),
    permissions=(
        Permission('projects.use', N_('See and work in projects one belongs to'), roles=('admin', 'member')),
        Permission('projects.create', N_('Create projects'), roles=('admin', 'member')),
        Permission('projects.manage_all', N_('Act as a manager in every project, including private ones')),
    ),
    nav=(NavItem(N_('Projects'), '/projects', 'folder_open', 'projects.use'),),
    search=_search,
    register_pages=_register_pages,
    api_router=_api_router,
    backup_hooks=BACKUP,
    protected_paths=('/projects', '/api/v1/projects'),
)
