"""Who may do what in a project: the one place that turns membership and visibility into a project role.

Roles rise viewer < member < manager. A member of the organisation who is not in a project sees it as a viewer
when the project is visible to the whole organisation, and not at all otherwise (it is "not found", so its
existence does not leak). Holders of `projects.manage_all` (admins) act as managers everywhere.
Archived projects are read-only until restored.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from appliance.errors import N_, Conflict, NotFound, PermissionDenied
from appliance.models import User
from appliance.services import audit
from appliance.services.permissions import has_permission, require
from modules.projects.models import ROLES, Member, Project

LEVEL = {role: rank for rank, role in enumerate(ROLES, start=1)}
_KEPT = 'projects.kept'


def _kept(session: Session, obj: object) -> None:
    """Hold a looked-up row for the rest of the session: its identity map holds rows only weakly, so a page that asks
    three services about one project would otherwise read the project and the membership three times."""
    if obj is not None:
        session.info.setdefault(_KEPT, set()).add(obj)


def role_in(session: Session, actor: User, project: Project) -> str | None:
    """The actor's effective role in `project`, or None when they may not see it."""
    if has_permission(actor, 'projects.manage_all'):
        return 'manager'
    if not has_permission(actor, 'projects.use'):
        return None
    member = session.get(Member, (project.id, actor.id))
    if member is not None:
        _kept(session, member)
        return member.role
    return 'viewer' if project.visibility == 'org' else None


def require_project(session: Session, actor: User, project_id: int, need: str = 'viewer') -> Project:
    """The project, if the actor's role in it is at least `need`; else NotFound / PermissionDenied / Conflict.

    Writing (`need` above viewer) into an archived project is refused with a Conflict saying to restore it.
    """
    require(actor, 'projects.use', target=f'project:{project_id}')
    project = session.get(Project, project_id)
    _kept(session, project)
    role = role_in(session, actor, project) if project is not None else None
    if project is None or role is None:
        raise NotFound(N_('This project does not exist, or you are not one of its members.'))
    if LEVEL[role] < LEVEL[need]:
        audit.record_now(
            actor=actor, action='permission.denied', target=f'project:{project_id}', details={'need': need}
        )
        raise PermissionDenied(N_('You need the {role} role in this project to do that.'), role=need)
    if need != 'viewer' and project.status == 'archived':
        raise Conflict(N_('The project is archived. Restore it before changing anything in it.'))
    return project


def visible_project_ids(actor: User) -> Select[int]:
    """A SELECT of the ids of every project the actor may see (use with `.in_()`)."""
    if has_permission(actor, 'projects.manage_all'):
        return select(Project.id)
    if not has_permission(actor, 'projects.use'):
        return select(Project.id).where(Project.id.is_(None))
    mine = select(Member.project_id).where(Member.user_id == actor.id)
    return select(Project.id).where(or_(Project.visibility == 'org', Project.id.in_(mine)))


def is_member(session: Session, project_id: int, user_id: int) -> bool:
    """True when the user is in the project's member list (any role)."""
    return session.get(Member, (project_id, user_id)) is not None
