"""Projects: create, read, list, change, archive, restore and delete. Every read and write checks the project role.

Members, milestones and the activity feed have their own files (members.py, milestones.py, feed.py); the
package's `__init__.py` re-exports them all, so callers use `services.<name>`.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appliance.db import lock_for_write, utcnow
from appliance.errors import N_, Conflict, ValidationError
from appliance.models import User
from appliance.search import like_pattern
from appliance.services import audit
from appliance.services.paging import Page
from appliance.services.permissions import has_permission, require
from modules.projects import extensions
from modules.projects.models import STATUSES, VISIBILITIES, Member, Project
from modules.projects.services import access
from modules.projects.services.activity import record
from modules.projects.services.common import (
    UNSET,
    Unset,
    check_choice,
    check_dates,
    check_year,
    clean_description,
    clean_name,
    project_view,
)
from modules.projects.views import ProjectView

KEY_RE = re.compile(r'^[A-Z][A-Z0-9]{1,9}$')
EDITABLE_STATUSES = ('active', 'on_hold', 'done')


def clean_key(key: str) -> str:
    """The key upper-cased, if it is 2–10 letters and digits starting with a letter; else ValidationError."""
    key = (key or '').strip().upper()
    if not KEY_RE.match(key):
        raise ValidationError(
            N_('A key is 2 to 10 letters or digits and starts with a letter, e.g. WEB or APP2.'), field='key'
        )
    return key


def create_project(
    *,
    session: Session,
    actor: User,
    name: str,
    key: str,
    description: str = '',
    visibility: str = 'members',
    start_date: date | None = None,
    end_date: date | None = None,
) -> ProjectView:
    """Create a project; the creator becomes its owner and first manager."""
    require(actor, 'projects.create', target='projects')
    name = clean_name(name)
    key = clean_key(key)
    description = clean_description(description)
    check_choice(visibility, VISIBILITIES, field='visibility')
    check_year(start_date, field='start_date')
    check_year(end_date, field='end_date')
    check_dates(start_date, end_date)
    # "Is the key taken?" and the insert under one write lock (SQLite); elsewhere the UNIQUE key answers below.
    lock_for_write(session)
    if session.scalar(select(Project.id).where(func.upper(Project.key) == key)) is not None:
        raise Conflict(N_('The key {key} is already used by another project; choose another.'), key=key)
    project = Project(
        name=name,
        key=key,
        description=description,
        visibility=visibility,
        start_date=start_date,
        end_date=end_date,
        owner_id=actor.id,
    )
    session.add(project)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(N_('The key {key} is already used by another project; choose another.'), key=key) from None
    session.add(Member(project_id=project.id, user_id=actor.id, role='manager'))
    record(session, project_id=project.id, actor=actor, action='project.created', key=key, name=name)
    audit.record(
        session=session, actor=actor, action='project.created', target=f'project:{project.id}', details={'key': key}
    )
    session.flush()
    return project_view(session, actor, project)


def get_project(*, session: Session, actor: User, project_id: int) -> ProjectView:
    """One project the actor may see (NotFound otherwise), with their role in it."""
    project = access.require_project(session, actor, project_id)
    return project_view(session, actor, project)


def progress(session: Session, project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{project_id: (closed, total)} summed over every contributing module; (0, 0) when there is none."""
    return extensions.add_up(
        project_ids, (p.progress(session, project_ids) for p in extensions.stats()) if project_ids else ()
    )


def list_projects(
    *,
    session: Session,
    actor: User,
    status: str = '',
    query: str = '',
    offset: int = 0,
    limit: int = 50,
) -> Page[ProjectView]:
    """The projects the actor may see, by name; archived ones only when `status` is 'archived'.

    `status` '' means every status but archived; `query` matches key, name or description.
    """
    require(actor, 'projects.use', target='projects')
    stmt = select(Project).where(Project.id.in_(access.visible_project_ids(actor)))
    if status:
        check_choice(status, STATUSES, field='status')
        stmt = stmt.where(Project.status == status)
    else:
        stmt = stmt.where(Project.status != 'archived')
    query = ' '.join((query or '').split())[:200]
    if query:
        pattern = like_pattern(query)
        stmt = stmt.where(
            or_(
                Project.key.ilike(pattern, escape='\\'),
                Project.name.ilike(pattern, escape='\\'),
                Project.description.ilike(pattern, escape='\\'),
            )
        )
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(func.lower(Project.name), Project.id).offset(offset).limit(limit)))
    # Roles and owner names for the whole page in two queries, not two per project.
    admin = has_permission(actor, 'projects.manage_all')
    roles = dict(
        session.execute(
            select(Member.project_id, Member.role).where(
                Member.user_id == actor.id, Member.project_id.in_([p.id for p in rows])
            )
        ).all()
    )
    owners = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_({p.owner_id for p in rows if p.owner_id}))
        ).all()
    )
    items = [
        project_view(
            session,
            actor,
            project,
            role='manager' if admin else roles.get(project.id, 'viewer'),
            owner_name=owners.get(project.owner_id, '') if project.owner_id else '',
        )
        for project in rows
    ]
    return Page(items=items, total=total, offset=offset, limit=limit)


def update_project(
    *,
    session: Session,
    actor: User,
    project_id: int,
    name: str | None = None,
    description: str | None = None,
    status: str | None = None,
    visibility: str | None = None,
    start_date: date | Unset | None = UNSET,
    end_date: date | Unset | None = UNSET,
    owner_id: int | Unset | None = UNSET,
) -> ProjectView:
    """Change a project (managers). Arguments left out keep their value; archive with `archive_project`."""
    project = access.require_project(session, actor, project_id, 'manager')
    changes: dict[str, object] = {}
    if name is not None:
        changes['name'] = clean_name(name)
    if description is not None:
        changes['description'] = clean_description(description)
    if status is not None:
        changes['status'] = check_choice(status, EDITABLE_STATUSES, field='status')
    if visibility is not None:
        changes['visibility'] = check_choice(visibility, VISIBILITIES, field='visibility')
    start = project.start_date if isinstance(start_date, Unset) else check_year(start_date, field='start_date')
    end = project.end_date if isinstance(end_date, Unset) else check_year(end_date, field='end_date')
    check_dates(start, end)
    if not isinstance(start_date, Unset):
        changes['start_date'] = start_date
    if not isinstance(end_date, Unset):
        changes['end_date'] = end_date
    if not isinstance(owner_id, Unset):
        if owner_id is not None and not access.is_member(session, project.id, owner_id):
            raise ValidationError(N_('The owner must be a member of the project; add them first.'), field='owner_id')
        changes['owner_id'] = owner_id
    changed = {field: value for field, value in changes.items() if getattr(project, field) != value}
    if changed:
        for field, value in changed.items():
            setattr(project, field, value)
        project.updated_at = utcnow()
        fields = sorted(changed)
        record(session, project_id=project.id, actor=actor, action='project.updated', fields=', '.join(fields))
        audit.record(
            session=session,
            actor=actor,
            action='project.updated',
            target=f'project:{project.id}',
            details={'fields': fields},
        )
        session.flush()
    return project_view(session, actor, project)


def archive_project(*, session: Session, actor: User, project_id: int) -> ProjectView:
    """Archive a project (managers): it becomes read-only and leaves the default list; restore brings it back."""
    project = access.require_project(session, actor, project_id, 'manager')
    project.status_before_archive = project.status
    project.status = 'archived'
    project.updated_at = utcnow()
    record(session, project_id=project.id, actor=actor, action='project.archived')
    audit.record(session=session, actor=actor, action='project.archived', target=f'project:{project.id}')
    session.flush()
    return project_view(session, actor, project)


def restore_project(*, session: Session, actor: User, project_id: int) -> ProjectView:
    """Restore an archived project (managers) to the status it had before."""
    project = access.require_project(session, actor, project_id)
    if access.role_in(session, actor, project) != 'manager':
        access.require_project(session, actor, project_id, 'manager')  # raises the PermissionDenied (audited)
    if project.status != 'archived':
        raise Conflict(N_('This project is not archived; there is nothing to restore.'))
    previous = project.status_before_archive
    project.status = previous if previous in EDITABLE_STATUSES else 'active'
    project.status_before_archive = ''
    project.updated_at = utcnow()
    record(session, project_id=project.id, actor=actor, action='project.restored', status=project.status)
    audit.record(session=session, actor=actor, action='project.restored', target=f'project:{project.id}')
    session.flush()
    return project_view(session, actor, project)


def count_items(session: Session, project_id: int) -> int:
    """How many work items the contributing modules keep in the project."""
    return sum(provider.count_items(session, project_id) for provider in extensions.stats())


def delete_project(*, session: Session, actor: User, project_id: int, confirm_key: str) -> None:
    """Delete a project for good (managers): only when it is archived or holds no items; `confirm_key` = its key."""
    project = access.require_project(session, actor, project_id)
    if access.role_in(session, actor, project) != 'manager':
        access.require_project(session, actor, project_id, 'manager')  # raises the PermissionDenied (audited)
    if (confirm_key or '').strip().upper() != project.key:
        raise ValidationError(
            N_('Type the project key {key} to confirm the deletion.'), field='confirm_key', key=project.key
        )
    items = count_items(session, project.id)
    if project.status != 'archived' and items > 0:
        raise Conflict(
            N_('This project still holds {n} items. Archive it first, or move or delete its items.'), n=items
        )
    key, name = project.key, project.name
    audit.record(
        session=session,
        actor=actor,
        action='project.deleted',
        target=f'project:{project_id}',
        details={'key': key, 'name': name, 'items': items},
    )
    for hook in extensions.before_delete_hooks():
        hook(session, project_id)
    session.execute(delete(Project).where(Project.id == project_id))
    session.flush()
