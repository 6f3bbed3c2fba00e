"""A personal iCalendar feed: the user's open assigned tasks with due dates, for an intranet calendar to subscribe.

The feed URL carries a random secret; only its sha256 is stored, so the URL is shown once, when it is made.
Making it again replaces it (the old URL stops working); revoking deletes it. Access is checked again on every
read: a task whose project the user can no longer see drops out of the feed at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vText, vUri
from icalendar.parser import Contentline
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from appliance.db import lock_for_write, utcnow
from appliance.models import User
from appliance.services import audit
from appliance.services.permissions import has_permission, require
from appliance.services.touches import touches
from modules.projects.models import Project
from modules.projects.services import visible_project_ids
from modules.tasks.models import Assignee, CalendarFeed, Status, Task

PRODID = '-//Enclave//Tasks//EN'
MAX_EVENTS = 5000
_TOKEN_CHARS = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')


@dataclass(frozen=True)
class FeedStatus:
    """Whether the user has a feed (its URL cannot be shown again), and when it was made and last read."""

    exists: bool
    created_at: datetime | None = None
    last_used_at: datetime | None = None


def feed_path(token: str) -> str:
    """The path of a feed (the page prefixes the site's address to show a full URL)."""
    return f'/api/v1/calendar/{token}.ics'


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_status(*, session: Session, actor: User) -> FeedStatus:
    """The actor's feed, if any (never its secret)."""
    row = session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == actor.id)).first()
    if row is None:
        return FeedStatus(exists=False)
    used = touches.seen(CalendarFeed, 'last_used_at', row.id, row.last_used_at)
    return FeedStatus(exists=True, created_at=row.created_at, last_used_at=used)


def create_feed(*, session: Session, actor: User) -> str:
    """Make (or make again, replacing the old one) the actor's feed; returns its path, secret included, once."""
    require(actor, 'tasks.use', target='calendar-feed')
    token = secrets.token_urlsafe(32)
    # Read the feed under a lock on the user: two makes at once must not both insert (UNIQUE user_id); one after
    # the other, the later replaces the earlier, so the token that works is the last one handed out.
    lock_for_write(session, User, actor.id)
    row = session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == actor.id)).first()
    if row is None:
        session.add(CalendarFeed(user_id=actor.id, token_hash=_hash(token), created_at=utcnow()))
    else:
        row.token_hash = _hash(token)
        row.created_at = utcnow()
        row.last_used_at = None
    audit.record(
        session=session,
        actor=actor,
        action='tasks.calendar_feed.create',
        target=f'user:{actor.username}',
        details={'replaced': row is not None},
    )
    session.flush()
    return feed_path(token)


def revoke_feed(*, session: Session, actor: User) -> bool:
    """Delete the actor's feed (its URL stops working); False when there was none."""
    removed = session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == actor.id)).rowcount  # type: ignore[attr-defined]
    if removed:
        audit.record(session=session, actor=actor, action='tasks.calendar_feed.revoke', target=f'user:{actor.username}')
    return bool(removed)


def _owner_of(session: Session, token: str) -> tuple[CalendarFeed, User] | None:
    if not 20 <= len(token) <= 100 or not set(token) <= _TOKEN_CHARS:
        return None
    row = session.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or not has_permission(user, 'tasks.use'):
        return None
    return row, user


def render_feed(*, session: Session, token: str, site_url: str = '', now: datetime | None = None) -> str | None:
    """The feed's iCalendar text, or None for an unknown or revoked token (the caller answers 404)."""
    found = _owner_of(session, token)
    if found is None:
        return None
    feed, user = found
    stmt = (
        select(Task, Project.key, Project.name)
        .join(Assignee, Assignee.task_id == Task.id)
        .join(Status, Status.id == Task.status_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Assignee.user_id == user.id,
            Task.due_date.is_not(None),
            Status.is_closed.is_(False),
            Project.status != 'archived',
            Task.project_id.in_(visible_project_ids(user)),
        )
        .order_by(Task.due_date, Task.id)
        .limit(MAX_EVENTS)
    )
    stamp = _aware(now or datetime.now(UTC))
    # Noted, not written: a feed read is a read (the time is written in a batch).
    touches.note(CalendarFeed, 'last_used_at', feed.id, utcnow())
    calendar = Calendar()
    calendar.add('version', '2.0')
    calendar.add('prodid', PRODID)
    calendar.add('calscale', 'GREGORIAN')
    calendar.add('method', 'PUBLISH')
    calendar.add('x-wr-calname', vText(_clean(f'Enclave · {user.display_name}')))
    calendar.add('refresh-interval', timedelta(hours=1), parameters={'VALUE': 'DURATION'})
    calendar.add('x-published-ttl', 'PT1H')
    for task, key, project_name in session.execute(stmt):
        calendar.add_component(_event(task, key, project_name, site_url=site_url, stamp=stamp))
    # The library escapes TEXT values, folds lines at 75 octets (never inside a character) and ends them in CRLF.
    text: bytes = calendar.to_ical(sorted=False)
    return text.decode()


def _event(task: Task, key: str, project_name: str, *, site_url: str, stamp: datetime) -> Event:
    assert task.due_date is not None
    due: date = task.due_date
    ref = f'{key}-{task.number}'
    event = Event()
    event.add('uid', f'task-{task.id}@enclave')
    event.add('dtstamp', stamp)
    event.add('last-modified', _aware(task.updated_at) if task.updated_at else stamp)
    event.add('dtstart', due)  # a DATE: an all-day event on the due day
    event.add('dtend', due + timedelta(days=1))
    event.add('summary', _clean(f'{ref} {task.title}'))
    event.add('description', _clean(f'{project_name} · {ref} · {task.priority}'))
    event.add('transp', 'TRANSPARENT')
    if site_url:
        event.add('url', vUri(site_url.rstrip('/') + f'/tasks/{task.id}'))
    return event


def _aware(moment: datetime) -> datetime:
    """Stored times are UTC; a naive one is made aware so that it is written as UTC (…Z)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _clean(value: str) -> str:
    """Text for a TEXT value: newlines kept (the library writes them as \\n), other control characters dropped."""
    value = value.replace('\r\n', '\n').replace('\r', '\n')
    return ''.join(ch for ch in value if ch == '\n' or ch == '\t' or ord(ch) >= 32)


def fold(line: str) -> str:
    """Fold a content line at 75 octets (UTF-8), never inside a character; continuations start with a space."""
    folded: bytes = Contentline(line).to_ical()  # type: ignore[no-untyped-call]
    return folded.decode()
