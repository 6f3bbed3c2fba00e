"""In-app notifications: modules call `notify`; the header shows the unread count; users read and clear them.

A notification is written in the same transaction as the change that caused it, so there is never one without
the other. When the admin has turned on e-mail, it is also queued for e-mail (`email_state='pending'`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from appliance.db import utcnow
from appliance.errors import N_, NotFound
from appliance.models import Notification, User
from appliance.services.paging import Page, paginate

MAX_TITLE = 300

# What each kind of notification says, as msgids with {actor} and {title}: the sentence is translated when it is
# read (in the reader's language, on the page or in the e-mail), never stored. Modules add theirs with
# `register_messages` when they are imported.
_MESSAGES: dict[tuple[str, str], str] = {}
FALLBACK_MESSAGE = N_('{actor}: {title}')
SYSTEM_ACTOR = N_('Enclave')


def register_messages(module: str, messages: Mapping[str, str]) -> None:
    """Declare the sentences of a module's notification kinds ({kind: msgid with {actor} and {title}})."""
    for kind, message in messages.items():
        _MESSAGES[(module, kind)] = message


def message_of(module: str, kind: str) -> str:
    """The msgid that describes a notification of that kind (a neutral one for unknown kinds)."""
    return _MESSAGES.get((module, kind), FALLBACK_MESSAGE)


@dataclass(frozen=True)
class NotificationView:
    """A notification as shown to its reader: `text` is the sentence in the reader's language."""

    id: int
    module: str
    kind: str
    title: str
    body: str
    url: str
    actor_name: str
    text: str
    created_at: datetime
    read: bool


def describe(module: str, kind: str, *, actor_name: str, title: str) -> str:
    """The sentence for a notification, in the current language (see appliance.i18n)."""
    from appliance import i18n

    actor = actor_name or i18n.gettext(SYSTEM_ACTOR)
    return i18n.gettext(message_of(module, kind), actor=actor, title=title)


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    module: str,
    kind: str,
    title: str,
    body: str = '',
    url: str = '',
    actor: User | None = None,
    dedup_key: str | None = None,
) -> int:
    """Notify each user (never the actor about their own doing); returns how many were written.

    With `dedup_key`, a user who already has a notification with that key gets no second one.
    """
    targets = sorted({uid for uid in user_ids if actor is None or uid != actor.id})
    if not targets:
        return 0
    if dedup_key is not None:
        seen = set(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.user_id.in_(targets), Notification.dedup_key == dedup_key
                )
            )
        )
        targets = [uid for uid in targets if uid not in seen]
    email_state = 'pending' if _email_enabled(session) else ''
    for uid in targets:
        session.add(
            Notification(
                user_id=uid,
                actor_id=actor.id if actor else None,
                module=module,
                kind=kind,
                title=title[:MAX_TITLE],
                body=body,
                url=url,
                dedup_key=dedup_key,
                email_state=email_state,
            )
        )
    session.flush()
    return len(targets)


def _email_enabled(session: Session) -> bool:
    from appliance.services import orgsettings

    return orgsettings.get(session, 'smtp_enabled') == '1'


def unread_count(session: Session, *, user: User) -> int:
    """How many of the user's notifications are unread."""
    stmt = select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return session.scalar(stmt) or 0


def list_notifications(
    session: Session, *, user: User, unread_only: bool = False, offset: int = 0, limit: int = 50
) -> Page[Notification]:
    """The user's notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return paginate(session, stmt.order_by(Notification.id.desc()), offset=offset, limit=limit)


def mark_read(session: Session, *, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (someone else's is 'not found')."""
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(N_('This notification does not exist.'))
    if note.read_at is None:
        note.read_at = utcnow()
    return note


def mark_all_read(session: Session, *, user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_views(
    session: Session, *, user: User, unread_only: bool = False, offset: int = 0, limit: int = 50
) -> Page[NotificationView]:
    """The user's notifications, newest first, as sentences in the current language (the page and the API)."""
    actor = aliased(User)
    stmt = (
        select(Notification, actor.display_name)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .where(Notification.user_id == user.id)
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    count_stmt = select(func.count()).where(Notification.user_id == user.id)
    if unread_only:
        count_stmt = count_stmt.where(Notification.read_at.is_(None))
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    total = session.scalar(count_stmt) or 0
    rows = session.execute(stmt.order_by(Notification.id.desc()).offset(offset).limit(limit)).all()
    items = [view_of(note, actor_name or '') for note, actor_name in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


def view_of(note: Notification, actor_name: str) -> NotificationView:
    """The view of one notification (its sentence in the current language)."""
    return NotificationView(
        id=note.id,
        module=note.module,
        kind=note.kind,
        title=note.title,
        body=note.body,
        url=note.url,
        actor_name=actor_name,
        text=describe(note.module, note.kind, actor_name=actor_name, title=note.title),
        created_at=note.created_at,
        read=note.read_at is not None,
    )


def open_notification(session: Session, *, user: User, notification_id: int) -> str:
    """Mark one of the user's notifications read and return where it points (a local path, or '/notifications')."""
    note = mark_read(session, user=user, notification_id=notification_id)
    return safe_local_url(note.url)


def safe_local_url(url: str) -> str:
    """`url` when it is a path on this site; anything else (another host, a scheme) becomes '/notifications'."""
    if url.startswith('/') and not url.startswith('//') and '\\' not in url and '\n' not in url:
        return url
    return '/notifications'
