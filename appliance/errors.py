"""Service errors: a stable code, an HTTP status, and an English message that the edge translates.

Messages are gettext msgids with `{name}` placeholders; `params` fill them after translation, so a
service never needs to know the reader's language.
"""

from __future__ import annotations

import errno
from typing import Any


def N_(message: str) -> str:
    """Mark a string for translation without translating it here (extracted by Babel)."""
    return message


class Plural(str):
    """A message with a plural form: the singular (it is that string), the plural, and the name of the placeholder
    that holds the number. `gettext` picks the form for the number in the reader's language (Chinese has one)."""

    plural: str
    number: str

    def __new__(cls, singular: str, plural: str, number: str) -> Plural:
        made = super().__new__(cls, singular)
        made.plural = plural
        made.number = number
        return made

    def english(self, params: dict[str, Any]) -> str:
        """The English form for the number in `params` (unfilled)."""
        return str(self) if params.get(self.number) == 1 else self.plural


def NP_(singular: str, plural: str, number: str) -> Plural:
    """Mark a message with a plural form (extracted by Babel as singular and plural): `NP_('Try again in {seconds}
    second.', 'Try again in {seconds} seconds.', 'seconds')`; translated with the number when shown."""
    return Plural(singular, plural, number)


class ServiceError(Exception):
    """Base of every error a person can act on."""

    code = 'error'
    status = 400

    def __init__(self, message: str, **params: Any) -> None:
        english = message.english(params) if isinstance(message, Plural) else message
        super().__init__(english.format(**params) if params else english)
        self.message = message
        self.params = params


class ValidationError(ServiceError):
    """Bad input: nothing was changed."""

    code = 'invalid'
    status = 422

    def __init__(self, message: str, *, field: str = '', **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field


class NotFound(ServiceError):
    """The thing does not exist, or the actor may not know it exists."""

    code = 'not_found'
    status = 404


class PermissionDenied(ServiceError):
    """The actor lacks the permission named in `permission`."""

    code = 'forbidden'
    status = 403

    def __init__(
        self, message: str = N_('You do not have permission to do this.'), *, permission: str = '', **params: Any
    ) -> None:
        super().__init__(message, **params)
        self.permission = permission


class NotAuthenticated(ServiceError):
    """No valid session or token."""

    code = 'unauthenticated'
    status = 401


class Conflict(ServiceError):
    """The request clashes with the current state (a duplicate name, a busy lock)."""

    code = 'conflict'
    status = 409


class TooManyAttempts(ServiceError):
    """Sign-in throttled; `retry_after` seconds to wait."""

    code = 'throttled'
    status = 429

    def __init__(self, message: str, *, retry_after: int, **params: Any) -> None:
        super().__init__(message, retry_after=retry_after, **params)
        self.retry_after = retry_after


class Busy(ServiceError):
    """The database is busy with other writers (a lock that could not be had in time): try again shortly."""

    code = 'busy'
    status = 503
    retry_after = 2


# One sentence for every write refused for want of space, whether the disk filled or uploads stopped short of it.
DISK_FULL_MESSAGE = N_(
    'The data disk is full, so this was not saved. Delete files you no longer need, or ask the admin to free '
    'space or add a larger disk, then try again.'
)


class DiskFull(ServiceError):
    """The data disk is full: nothing was saved."""

    code = 'disk_full'
    status = 507


# SQLSTATEs of PostgreSQL that mean "another transaction was in the way": lock_not_available, serialization_failure,
# deadlock_detected. 53100 is disk_full.
_PG_BUSY = frozenset({'55P03', '40001', '40P01'})
_PG_FULL = frozenset({'53100'})


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from or during (SQLAlchemy wraps the driver's error in `orig`)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is known for known in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo += [getattr(current, 'orig', None), current.__cause__, current.__context__]
    return seen


def infrastructure_error(error: BaseException) -> ServiceError | None:
    """The ServiceError a person should see for a failure of the machine, not of the request, or None.

    A full disk (ENOSPC, SQLite's "database or disk is full", PostgreSQL's disk_full) becomes DiskFull (507); a
    write lock that could not be had in time (SQLite's "database is locked", PostgreSQL's lock-not-available,
    serialization and deadlock errors) becomes Busy (503, try again). Anything else is a bug: None.
    """
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull(DISK_FULL_MESSAGE)
        # Only the database drivers' own messages are read: a person's text never decides the status.
        if not type(link).__module__.startswith(('sqlite3', 'sqlalchemy', 'psycopg')):
            continue
        text = str(link).lower()
        state = str(getattr(link, 'sqlstate', '') or getattr(link, 'pgcode', '') or '')
        if 'database or disk is full' in text or state in _PG_FULL:
            return DiskFull(DISK_FULL_MESSAGE)
        if 'database is locked' in text or 'database table is locked' in text or state in _PG_BUSY:
            return Busy(N_('The server is busy with other changes. Nothing was saved; try again in a moment.'))
    return None
