"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from appliance import context
from appliance.db import get_database, lock_for_write, utcnow
from appliance.models import AuditEvent
from appliance.services.actors import Actor

GENESIS = '0' * 64
# PostgreSQL advisory lock key that serialises appends to the chain (any constant no other code uses).
_CHAIN_LOCK = 0x656E636C61756474


def _digest(row: AuditEvent) -> str:
    payload = json.dumps(
        [row.at.isoformat(), row.actor_id, row.actor_name, row.action, row.target, row.ip, row.details, row.prev_hash],
        ensure_ascii=False,
        separators=(',', ':'),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    target: str = '',
    details: dict[str, Any] | None = None,
    actor_name: str = '',
) -> AuditEvent:
    """Append an event in the caller's transaction (it is kept only if the action commits)."""
    return _append(
        session,
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else actor_name,
        action=action,
        target=target,
        details=details,
    )


def _append(
    session: Session, *, actor_id: int | None, actor_name: str, action: str, target: str, details: dict[str, Any] | None
) -> AuditEvent:
    # Each row links to the last one: two appends at once must not both read the same last row (UNIQUE prev_hash).
    # SQLite: the write lock; PostgreSQL: a transaction-wide advisory lock, as no one row guards the whole log.
    lock_for_write(session)
    if session.get_bind().dialect.name == 'postgresql':
        session.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': _CHAIN_LOCK})
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    row = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        target=target[:200],
        ip=context.client_ip.get(),
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = _digest(row)
    session.add(row)
    session.flush()
    return row


def record_now(
    *, actor: Actor | None, action: str, target: str = '', details: dict[str, Any] | None = None, actor_name: str = ''
) -> None:
    """Append an event in its own transaction: for failures and denials, whose action rolls back (written right
    after the action's transaction ends, when called inside one)."""
    # Who, now: the actor's own session may have rolled back (expiring its objects) by the time this is written.
    actor_id, name = (actor.id, actor.username) if actor else (None, actor_name)
    get_database().independently(
        lambda session: _append(
            session, actor_id=actor_id, actor_name=name, action=action, target=target, details=details
        )
    )


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check; `broken_id` is the first row that does not fit."""

    checked: int
    broken_id: int | None = None
    reason: str = ''

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_id is None


def verify(*, session: Session, batch: int = 2000) -> VerifyResult:
    """Walk the whole chain in id order and report the first row whose hash or link is wrong."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch))
        chunk = list(rows)
        if not chunk:
            return VerifyResult(checked=checked)
        for row in chunk:
            if row.prev_hash != prev:
                return VerifyResult(
                    checked, row.id, 'the link to the previous row is broken (a row was removed or inserted)'
                )
            if _digest(row) != row.hash:
                return VerifyResult(checked, row.id, 'the row content does not match its hash (it was altered)')
            prev = row.hash
            checked += 1
        last_id = chunk[-1].id


@dataclass(frozen=True)
class AuditPage:
    """One page of audit events and the total that matched."""

    rows: list[AuditEvent]
    total: int


def search(
    *,
    session: Session,
    actor_name: str = '',
    action: str = '',
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> AuditPage:
    """Filter the log (newest first). Permission is checked by the caller (`accounts.list_audit`)."""
    query = select(AuditEvent)
    if actor_name:
        query = query.where(AuditEvent.actor_name == actor_name)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).offset(offset).limit(limit)))
    return AuditPage(rows=rows, total=total)
