"""Running a service call from an event handler: re-check the session, show errors in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nicegui import ui
from sqlalchemy.orm import Session

from appliance import context, i18n
from appliance.db import get_database
from appliance.errors import NotAuthenticated, ServiceError, infrastructure_error
from appliance.models import User

T = TypeVar('T')


def _client_ip() -> str:
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ''


def _run(fn: Callable[[Session, User], T], success: str) -> tuple[bool, T | None]:
    from appliance.ui.guard import current_actor  # the guard uses `in_session` from here

    context.client_ip.set(_client_ip())
    try:
        actor = current_actor()
        with get_database().session() as session:
            result = fn(session, actor)
    except NotAuthenticated as error:
        ui.notify(i18n.translate_error(error), type='warning')
        ui.navigate.to('/login')
        return False, None
    except ServiceError as error:
        ui.notify(i18n.translate_error(error), type='negative')
        return False, None
    except Exception as error:
        # A full disk or a busy database is said in a sentence; anything else is a bug and goes on to the log.
        known = infrastructure_error(error)
        if known is None:
            raise
        ui.notify(i18n.translate_error(known), type='negative')
        return False, None
    if success:
        ui.notify(success, type='positive')
    return True, result


def act(fn: Callable[[Session, User], T], *, success: str = '') -> T | None:
    """Call `fn(session, actor)` in one transaction; notify `success` or the error; None on error."""
    return _run(fn, success)[1]


def attempt(fn: Callable[[Session, User], object], *, success: str = '') -> bool:
    """Like `act` for calls that return nothing: True when it succeeded."""
    return _run(fn, success)[0]


def read(actor: User, fn: Callable[[Session, User], T]) -> T:
    """Run a read-only service call while a page is built (errors propagate: the page decides what to show)."""
    with get_database().session() as session:
        return fn(session, actor)


def in_session(fn: Callable[[Session], T]) -> T:
    """Run `fn(session)` in one transaction, with no reader: for the guard itself, pages without a session (setup,
    login) and reads that need no actor (settings, counts). Errors propagate."""
    with get_database().session() as session:
        return fn(session)


def act_anonymous(fn: Callable[[Session], T]) -> T | None:
    """Like `act`, for pages without a session (setup, login); returns None and notifies on error."""
    context.client_ip.set(_client_ip())
    try:
        with get_database().session() as session:
            return fn(session)
    except ServiceError as error:
        ui.notify(i18n.translate_error(error), type='negative')
        return None
