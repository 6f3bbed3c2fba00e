"""Small pieces shared by the tasks services: field checks, people, activity lines and the search index entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.errors import N_, ValidationError
from appliance.models import User
from modules.projects.models import Project
from modules.projects.services import check_year
from modules.projects.services import record_activity as record_project_activity
from modules.tasks.models import PRIORITIES, Task
from modules.tasks.services.access import task_ref
from modules.tasks.views import PersonRef

TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
ESTIMATE_MAX = Decimal(10_000)
STATUS_NAME_MAX = 60
LABEL_NAME_MAX = 40
CHECKLIST_TEXT_MAX = 300
POSITION_GAP = 1024
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}


def clean_title(title: Any) -> str:
    """A trimmed title of 1–200 characters, or a ValidationError."""
    value = ' '.join(str(title or '').split())
    if not value:
        raise ValidationError(N_('Give the task a title.'), field='title')
    if len(value) > TITLE_MAX:
        raise ValidationError(N_('A task title is at most {n} characters. Shorten it.'), field='title', n=TITLE_MAX)
    return value


def clean_description(description: Any) -> str:
    """The description (Markdown) of at most 50,000 characters."""
    value = str(description or '')
    if len(value) > DESCRIPTION_MAX:
        raise ValidationError(
            N_('A description is at most {n} characters. Shorten it or attach a file.'),
            field='description',
            n=DESCRIPTION_MAX,
        )
    return value


def clean_priority(priority: Any) -> str:
    """One of PRIORITIES."""
    value = str(priority or '').strip().lower()
    if value not in PRIORITIES:
        raise ValidationError(N_('Pick a priority: {choices}.'), field='priority', choices=', '.join(PRIORITIES))
    return value


def clean_date(value: Any, field: str) -> date | None:
    """A date, an ISO date string or nothing; a year outside 1900–2200 (a half-typed date) is refused."""
    if value is None or value == '':
        return None
    if isinstance(value, date):
        return check_year(value, field=field)
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(N_('Give the date as YYYY-MM-DD.'), field=field) from None
    return check_year(parsed, field=field)


def check_dates(start: date | None, due: date | None) -> None:
    """The start must not be after the due date."""
    if start is not None and due is not None and start > due:
        raise ValidationError(N_('The start date is after the due date. Change one of them.'), field='due_date')


def clean_estimate(value: Any) -> Decimal | None:
    """Hours between 0 and 10,000 (two decimals), or nothing."""
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        raise ValidationError(N_('Give the estimate in hours, e.g. 2.5.'), field='estimate_hours')
    try:
        hours = Decimal(str(value).strip().replace(',', '.'))
    except InvalidOperation:
        raise ValidationError(N_('Give the estimate in hours, e.g. 2.5.'), field='estimate_hours') from None
    if not hours.is_finite() or hours < 0 or hours > ESTIMATE_MAX:
        raise ValidationError(
            N_('An estimate is between 0 and {n} hours.'), field='estimate_hours', n=int(ESTIMATE_MAX)
        )
    return hours.quantize(Decimal('0.01'))


def clean_ids(value: Any, field: str) -> list[int]:
    """A list of distinct ids, in the order given."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(N_('Give a list of ids.'), field=field)
    seen: dict[int, None] = {}
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValidationError(N_('Give a list of ids.'), field=field)
        seen[item] = None
    return list(seen)


def people(session: Session, user_ids: Iterable[int]) -> dict[int, PersonRef]:
    """{user_id: PersonRef} for these users (one query)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(ids)))
    return {uid: PersonRef(uid, username, display) for uid, username, display in rows}


def record_activity(
    session: Session, *, actor: User, project: Project, task: Task, action: str, **details: Any
) -> None:
    """A line in the project's feed about this task (ref and title always included)."""
    record_project_activity(
        session,
        project_id=project.id,
        actor=actor,
        action=action,
        target_kind='task',
        target_id=task.id,
        ref=task_ref(project, task),
        title=task.title,
        **details,
    )


def reindex(session: Session, project: Project, task: Task) -> None:
    """Refresh the task's full-text entry (title, description, ref)."""
    search_index.index(session, 'task', task.id, task.title, task.description, task_ref(project, task))
