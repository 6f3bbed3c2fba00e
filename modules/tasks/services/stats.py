"""What the tasks module tells the projects module: progress, overdue work, workload, the timeline (grouped SQL)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Integer, case, cast, func, or_, select
from sqlalchemy.orm import Session

from appliance.models import User
from modules.projects.extensions import OverdueItem, ProjectStats, TimelineItem, Workload
from modules.projects.models import Member, Project
from modules.tasks.models import Assignee, Dependency, Status, Task
from modules.tasks.services.access import task_url

_CLOSED = func.sum(cast(case((Status.is_closed.is_(True), 1), else_=0), Integer))


def progress(session: Session, project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{project_id: (closed, total)} for the given projects."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Task.project_id, _CLOSED, func.count())
        .join(Status, Status.id == Task.status_id)
        .where(Task.project_id.in_(project_ids))
        .group_by(Task.project_id)
    )
    return {pid: (int(closed or 0), int(total)) for pid, closed, total in rows}


def milestone_progress(session: Session, milestone_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{milestone_id: (closed, total)} for the given milestones."""
    if not milestone_ids:
        return {}
    rows = session.execute(
        select(Task.milestone_id, _CLOSED, func.count())
        .join(Status, Status.id == Task.status_id)
        .where(Task.milestone_id.in_(milestone_ids))
        .group_by(Task.milestone_id)
    )
    return {mid: (int(closed or 0), int(total)) for mid, closed, total in rows if mid is not None}


def _key(session: Session, project_id: int) -> str:
    return session.scalar(select(Project.key).where(Project.id == project_id)) or ''


def overdue(session: Session, project_id: int, today: date, limit: int) -> list[OverdueItem]:
    """Open tasks of one project due before `today`, most overdue first, at most `limit`."""
    key = _key(session, project_id)
    rows = session.execute(
        select(Task.id, Task.number, Task.title, Task.due_date)
        .join(Status, Status.id == Task.status_id)
        .where(Task.project_id == project_id, Status.is_closed.is_(False), Task.due_date < today)
        .order_by(Task.due_date, Task.id)
        .limit(max(limit, 0))
    ).all()
    names: dict[int, list[str]] = defaultdict(list)
    if rows:
        for task_id, display in session.execute(
            select(Assignee.task_id, User.display_name)
            .join(User, User.id == Assignee.user_id)
            .where(Assignee.task_id.in_([r[0] for r in rows]))
            .order_by(User.display_name)
        ):
            names[task_id].append(display)
    return [
        OverdueItem(label=f'{key}-{number} {title}', due=due, url=task_url(tid), assignees=tuple(names[tid]))
        for tid, number, title, due in rows
        if due is not None
    ]


def workload(session: Session, project_id: int) -> list[Workload]:
    """Open tasks and their estimated hours per member (and per assignee who left), most loaded first."""
    rows = session.execute(
        select(Assignee.user_id, func.count(), func.coalesce(func.sum(Task.estimate_hours), 0))
        .join(Task, Task.id == Assignee.task_id)
        .join(Status, Status.id == Task.status_id)
        .where(Task.project_id == project_id, Status.is_closed.is_(False))
        .group_by(Assignee.user_id)
    ).all()
    load = {uid: (int(n), float(hours or 0)) for uid, n, hours in rows}
    people = session.execute(
        select(User.id, User.display_name).where(
            or_(User.id.in_(select(Member.user_id).where(Member.project_id == project_id)), User.id.in_(list(load)))
        )
    ).all()
    result = [Workload(uid, name, *load.get(uid, (0, 0.0))) for uid, name in people]
    return sorted(result, key=lambda w: (-w.open_items, -w.open_hours, w.display_name.casefold()))


def timeline(session: Session, project_id: int) -> list[TimelineItem]:
    """Every task of the project with a start or due date, with its finish-to-start blockers."""
    key = _key(session, project_id)
    rows = session.execute(
        select(Task.id, Task.number, Task.title, Task.start_date, Task.due_date, Status.is_closed, Task.milestone_id)
        .join(Status, Status.id == Task.status_id)
        .where(Task.project_id == project_id, or_(Task.start_date.is_not(None), Task.due_date.is_not(None)))
        .order_by(func.coalesce(Task.start_date, Task.due_date), Task.id)
    ).all()
    dated = {r[0] for r in rows}
    blockers: dict[int, list[str]] = defaultdict(list)
    if dated:
        deps = session.execute(
            select(Dependency.blocker_id, Dependency.blocked_id)
            .join(Task, Task.id == Dependency.blocked_id)
            .where(Task.project_id == project_id)
            .order_by(Dependency.blocker_id)
        )
        for blocker, blocked in deps:
            if blocker in dated and blocked in dated:
                blockers[blocked].append(f't{blocker}')
    return [
        TimelineItem(
            id=f't{tid}',
            label=f'{key}-{number} {title}',
            start=start,
            end=due,
            done=bool(closed),
            blocked_by=tuple(blockers[tid]),
            url=task_url(tid),
            milestone_id=milestone_id,
        )
        for tid, number, title, start, due, closed, milestone_id in rows
    ]


def count_items(session: Session, project_id: int) -> int:
    """How many tasks the project holds."""
    return session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project_id)) or 0


STATS = ProjectStats(
    progress=progress,
    milestone_progress=milestone_progress,
    overdue=overdue,
    workload=workload,
    timeline=timeline,
    count_items=count_items,
)
