"""User accounts: the setup wizard, creating, editing, disabling and resetting users, and own profile changes."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.db import utcnow
from appliance.errors import N_, Conflict, NotFound, ValidationError
from appliance.extensions import SEAT_GUARD
from appliance.models import User, UserRole
from appliance.modules import current_registry
from appliance.search import like_pattern
from appliance.services import audit, orgsettings, passwords
from appliance.services.actors import Actor
from appliance.services.paging import Page, paginate
from appliance.services.permissions import require

ROLE_LABELS = {'admin': N_('Administrator'), 'member': N_('Member'), 'hr': N_('HR')}
"""The organisation's built-in roles as people read them (a module's own role shows its name)."""

USERNAME_RE = re.compile(r'^[a-z0-9][a-z0-9._-]{1,31}$')
EMAIL_RE = re.compile(r'^[^@\s]+@[^@\s]+$')


def _clean_username(username: str) -> str:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError(
            N_('A username is 2 to 32 characters: lower-case letters, digits, dot, dash or underscore.'),
            field='username',
        )
    return username


def _clean_display_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError(N_('Enter a display name.'), field='display_name')
    if len(name) > 128:
        raise ValidationError(N_('The display name must be at most {n} characters.'), field='display_name', n=128)
    return name


def _clean_email(email: str) -> str:
    email = email.strip()
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        raise ValidationError(N_('Enter a valid e-mail address, or leave it empty.'), field='email')
    return email


def _clean_timezone(tz: str) -> str:
    if tz not in available_timezones() and tz != 'UTC':
        raise ValidationError(N_('Choose a time zone from the list.'), field='timezone')
    return tz


def _clean_roles(roles: list[str]) -> list[str]:
    known = current_registry().role_names()
    unknown = [role for role in roles if role not in known]
    if unknown:
        raise ValidationError(N_('Unknown role: {roles}.'), field='roles', roles=', '.join(unknown))
    return sorted(set(roles))


def _active_admin_count(session: Session) -> int:
    query = select(func.count()).select_from(User).join(UserRole).where(UserRole.role == 'admin', User.is_active)
    return session.scalar(query) or 0


def check_seats(session: Session, *, adding: int = 1) -> None:
    """Ask every 'core.seat_guard' contribution whether `adding` more active accounts fit; a guard that says no
    raises a ServiceError saying why and what to do. Called before an account is created active or enabled."""
    for guard in current_registry().contributions(SEAT_GUARD):
        guard(session=session, adding=adding)


def setup_required(session: Session) -> bool:
    """True while the database has no user at all: every page then leads to the setup wizard."""
    return _active_admin_count(session) == 0 and session.scalar(select(func.count()).select_from(User)) == 0


def _new_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    email: str,
    password: str,
    language: str,
    timezone: str,
    roles: list[str],
) -> User:
    username = _clean_username(username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(N_('The username "{username}" is already taken.'), username=username)
    passwords.check_policy(password, min_length=get_settings().password_min_length, username=username)
    user = User(
        username=username,
        display_name=_clean_display_name(display_name),
        email=_clean_email(email),
        language=orgsettings.validate_language(language),
        timezone=_clean_timezone(timezone),
        password_hash=passwords.hash_password(password),
    )
    user.roles = [UserRole(role=role) for role in _clean_roles(roles)]
    session.add(user)
    session.flush()
    return user


def complete_setup(
    *,
    session: Session,
    org_name: str,
    language: str,
    username: str,
    display_name: str,
    email: str,
    password: str,
    timezone: str = 'UTC',
) -> User:
    """The first-run wizard: name the organisation and create the first admin. Refused once done."""
    if not setup_required(session):
        raise Conflict(N_('Setup is already complete. Sign in instead.'))
    orgsettings.put(session, 'org_name', orgsettings.validate_org_name(org_name))
    orgsettings.put(session, 'language', orgsettings.validate_language(language))
    admin = _new_user(
        session,
        username=username,
        display_name=display_name,
        email=email,
        password=password,
        language=language,
        timezone=timezone,
        roles=['admin'],
    )
    audit.record(
        session=session,
        actor=admin,
        action='setup.complete',
        target=f'user:{admin.username}',
        details={'org_name': org_name.strip()},
    )
    return admin


def create_user(
    *,
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    email: str = '',
    roles: list[str] | None = None,
    language: str = '',
    timezone: str = 'UTC',
) -> User:
    """Create an account (admin, or the operator). Default role: member.

    The very first account must be an admin: it completes setup, and without one nobody could manage users.
    """
    require(actor, 'core.manage_users', target=f'user:{username}')
    first = setup_required(session)
    if first and 'admin' not in (roles or []):
        raise Conflict(N_('No administrator exists yet: the first account must be an administrator.'))
    if not first:  # the first administrator is never refused: without one nobody could manage anything
        check_seats(session)
    user = _new_user(
        session,
        username=username,
        display_name=display_name,
        email=email,
        password=password,
        language=language or orgsettings.get(session, 'language'),
        timezone=timezone,
        roles=['member'] if roles is None else roles,
    )
    audit.record(
        session=session,
        actor=actor,
        action='user.create',
        target=f'user:{user.username}',
        details={'roles': sorted(user.role_names), 'completes_setup': first},
    )
    return user


def get_user(*, session: Session, actor: Actor, user_id: int) -> User:
    """A user by id (admin, or the user themself)."""
    if actor.id != user_id:
        require(actor, 'core.manage_users', target=f'user#{user_id}')
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_('No such user.'))
    return user


def find_user(session: Session, username: str) -> User | None:
    """A user by username, for the CLI and sign-in (no permission check)."""
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def list_users(
    *, session: Session, actor: Actor, query: str = '', include_inactive: bool = True, offset: int = 0, limit: int = 50
) -> Page[User]:
    """Users matching `query` in username, name or e-mail (admin), paginated."""
    require(actor, 'core.manage_users', target='users')
    stmt = select(User)
    if query.strip():
        like = like_pattern(query.strip())  # '%' and '_' in the query are literal characters
        stmt = stmt.where(
            or_(
                User.username.ilike(like, escape='\\'),
                User.display_name.ilike(like, escape='\\'),
                User.email.ilike(like, escape='\\'),
            )
        )
    if not include_inactive:
        stmt = stmt.where(User.is_active)
    return paginate(session, stmt.order_by(User.username), offset=offset, limit=limit)


def update_user(
    *,
    session: Session,
    actor: Actor,
    user_id: int,
    display_name: str | None = None,
    email: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
    roles: list[str] | None = None,
) -> User:
    """Edit a user's details or roles (admin). The last active admin cannot lose the admin role."""
    require(actor, 'core.manage_users', target=f'user#{user_id}')
    user = get_user(session=session, actor=actor, user_id=user_id)
    changes: dict[str, object] = {}
    if display_name is not None:
        user.display_name = changes['display_name'] = _clean_display_name(display_name)
    if email is not None:
        user.email = changes['email'] = _clean_email(email)
    if language is not None:
        user.language = changes['language'] = orgsettings.validate_language(language)
    if timezone is not None:
        user.timezone = changes['timezone'] = _clean_timezone(timezone)
    if roles is not None:
        new_roles = _clean_roles(roles)
        if 'admin' in user.role_names and 'admin' not in new_roles and user.is_active:
            if _active_admin_count(session) <= 1:
                raise Conflict(N_('This is the last administrator; make someone else an administrator first.'))
        user.roles = [UserRole(role=role) for role in new_roles]
        changes['roles'] = new_roles
    session.flush()
    if changes:
        audit.record(
            session=session, actor=actor, action='user.update', target=f'user:{user.username}', details=changes
        )
    return user


def set_active(*, session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Disable (ending every session and token use) or re-enable an account (admin)."""
    from appliance.services import auth  # auth imports accounts; import here to keep the graph acyclic

    require(actor, 'core.manage_users', target=f'user#{user_id}')
    user = get_user(session=session, actor=actor, user_id=user_id)
    if not active and user.id == actor.id:
        raise Conflict(N_('You cannot disable your own account.'))
    if active == user.is_active:
        return user  # nothing to do, nothing to audit
    if not active and 'admin' in user.role_names and _active_admin_count(session) <= 1:
        raise Conflict(N_('This is the last administrator; make someone else an administrator first.'))
    if active:
        check_seats(session)
    user.is_active = active
    if not active:
        auth.end_user_sessions(session=session, user_id=user.id, reason='disabled')
    audit.record(
        session=session, actor=actor, action='user.enable' if active else 'user.disable', target=f'user:{user.username}'
    )
    return user


def reset_password(*, session: Session, actor: Actor, user_id: int, new_password: str) -> User:
    """Set another user's password (admin); ends their sessions and revokes their API tokens.

    An admin resets a password when an account may be in someone else's hands: a token made by that someone would
    otherwise keep working. (Changing one's own password keeps one's tokens: see `change_own_password`.)
    """
    from appliance.services import auth, tokens

    require(actor, 'core.manage_users', target=f'user#{user_id}')
    user = get_user(session=session, actor=actor, user_id=user_id)
    passwords.check_policy(new_password, min_length=get_settings().password_min_length, username=user.username)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    auth.end_user_sessions(session=session, user_id=user.id, reason='password reset')
    revoked = tokens.revoke_all(session=session, actor=actor, owner=user, reason='password reset')
    audit.record(
        session=session,
        actor=actor,
        action='user.reset_password',
        target=f'user:{user.username}',
        details={'tokens_revoked': len(revoked)},
    )
    return user


def change_own_password(
    *, session: Session, actor: User, current_password: str, new_password: str, keep_session_id: int | None = None
) -> None:
    """Change the actor's own password; every other session of theirs ends.

    Their API tokens stay: the person changing it holds the account, and revokes any token on the profile page.
    """
    from appliance.services import auth

    user = session.get(User, actor.id)
    if user is None or not passwords.verify_password(user.password_hash, current_password):
        raise ValidationError(N_('The current password is wrong.'), field='current_password')
    if new_password == current_password:
        raise ValidationError(N_('The new password must differ from the current one.'), field='password')
    passwords.check_policy(new_password, min_length=get_settings().password_min_length, username=user.username)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    auth.end_user_sessions(session=session, user_id=user.id, reason='password changed', keep_id=keep_session_id)
    audit.record(session=session, actor=user, action='user.change_password', target=f'user:{user.username}')


def update_profile(
    *, session: Session, actor: User, display_name: str, email: str, language: str, timezone: str
) -> User:
    """Change the actor's own name, e-mail, language and time zone."""
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound(N_('No such user.'))
    user.display_name = _clean_display_name(display_name)
    user.email = _clean_email(email)
    user.language = orgsettings.validate_language(language)
    user.timezone = _clean_timezone(timezone)
    audit.record(session=session, actor=user, action='user.update_profile', target=f'user:{user.username}')
    return user
