"""Simple time tracking: entries of person, day, hours and a note on a task."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.errors import N_, NotFound, PermissionDenied, ValidationError
from appliance.models import User
from modules.projects.services import is_member, role_in
from modules.tasks.models import TimeEntry
from modules.tasks.services.access import require_task
from modules.tasks.services.comments import people
from modules.tasks.services.common import record_activity
from modules.tasks.views import TimeEntryView

MAX_HOURS = Decimal(24)
MAX_NOTE = 500
EARLIEST = date(2000, 1, 1)
_CENT = Decimal('0.01')


def parse_hours(value: Any) -> Decimal:
    """Hours as a Decimal with two places (accepts 1.5, '1.5', '1,5'); ValidationError when not 0 < h <= 24."""
    if isinstance(value, bool):
        raise ValidationError(N_('Enter the hours as a number such as 1.5.'), field='hours')
    try:
        hours = Decimal(str(value).strip().replace(',', '.')) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationError(N_('Enter the hours as a number such as 1.5.'), field='hours') from None
    if not hours.is_finite():
        raise ValidationError(N_('Enter the hours as a number such as 1.5.'), field='hours')
    hours = hours.quantize(_CENT, rounding=ROUND_HALF_UP)
    if hours <= 0 or hours > MAX_HOURS:
        raise ValidationError(N_('Hours must be more than 0 and at most 24.'), field='hours')
    return hours


def _today_of(user: User) -> date:
    """Today where the user is (a day that has begun in their time zone is not in the future)."""
    try:
        return datetime.now(ZoneInfo(user.timezone or 'UTC')).date()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now(UTC).date()


def log_time(
    *, session: Session, actor: User, task_id: int, day: date, hours: Any, note: str = '', user_id: int | None = None
) -> TimeEntry:
    """Log hours (0 < hours <= 24, not in the future) for oneself, or for a member when a manager (`user_id`)."""
    task, project = require_task(session, actor, task_id, 'member')
    amount = parse_hours(hours)
    if not isinstance(day, date):
        raise ValidationError(N_('Choose the day the work was done.'), field='day')
    if day > _today_of(actor):
        raise ValidationError(N_('The day cannot be in the future.'), field='day')
    if day < EARLIEST:
        raise ValidationError(N_('The day cannot be before the year 2000.'), field='day')
    note = (note or '').strip()
    if len(note) > MAX_NOTE:
        raise ValidationError(N_('The note is at most {n} characters.'), field='note', n=MAX_NOTE)
    person_id = actor.id
    if user_id is not None and user_id != actor.id:
        if role_in(session, actor, project) != 'manager':
            raise PermissionDenied(N_('Only a project manager can log time for someone else.'))
        if not is_member(session, project.id, user_id):
            raise ValidationError(N_('Time can only be logged for members of the project.'), field='user_id')
        person_id = user_id
    entry = TimeEntry(task_id=task.id, user_id=person_id, day=day, hours=amount, note=note)
    session.add(entry)
    session.flush()
    record_activity(
        session, actor=actor, project=project, task=task, action='time.logged', hours=str(amount), day=day.isoformat()
    )
    return entry


def list_time(*, session: Session, actor: User, task_id: int) -> list[TimeEntryView]:
    """The task's time entries, newest day first."""
    _task, project = require_task(session, actor, task_id)
    role = role_in(session, actor, project)
    writable = project.status != 'archived' and role in ('member', 'manager')
    rows = list(
        session.scalars(
            select(TimeEntry).where(TimeEntry.task_id == task_id).order_by(TimeEntry.day.desc(), TimeEntry.id.desc())
        )
    )
    persons = people(session, (row.user_id for row in rows))
    return [
        TimeEntryView(
            id=row.id,
            task_id=row.task_id,
            person=persons.get(row.user_id or 0),
            day=row.day,
            hours=Decimal(row.hours).quantize(_CENT),
            note=row.note,
            can_delete=writable and (role == 'manager' or row.user_id == actor.id),
        )
        for row in rows
    ]


def delete_time(*, session: Session, actor: User, entry_id: int) -> None:
    """Delete one's own entry (managers: any)."""
    entry = session.get(TimeEntry, entry_id)
    if entry is None:
        raise NotFound(N_('This time entry does not exist, or you cannot see its task.'))
    try:
        task, project = require_task(session, actor, entry.task_id)
    except NotFound:
        raise NotFound(N_('This time entry does not exist, or you cannot see its task.')) from None
    require_task(session, actor, task.id, 'member' if entry.user_id == actor.id else 'manager')
    hours = entry.hours
    session.delete(entry)
    record_activity(session, actor=actor, project=project, task=task, action='time.deleted', hours=str(hours))
    session.flush()


def logged_hours(session: Session, task_ids: list[int]) -> dict[int, Decimal]:
    """{task_id: total hours} (no permission check: callers have checked)."""
    if not task_ids:
        return {}
    totals: dict[int, Decimal] = {}
    for start in range(0, len(task_ids), 500):
        batch = task_ids[start : start + 500]
        rows = session.execute(
            select(TimeEntry.task_id, func.sum(TimeEntry.hours))
            .where(TimeEntry.task_id.in_(batch))
            .group_by(TimeEntry.task_id)
        )
        for task_id, total in rows:
            totals[task_id] = Decimal(total or 0).quantize(_CENT)
    return totals
