"""Signing in and out: throttling, two-factor, one-time login tickets and server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.errors import N_, NP_, NotFound, ServiceError, TooManyAttempts
from appliance.models import LoginFailure, LoginSession, LoginTicket, User
from appliance.services import accounts, audit, passwords, twofactor
from appliance.services.actors import Actor
from appliance.services.paging import Page
from appliance.services.permissions import require
from appliance.services.touches import touches

TICKET_SECONDS = 60
TOUCH_EVERY = timedelta(seconds=60)


class LoginFailed(ServiceError):
    """Wrong username, password or code; deliberately vague."""

    code = 'login_failed'
    status = 401


class TwoFactorRequired(ServiceError):
    """The password was right and a one-time code is needed."""

    code = 'two_factor_required'
    status = 401


def token_hash(token: str) -> str:
    """The sha256 under which a session, ticket or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


# ---- throttling -------------------------------------------------------------------------------------------


def _throttle_keys(username: str, ip: str) -> list[str]:
    keys = [f'user:{username.strip().lower()[:64]}']
    if ip:
        keys.append(f'ip:{ip}')
    return keys


def _delay_for(failures: int) -> int:
    settings = get_settings()
    over = failures - settings.login_throttle_free_attempts
    if over < 0:
        return 0
    return int(min(2**over, settings.login_throttle_max_delay_seconds))


def check_throttle(session: Session, *, username: str, ip: str) -> None:
    """Raise TooManyAttempts while an account or an address must wait before trying again."""
    now = utcnow()
    for key in _throttle_keys(username, ip):
        row = session.get(LoginFailure, key)
        if row is None:
            continue
        wait = _delay_for(row.failures) - (now - row.last_failure_at).total_seconds()
        if wait > 0:
            raise TooManyAttempts(
                NP_(
                    'Too many failed sign-in attempts. Try again in {seconds} second.',
                    'Too many failed sign-in attempts. Try again in {seconds} seconds.',
                    'seconds',
                ),
                retry_after=int(wait) + 1,
                seconds=int(wait) + 1,
            )


def _record_failure(*, username: str, ip: str, reason: str, user: User | None) -> None:
    """Count a failure and audit it, in a transaction of its own (the attempt itself changes nothing): right after
    the attempt's transaction ends."""
    user_id = user.id if user is not None else None
    get_database().independently(
        lambda session: _count_failure(session, username=username, ip=ip, reason=reason, user_id=user_id)
    )


def _count_failure(session: Session, *, username: str, ip: str, reason: str, user_id: int | None) -> None:
    user = session.get(User, user_id) if user_id is not None else None
    for key in _throttle_keys(username, ip):
        row = session.get(LoginFailure, key)
        if row is None:
            session.add(LoginFailure(key=key, failures=1, last_failure_at=utcnow()))
        else:
            row.failures += 1
            row.last_failure_at = utcnow()
    audit.record(
        session=session,
        actor=user,
        actor_name=username.strip().lower()[:64],
        action='login.failure',
        target=f'user:{username.strip().lower()[:64]}',
        details={'reason': reason},
    )


def _clear_failures(session: Session, *, username: str, ip: str) -> None:
    # Only the account's counter: one valid login must not reset the address's limit for guessing others.
    for key in _throttle_keys(username, ''):
        row = session.get(LoginFailure, key)
        if row is not None:
            session.delete(row)


# ---- login ------------------------------------------------------------------------------------------------


def authenticate(*, session: Session, username: str, password: str, ip: str, totp_code: str = '') -> str:
    """Check the credentials and return a one-time ticket to exchange for a session cookie.

    Raises TooManyAttempts, LoginFailed or TwoFactorRequired; failures are counted and audited.
    """
    check_throttle(session, username=username, ip=ip)
    user = accounts.find_user(session, username) if username.strip() else None
    if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(username=username, ip=ip, reason='bad credentials', user=user)
        raise LoginFailed(N_('Wrong username or password.'))
    if not user.is_active:
        _record_failure(username=username, ip=ip, reason='account disabled', user=user)
        raise LoginFailed(N_('This account is disabled. Ask your administrator.'))
    if user.totp_enabled:
        if not totp_code.strip():
            raise TwoFactorRequired(N_('Enter the 6-digit code from your authenticator app.'))
        if not twofactor.verify_login_code(session, user, totp_code):
            _record_failure(username=username, ip=ip, reason='bad two-factor code', user=user)
            raise LoginFailed(N_('The code is wrong or expired.'))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    _clear_failures(session, username=username, ip=ip)
    ticket = secrets.token_urlsafe(32)
    session.add(
        LoginTicket(
            token_hash=token_hash(ticket),
            user_id=user.id,
            ip=ip,
            expires_at=utcnow() + timedelta(seconds=TICKET_SECONDS),
        )
    )
    return ticket


@dataclass(frozen=True)
class NewSession:
    """A session just created; `token` goes into the cookie and is never stored."""

    token: str
    session_id: int
    user_id: int


def exchange_ticket(*, session: Session, ticket: str, ip: str, user_agent: str) -> NewSession:
    """Turn a fresh, unused ticket into a new session (a new session id at every login)."""
    row = session.scalars(select(LoginTicket).where(LoginTicket.token_hash == token_hash(ticket))).first()
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise LoginFailed(N_('This sign-in link has expired. Sign in again.'))
    if row.ip and ip and row.ip != ip[:64]:
        # A ticket only works for the address that signed in: a leaked link is useless elsewhere.
        raise LoginFailed(N_('This sign-in link has expired. Sign in again.'))
    row.used_at = now
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LoginFailed(N_('This account is disabled. Ask your administrator.'))
    token = secrets.token_urlsafe(32)
    login = LoginSession(token_hash=token_hash(token), user_id=user.id, ip=ip[:64], user_agent=user_agent[:512])
    session.add(login)
    user.last_login_at = now
    session.flush()
    audit.record(
        session=session,
        actor=user,
        action='login.success',
        target=f'user:{user.username}',
        details={'session': login.id},
    )
    return NewSession(token=token, session_id=login.id, user_id=user.id)


def last_seen(login: LoginSession) -> datetime:
    """When the session was last used: its stored time, or a later one noted in this process and not yet written."""
    return touches.seen(LoginSession, 'last_seen_at', login.id, login.last_seen_at) or login.last_seen_at


def _expired(login: LoginSession) -> str:
    settings = get_settings()
    now = utcnow()
    if now - last_seen(login) > timedelta(minutes=settings.session_idle_minutes):
        return 'idle timeout'
    if now - login.created_at > timedelta(hours=settings.session_max_hours):
        return 'lifetime reached'
    return ''


def resolve_session(*, session: Session, token: str) -> LoginSession | None:
    """The live session for a cookie token, noting its last-seen time; None when absent or over.

    Only reads (it runs on every page and event): the time is written in a batch (`appliance.services.touches`),
    and a session found over is marked ended by `end_expired_sessions`.
    """
    if not token:
        return None
    # The user and their roles in the same statement (every page and event asks): one query, not two.
    stmt = (
        select(LoginSession)
        .where(LoginSession.token_hash == token_hash(token))
        .options(joinedload(LoginSession.user).joinedload(User.roles))
    )
    login = session.scalars(stmt).unique().first()
    if login is None or login.ended_at is not None:
        return None
    if _expired(login) or not login.user.is_active:
        return None
    now = utcnow()
    if now - last_seen(login) > TOUCH_EVERY:
        touches.note(LoginSession, 'last_seen_at', login.id, now)
    return login


def end_expired_sessions(*, session: Session) -> int:
    """Mark ended every live session that is over (idle, too old, or its account disabled); how many ended."""
    rows = session.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))).all()
    ended = 0
    for login in rows:
        reason = _expired(login) or ('' if login.user.is_active else 'disabled')
        if reason:
            login.ended_at = utcnow()
            login.end_reason = reason
            ended += 1
    return ended


def logout(*, session: Session, token: str) -> None:
    """End the session behind this cookie token (nothing happens when there is none)."""
    login = session.scalars(select(LoginSession).where(LoginSession.token_hash == token_hash(token))).first()
    if login is None or login.ended_at is not None:
        return
    login.ended_at = utcnow()
    login.end_reason = 'logout'
    audit.record(session=session, actor=login.user, action='logout', target=f'user:{login.user.username}')


def end_user_sessions(*, session: Session, user_id: int, reason: str, keep_id: int | None = None) -> int:
    """End every live session of a user (but `keep_id`); returns how many ended."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    if keep_id is not None:
        stmt = stmt.where(LoginSession.id != keep_id)
    result = session.execute(stmt)
    return int(getattr(result, 'rowcount', 0) or 0)


def list_sessions(
    *,
    session: Session,
    actor: Actor,
    user_id: int | None = None,
    live_only: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> Page[LoginSession]:
    """Sessions of one user or of everyone (admin), or the actor's own (user_id = actor.id)."""
    if user_id != actor.id:
        require(actor, 'core.manage_sessions', target='sessions')
    stmt = select(LoginSession)
    if user_id is not None:
        stmt = stmt.where(LoginSession.user_id == user_id)
    if live_only:
        stmt = stmt.where(LoginSession.ended_at.is_(None))
    rows = [
        row
        for row in session.scalars(stmt.order_by(LoginSession.last_seen_at.desc()))
        if not (live_only and _expired(row))
    ]
    return Page(items=rows[offset : offset + limit], total=len(rows), offset=offset, limit=limit)


def end_session(*, session: Session, actor: User, session_id: int) -> None:
    """End one session: the actor's own, or anyone's for an admin."""
    login = session.get(LoginSession, session_id)
    if login is None:
        raise NotFound(N_('No such session.'))
    if login.user_id != actor.id:
        require(actor, 'core.manage_sessions', target=f'session#{session_id}')
    if login.ended_at is None:
        login.ended_at = utcnow()
        login.end_reason = 'ended by admin' if login.user_id != actor.id else 'ended by user'
        audit.record(
            session=session,
            actor=actor,
            action='session.end',
            target=f'user:{login.user.username}',
            details={'session': session_id},
        )


def purge_expired(*, session: Session) -> int:
    """Housekeeping: drop used or expired tickets (sessions stay for the record)."""
    tickets = list(session.scalars(select(LoginTicket).where(LoginTicket.expires_at < utcnow())))
    for ticket in tickets:
        session.delete(ticket)
    return len(tickets)
