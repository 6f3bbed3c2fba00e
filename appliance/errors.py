"""Service errors: a stable code, an HTTP status, and an English message that the edge translates.

Messages are gettext msgids with `{name}` placeholders; `params` fill them after translation, so a
service never needs to know the reader's language.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a string for translation without translating it here (extracted by Babel)."""
    return message


class ServiceError(Exception):
    """Base of every error a person can act on."""

    code = 'error'
    status = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
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
