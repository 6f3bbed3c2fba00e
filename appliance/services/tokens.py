"""Personal access tokens for the REST API: shown once, stored as sha256, revocable."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.db import utcnow
from appliance.errors import N_, NotFound, ValidationError
from appliance.models import ApiToken, User
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.auth import token_hash
from appliance.services.paging import Page, paginate
from appliance.services.permissions import require
from appliance.services.touches import touches

PREFIX = 'enc_'
MAX_TOKENS_PER_USER = 50


def create_token(
    *, session: Session, actor: Actor, name: str, expires_days: int | None = None, owner: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the actor (or, for an admin or the operator, for `owner`); the secret is shown once."""
    if owner is None:
        if not isinstance(actor, User):
            raise ValidationError(N_('Name the user the token is for.'), field='owner')
        owner = actor
    if not owner.is_active:
        raise ValidationError(N_('{username} is disabled; enable the account first.'), username=owner.username)
    if owner.id != actor.id:
        require(actor, 'core.manage_users', target=f'user:{owner.username}')
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError(N_('Give the token a name of 1 to 100 characters.'), field='name')
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ValidationError(N_('A token expires after 1 to 3650 days.'), field='expires_days')
    live = session.scalars(select(ApiToken.id).where(ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None)))
    if len(list(live)) >= MAX_TOKENS_PER_USER:
        raise ValidationError(N_('You have too many tokens; revoke some first.'), field='name')
    raw = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=owner.id,
        name=name,
        prefix=raw[:10],
        token_hash=token_hash(raw),
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action='token.create',
        target=f'user:{owner.username}',
        details={'token': row.id, 'name': name},
    )
    return row, raw


def list_tokens(*, session: Session, actor: User, offset: int = 0, limit: int = 50) -> Page[ApiToken]:
    """The actor's own tokens, newest first, paginated."""
    stmt = select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id.desc())
    return paginate(session, stmt, offset=offset, limit=limit)


def revoke_token(*, session: Session, actor: User, token_id: int) -> None:
    """Revoke one of the actor's tokens (an admin may revoke anyone's)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(N_('No such token.'))
    if row.user_id != actor.id:
        require(actor, 'core.manage_users', target=f'token#{token_id}')
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session=session,
            actor=actor,
            action='token.revoke',
            target=f'user:{row.user.username}',
            details={'token': row.id},
        )


def live_count(*, session: Session, owner: User) -> int:
    """How many of `owner`'s tokens are not revoked (expired ones included: they are still on the list)."""
    query = (
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None))
    )
    return session.scalar(query) or 0


def revoke_all(*, session: Session, actor: Actor, owner: User, reason: str) -> list[int]:
    """Revoke every live token of `owner` (the caller checked the permission), each audited; their ids."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        audit.record(
            session=session,
            actor=actor,
            action='token.revoke',
            target=f'user:{owner.username}',
            details={'token': row.id, 'reason': reason},
        )
    return [row.id for row in rows]


def resolve_token(*, session: Session, raw: str) -> User | None:
    """The active user behind a live token, or None."""
    if not raw.startswith(PREFIX):
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(raw))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now):
        return None
    if not row.user.is_active:
        return None
    # Noted, not written: resolving a token only reads (the time is written in a batch by `touches`).
    used = touches.seen(ApiToken, 'last_used_at', row.id, row.last_used_at)
    if used is None or now - used > timedelta(minutes=1):
        touches.note(ApiToken, 'last_used_at', row.id, now)
    return row.user
