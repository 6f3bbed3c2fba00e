"""Milestones: dated goals of a project; their progress comes from the items of the contributing modules."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.errors import N_, NotFound
from appliance.models import User
from appliance.services import audit
from modules.projects import extensions
from modules.projects.models import MILESTONE_STATUSES, Milestone
from modules.projects.services import access
from modules.projects.services.activity import record
from modules.projects.services.common import UNSET, Unset, check_choice, check_year, clean_description, clean_name
from modules.projects.views import MilestoneView


def milestone_progress(session: Session, milestone_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{milestone_id: (closed, total)} summed over the contributing modules; (0, 0) when there is none."""
    return extensions.add_up(
        milestone_ids,
        (p.milestone_progress(session, milestone_ids) for p in extensions.stats()) if milestone_ids else (),
    )


def _views(session: Session, rows: list[Milestone]) -> list[MilestoneView]:
    counts = milestone_progress(session, [row.id for row in rows])
    return [
        MilestoneView(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            description=row.description,
            due_date=row.due_date,
            status=row.status,
            closed_items=counts[row.id][0],
            total_items=counts[row.id][1],
        )
        for row in rows
    ]


def list_milestones(*, session: Session, actor: User, project_id: int, status: str = '') -> list[MilestoneView]:
    """The project's milestones by due date (undated last), with progress; `status` 'open' or 'done' filters."""
    access.require_project(session, actor, project_id)
    stmt = select(Milestone).where(Milestone.project_id == project_id)
    if status:
        stmt = stmt.where(Milestone.status == check_choice(status, MILESTONE_STATUSES, field='status'))
    stmt = stmt.order_by(Milestone.due_date.is_(None), Milestone.due_date, Milestone.id)
    return _views(session, list(session.scalars(stmt)))


def _milestone(session: Session, actor: User, milestone_id: int, need: str) -> Milestone:
    row = session.get(Milestone, milestone_id)
    if row is None:
        raise NotFound(N_('This milestone does not exist, or you cannot see its project.'))
    try:
        access.require_project(session, actor, row.project_id, need)
    except NotFound:
        raise NotFound(N_('This milestone does not exist, or you cannot see its project.')) from None
    return row


def get_milestone(*, session: Session, actor: User, milestone_id: int) -> MilestoneView:
    """One milestone the actor may see."""
    return _views(session, [_milestone(session, actor, milestone_id, 'viewer')])[0]


def create_milestone(
    *,
    session: Session,
    actor: User,
    project_id: int,
    name: str,
    due_date: date | None = None,
    description: str = '',
    status: str = 'open',
) -> MilestoneView:
    """Add a milestone to a project (managers)."""
    project = access.require_project(session, actor, project_id, 'manager')
    row = Milestone(
        project_id=project.id,
        name=clean_name(name),
        description=clean_description(description),
        due_date=check_year(due_date, field='due_date'),
        status=check_choice(status, MILESTONE_STATUSES, field='status'),
    )
    session.add(row)
    session.flush()
    record(
        session,
        project_id=project.id,
        actor=actor,
        action='milestone.created',
        target_kind='milestone',
        target_id=row.id,
        name=row.name,
        due=row.due_date.isoformat() if row.due_date else '',
    )
    audit.record(
        session=session,
        actor=actor,
        action='milestone.created',
        target=f'milestone:{row.id}',
        details={'project': project.key, 'name': row.name},
    )
    return _views(session, [row])[0]


def update_milestone(
    *,
    session: Session,
    actor: User,
    milestone_id: int,
    name: str | None = None,
    description: str | None = None,
    status: str | None = None,
    due_date: date | Unset | None = UNSET,
) -> MilestoneView:
    """Change a milestone (managers); arguments left out keep their value."""
    row = _milestone(session, actor, milestone_id, 'manager')
    changes: dict[str, object] = {}
    if name is not None:
        changes['name'] = clean_name(name)
    if description is not None:
        changes['description'] = clean_description(description)
    if status is not None:
        changes['status'] = check_choice(status, MILESTONE_STATUSES, field='status')
    if not isinstance(due_date, Unset):
        changes['due_date'] = check_year(due_date, field='due_date')
    changed = {field: value for field, value in changes.items() if getattr(row, field) != value}
    if changed:
        for field, value in changed.items():
            setattr(row, field, value)
        record(
            session,
            project_id=row.project_id,
            actor=actor,
            action='milestone.updated',
            target_kind='milestone',
            target_id=row.id,
            name=row.name,
            status=row.status,
            fields=', '.join(sorted(changed)),
        )
        session.flush()
    return _views(session, [row])[0]


def delete_milestone(*, session: Session, actor: User, milestone_id: int) -> None:
    """Delete a milestone (managers); the items attached to it stay, without a milestone."""
    row = _milestone(session, actor, milestone_id, 'manager')
    record(
        session,
        project_id=row.project_id,
        actor=actor,
        action='milestone.deleted',
        target_kind='milestone',
        target_id=row.id,
        name=row.name,
    )
    audit.record(
        session=session,
        actor=actor,
        action='milestone.deleted',
        target=f'milestone:{row.id}',
        details={'name': row.name},
    )
    session.delete(row)
    session.flush()
