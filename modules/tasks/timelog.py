"""Simple time tracking: entries of person, day, hours and a note on a task.

CONTRACT STUB: signatures are fixed; bodies are being written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from appliance.models import User
from modules.tasks.models import TimeEntry
from modules.tasks.views import TimeEntryView


def log_time(
    *, session: Session, actor: User, task_id: int, day: date, hours: Any, note: str = '', user_id: int | None = None
) -> TimeEntry:
    """Log hours (0 < hours <= 24, not in the future) for oneself, or for a member when a manager (`user_id`)."""
    raise NotImplementedError


def list_time(*, session: Session, actor: User, task_id: int) -> list[TimeEntryView]:
    """The task's time entries, newest day first."""
    raise NotImplementedError


def delete_time(*, session: Session, actor: User, entry_id: int) -> None:
    """Delete one's own entry (managers: any)."""
    raise NotImplementedError


def logged_hours(session: Session, task_ids: list[int]) -> dict[int, Decimal]:
    """{task_id: total hours} (no permission check: callers have checked)."""
    raise NotImplementedError
