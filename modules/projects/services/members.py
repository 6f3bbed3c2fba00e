"""Project members and their roles: managers add, re-role and remove; a project always keeps a manager."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.db import lock_for_write
from appliance.errors import N_, Conflict, NotFound, ValidationError
from appliance.models import User
from appliance.services import audit
from modules.projects.models import ROLES, Member, Project
from modules.projects.services import access
from modules.projects.services.activity import record
from modules.projects.services.common import check_choice
from modules.projects.views import MemberView


def list_members(*, session: Session, actor: User, project_id: int) -> list[MemberView]:
    """Everyone in the project (managers first, then by name); anyone who may see the project may read it."""
    access.require_project(session, actor, project_id)
    # Plain columns, not the two rows as objects (a user object also loads its roles): pages list members often.
    rows = session.execute(
        select(User.id, User.username, User.display_name, Member.role)
        .join(User, User.id == Member.user_id)
        .where(Member.project_id == project_id)
    ).all()
    views = [
        MemberView(user_id=user_id, username=username, display_name=display_name, role=role)
        for user_id, username, display_name, role in rows
    ]
    return sorted(views, key=lambda view: (-access.LEVEL[view.role], view.display_name.casefold(), view.user_id))


CANDIDATES_LIMIT = 500


def member_candidates(*, session: Session, actor: User, project_id: int) -> dict[str, str]:
    """username -> "Display name (@username)" of the active people who could join (managers), by name; for the
    "add member" picker, which filters them as the manager types a name or a username."""
    project = access.require_project(session, actor, project_id, 'manager')
    inside = select(Member.user_id).where(Member.project_id == project.id)
    rows = session.execute(
        select(User.username, User.display_name)
        .where(User.is_active.is_(True), User.id.not_in(inside))
        .order_by(User.display_name, User.username)
        .limit(CANDIDATES_LIMIT)
    ).all()
    return {username: f'{name} (@{username})' for username, name in rows}


def _find_user(session: Session, *, user_id: int | None, username: str) -> User:
    user: User | None = None
    if user_id is not None:
        user = session.get(User, user_id)
    elif username.strip():
        user = session.scalars(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None or not user.is_active:
        raise ValidationError(N_('There is no active user with that name; check the spelling.'), field='user')
    return user


def add_member(
    *,
    session: Session,
    actor: User,
    project_id: int,
    user_id: int | None = None,
    username: str = '',
    role: str = 'member',
) -> MemberView:
    """Add an active user (by id or username) to the project with `role` (managers only)."""
    project = access.require_project(session, actor, project_id, 'manager')
    check_choice(role, ROLES, field='role')
    user = _find_user(session, user_id=user_id, username=username)
    lock_for_write(session, Project, project.id)
    if access.is_member(session, project.id, user.id):
        raise Conflict(N_('{name} is already a member of this project.'), name=user.display_name)
    session.add(Member(project_id=project.id, user_id=user.id, role=role))
    details = {'user': user.username, 'name': user.display_name, 'role': role}
    record(
        session,
        project_id=project.id,
        actor=actor,
        action='member.added',
        target_kind='user',
        target_id=user.id,
        **details,
    )
    audit.record(
        session=session, actor=actor, action='project.member_added', target=f'project:{project.id}', details=details
    )
    session.flush()
    return MemberView(user_id=user.id, username=user.username, display_name=user.display_name, role=role)


def _membership(session: Session, project: Project, user_id: int) -> tuple[Member, User]:
    member = session.get(Member, (project.id, user_id))
    user = session.get(User, user_id)
    if member is None or user is None:
        raise NotFound(N_('This person is not a member of the project.'))
    return member, user


def _managers(session: Session, project_id: int) -> int:
    stmt = select(func.count()).select_from(Member).where(Member.project_id == project_id, Member.role == 'manager')
    return session.scalar(stmt) or 0


def change_role(*, session: Session, actor: User, project_id: int, user_id: int, role: str) -> MemberView:
    """Give a member another role (managers); the last manager cannot step down."""
    project = access.require_project(session, actor, project_id, 'manager')
    check_choice(role, ROLES, field='role')
    # "Is this the last manager?" under the write lock: two managers stepping down at once leave one, not none.
    lock_for_write(session, Project, project.id)
    member, user = _membership(session, project, user_id)
    if member.role == role:
        return MemberView(user_id=user.id, username=user.username, display_name=user.display_name, role=role)
    if member.role == 'manager' and _managers(session, project.id) <= 1:
        raise Conflict(N_('A project needs at least one manager. Make someone else a manager first.'))
    old = member.role
    member.role = role
    details = {'user': user.username, 'name': user.display_name, 'old_role': old, 'role': role}
    record(
        session,
        project_id=project.id,
        actor=actor,
        action='member.role_changed',
        target_kind='user',
        target_id=user.id,
        **details,
    )
    audit.record(
        session=session,
        actor=actor,
        action='project.member_role_changed',
        target=f'project:{project.id}',
        details=details,
    )
    session.flush()
    return MemberView(user_id=user.id, username=user.username, display_name=user.display_name, role=role)


def remove_member(*, session: Session, actor: User, project_id: int, user_id: int) -> None:
    """Remove someone from the project (managers; anyone may leave). The last manager cannot be removed."""
    if user_id == actor.id:  # leaving: any member may, unless they are the last manager
        project = access.require_project(session, actor, project_id)
        if project.status == 'archived':
            raise Conflict(N_('The project is archived. Restore it before changing anything in it.'))
    else:
        project = access.require_project(session, actor, project_id, 'manager')
    lock_for_write(session, Project, project.id)
    member, user = _membership(session, project, user_id)
    if member.role == 'manager' and _managers(session, project.id) <= 1:
        raise Conflict(N_('A project needs at least one manager. Make someone else a manager first.'))
    if project.owner_id == user.id:
        project.owner_id = None
    session.delete(member)
    details = {'user': user.username, 'name': user.display_name, 'role': member.role}
    record(
        session,
        project_id=project.id,
        actor=actor,
        action='member.removed',
        target_kind='user',
        target_id=user.id,
        **details,
    )
    audit.record(
        session=session, actor=actor, action='project.member_removed', target=f'project:{project.id}', details=details
    )
    session.flush()
