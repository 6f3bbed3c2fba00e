"""Scheduled jobs of the tasks module: due-date reminders ("due tomorrow", "overdue") for assignees.

Idempotent: each reminder carries a dedup key of the task and its due date, so running the job again (every
hour, and once at start-up) adds nothing; moving the due date makes a new reminder possible.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db import Database, get_database
from appliance.models import User
from appliance.modules import ScheduledJob
from modules.projects.models import Project
from modules.projects.services import role_in
from modules.tasks import services
from modules.tasks.models import Assignee, Status, Task

log = logging.getLogger('enclave.tasks.jobs')
# Tasks that were already overdue long before the job first ran are not announced all at once.
OVERDUE_WINDOW_DAYS = 7
BATCH = 500


def _open_due_between(session: Session, first: date, last: date) -> list[tuple[Task, Project]]:
    stmt = (
        select(Task, Project)
        .join(Status, Status.id == Task.status_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Task.due_date >= first,
            Task.due_date <= last,
            Status.is_closed.is_(False),
            Project.status != 'archived',
        )
        .order_by(Task.id)
    )
    return [(task, project) for task, project in session.execute(stmt)]


def _assignees_who_can_see(
    session: Session, pairs: list[tuple[Task, Project]], cache: dict[tuple[int, int], bool]
) -> dict[int, list[int]]:
    task_ids = [task.id for task, _project in pairs]
    by_task: dict[int, list[int]] = {}
    users: dict[int, User] = {}
    for start in range(0, len(task_ids), BATCH):
        rows = session.execute(
            select(Assignee.task_id, User)
            .join(User, User.id == Assignee.user_id)
            .where(Assignee.task_id.in_(task_ids[start : start + BATCH]), User.is_active.is_(True))
        )
        for task_id, user in rows:
            users[user.id] = user
            by_task.setdefault(task_id, []).append(user.id)
    projects = {task.id: project for task, project in pairs}
    result: dict[int, list[int]] = {}
    for task_id, user_ids in by_task.items():
        project = projects[task_id]
        allowed = []
        for uid in user_ids:
            key = (project.id, uid)
            if key not in cache:
                cache[key] = role_in(session, users[uid], project) is not None
            if cache[key]:
                allowed.append(uid)
        result[task_id] = allowed
    return result


def due_notifications(today: date | None = None, *, database: Database | None = None) -> int:
    """Create the 'due_tomorrow' and 'overdue' notifications that do not exist yet; returns how many were made."""
    today = today or datetime.now(UTC).date()
    database = database or get_database()
    made = 0
    with database.session(write=True) as session:
        cache: dict[tuple[int, int], bool] = {}
        tomorrow = today + timedelta(days=1)
        windows = (
            (services.due_tomorrow, tomorrow, tomorrow),
            (services.overdue, today - timedelta(days=OVERDUE_WINDOW_DAYS), today - timedelta(days=1)),
        )
        for announce, first, last in windows:
            found = _open_due_between(session, first, last)
            pairs = {task.id: (task, project) for task, project in found}
            for task_id, user_ids in _assignees_who_can_see(session, found, cache).items():
                task, project = pairs[task_id]
                assert task.due_date is not None
                made += announce(session, project=project, task=task, due=task.due_date, user_ids=user_ids)
    if made:
        log.info('created %d due-date notifications', made)
    return made


def run_due_notifications() -> None:
    """The scheduled entry point (runs off the event loop)."""
    due_notifications()


JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        id='tasks.due_notifications',
        func=run_due_notifications,
        trigger='interval',
        # Also once shortly after start-up, so a server that was off over midnight catches up.
        trigger_args={'hours': 1, 'next_run_time': datetime.now(UTC) + timedelta(seconds=30)},
    ),
)
