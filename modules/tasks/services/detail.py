"""The task page's data: one task with its links, checklist, watchers and what its editors can pick from."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.models import User
from modules.projects.models import Member, Project
from modules.projects.services import LEVEL, role_in
from modules.tasks.models import ChecklistItem, Dependency, Label, Status, Task, TimeEntry, Watcher
from modules.tasks.services.access import require_task
from modules.tasks.services.common import people
from modules.tasks.services.queries import build_cards
from modules.tasks.services.workflow import ensure_workflow, status_view
from modules.tasks.views import ChecklistView, LabelView, PersonRef, TaskDetail, TaskLink


def _links(
    session: Session, project: Project, task_ids: list[int] | None, where: object = None
) -> tuple[TaskLink, ...]:
    stmt = select(Task.id, Task.number, Task.title, Status.is_closed).join(Status, Status.id == Task.status_id)
    if task_ids is not None:
        if not task_ids:
            return ()
        stmt = stmt.where(Task.id.in_(task_ids))
    if where is not None:
        stmt = stmt.where(where)  # type: ignore[arg-type]
    rows = session.execute(stmt.order_by(Task.number))
    return tuple(TaskLink(tid, f'{project.key}-{number}', title, closed) for tid, number, title, closed in rows)


def get_task(*, session: Session, actor: User, task_id: int) -> TaskDetail:
    """The task page's data."""
    task, project = require_task(session, actor, task_id, 'viewer')
    statuses = [status_view(s) for s in ensure_workflow(session, project.id)]
    names = {s.id: (s.name, s.is_closed) for s in statuses}
    row = (
        task.id,
        task.number,
        task.project_id,
        task.title,
        task.status_id,
        task.position,
        task.priority,
        task.start_date,
        task.due_date,
        task.updated_at,
    )
    card = build_cards(session, [row], {project.id: project.key}, names)[0]
    member_ids = list(session.scalars(select(Member.user_id).where(Member.project_id == project.id)))
    watcher_ids = list(session.scalars(select(Watcher.user_id).where(Watcher.task_id == task.id)))
    refs = people(session, [*member_ids, *watcher_ids, *([task.reporter_id] if task.reporter_id else [])])
    logged = session.scalar(select(func.sum(TimeEntry.hours)).where(TimeEntry.task_id == task.id))
    blockers = list(session.scalars(select(Dependency.blocker_id).where(Dependency.blocked_id == task.id)))
    blocked = list(session.scalars(select(Dependency.blocked_id).where(Dependency.blocker_id == task.id)))
    parent = _links(session, project, [task.parent_id]) if task.parent_id else ()
    checklist = session.execute(
        select(ChecklistItem.id, ChecklistItem.text, ChecklistItem.done, ChecklistItem.position)
        .where(ChecklistItem.task_id == task.id)
        .order_by(ChecklistItem.position, ChecklistItem.id)
    )
    labels = session.execute(
        select(Label.id, Label.name, Label.color).where(Label.project_id == project.id).order_by(Label.name)
    )
    role = role_in(session, actor, project) or 'viewer'
    by_name = sorted(refs.values(), key=lambda p: p.display_name.casefold())
    members: tuple[PersonRef, ...] = tuple(p for p in by_name if p.id in set(member_ids))
    return TaskDetail(
        card=card,
        project_key=project.key,
        project_name=project.name,
        description=task.description,
        reporter=refs.get(task.reporter_id) if task.reporter_id else None,
        estimate_hours=task.estimate_hours,
        logged_hours=Decimal(logged or 0),
        milestone_id=task.milestone_id,
        parent=parent[0] if parent else None,
        subtasks=_links(session, project, None, Task.parent_id == task.id),
        blocked_by=_links(session, project, blockers),
        blocking=_links(session, project, blocked),
        checklist=tuple(ChecklistView(cid, text, done, pos) for cid, text, done, pos in checklist),
        watchers=tuple(p for p in by_name if p.id in set(watcher_ids)),
        created_at=task.created_at,
        can_edit=LEVEL[role] >= LEVEL['member'] and project.status != 'archived',
        watching=actor.id in watcher_ids,
        statuses=tuple(statuses),
        labels_available=tuple(LabelView(lid, name, color) for lid, name, color in labels),
        members=members,
    )
