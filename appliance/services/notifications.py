"""In-app notifications: modules call `notify`; the header shows the unread count; users read and clear them.

A notification is written in the same transaction as the change that caused it, so there is never one without
the other. When the admin has turned on e-mail, it is also queued for e-mail (`email_state='pending'`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from appliance.db import utcnow
from appliance.errors import N_, NotFound
from appliance.models import Notification, User
from appliance.services.paging import Page, paginate

MAX_TITLE = 300


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
