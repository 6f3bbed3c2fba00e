"""Running a service call from a page or an event handler: off the event loop, on a database thread, with the
session re-checked and errors shown in the reader's language.

Every helper here is a coroutine: `await read(...)` while a page is built, `await act(...)` in a handler (a
lambda may return it: NiceGUI awaits what a handler returns). The service call and its commit run together on
one thread (`appliance.db.run_db` to read, the writer thread of `run_write` to write); the event loop serves
everyone else meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nicegui import ui
from sqlalchemy.orm import Session

from appliance import context, i18n
from appliance.db import get_database, run_db, run_write
from appliance.errors import NotAuthenticated, ServiceError, infrastructure_error
from appliance.models import User

T = TypeVar('T')


def _client_ip() -> str:
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ''


def _with_actor(token: str, fn: Callable[[Session, User], T]) -> T:
    from appliance.ui.guard import actor_for  # the guard uses `in_session` from here

    actor = actor_for(token)
    with get_database().session(write=True) as session:
        return fn(session, actor)


async def _run(fn: Callable[[Session, User], T], success: str) -> tuple[bool, T | None]:
    from appliance.ui.guard import session_token

    context.client_ip.set(_client_ip())
    try:
        result = await run_write(_with_actor, session_token(), fn)
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


async def act(fn: Callable[[Session, User], T], *, success: str = '') -> T | None:
    """Call `fn(session, actor)` in one write transaction; notify `success` or the error; None on error."""
    return (await _run(fn, success))[1]


async def attempt(fn: Callable[[Session, User], object], *, success: str = '') -> bool:
    """Like `act` for calls that return nothing: True when it succeeded."""
    return (await _run(fn, success))[0]


def _read(actor: User, fn: Callable[[Session, User], T]) -> T:
    with get_database().session(write=False) as session:
        return fn(session, actor)


async def read(actor: User, fn: Callable[[Session, User], T]) -> T:
    """Run a read-only service call (while a page is built, or to refresh a part of it) in a read-only snapshot;
    errors propagate: the page decides what to show."""
    return await run_db(_read, actor, fn)


def read_now(fn: Callable[[Session], T]) -> T:
    """`fn(session)` in a read-only session, for code already on a database thread (the page guard's)."""
    with get_database().session(write=False) as session:
        return fn(session)


def _in_session(fn: Callable[[Session], T], write: bool) -> T:
    with get_database().session(write=write) as session:
        return fn(session)


async def in_session(fn: Callable[[Session], T], *, write: bool = False) -> T:
    """Run `fn(session)` in one transaction, with no reader: for the guard itself, pages without a session (setup,
    login) and reads that need no actor (settings, counts). Read-only unless `write`. Errors propagate."""
    if not write:
        return await run_db(_in_session, fn, False)
    return await run_write(_in_session, fn, True)


async def act_anonymous(fn: Callable[[Session], T]) -> T | None:
    """Like `act`, for pages without a session (setup, login); returns None and notifies on error."""
    context.client_ip.set(_client_ip())
    try:
        return await run_write(_in_session, fn, True)
    except ServiceError as error:
        ui.notify(i18n.translate_error(error), type='negative')
        return None
