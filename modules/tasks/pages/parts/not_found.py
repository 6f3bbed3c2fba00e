"""The tasks pages' 404: a task that does not exist, or whose project the reader cannot see."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.responses import Response
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.errors import N_, NotFound, PermissionDenied
from appliance.models import User
from appliance.ui.actions import read
from appliance.ui.guard import not_found_response as guard_not_found

T = TypeVar('T')


def not_found_response(message: str = N_('This task does not exist, or you cannot see its project.')) -> Response:
    """A plain 404 page in the reader's language (the same look as the platform's 403 page)."""
    return guard_not_found(i18n.language(), message)


async def read_or_404(actor: User, fn: Callable[[Session, User], T]) -> T | Response:
    """Like `read`, but an invisible or missing thing becomes the 404 page."""
    try:
        return await read(actor, fn)
    except (NotFound, PermissionDenied):
        return not_found_response()
