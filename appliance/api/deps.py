"""Dependencies of API routes: a database session per request and the user behind the bearer token."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BeforeValidator, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from appliance.db import get_database, run_write
from appliance.errors import N_, NotAuthenticated
from appliance.models import User
from appliance.services import tokens


def db_session(request: Request) -> Iterator[Session]:
    """The request's session, not yet begun: the route's own call runs its transaction (see `Router`), so that the
    write lock is taken, held and released on one thread. GET and HEAD read a snapshot alongside writers; the
    other methods hold the write lock from the start, on the writer thread."""
    session = get_database().new_session(write=request.method not in READ_METHODS)
    try:
        yield session
    except BaseException:  # the route or a later dependency failed: whatever began was rolled back in the route
        session.close()
        raise
    finished = session.info.pop(FINISHED, False)
    session.close()
    if not finished:  # a route that never ran its transaction: its writes would be lost without a word
        raise RuntimeError(f'{request.url.path}: a route with a DB parameter must be on appliance.api.deps.Router')


FINISHED = 'enclave_finished'


def transactional(endpoint: Callable[..., Any], *, write: bool = False) -> Callable[..., Any]:
    """Wrap a sync route so that its `DB` session's transaction runs inside the route's call, on one thread.

    A reading route runs on FastAPI's thread pool. A writing route (`write`: none of its methods is GET or HEAD)
    becomes a coroutine that hands the whole call to the writer thread (`appliance.db.run_write`): waiting for its
    turn costs a future, not a thread, and the writer goes from one write to the next without the event loop.
    """
    if getattr(endpoint, '__enclave_transactional__', False) or inspect.iscoroutinefunction(endpoint):
        return endpoint

    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        if not sessions:
            return endpoint(*args, **kwargs)
        (session,) = sessions
        session.info[FINISHED] = True
        with get_database().transaction(session):
            return endpoint(*args, **kwargs)

    if write:

        @functools.wraps(endpoint)
        async def call_writer(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(value, Session) for value in kwargs.values()):
                return await run_write(run, *args, **kwargs)
            return await run_in_threadpool(run, *args, **kwargs)  # no transaction of its own: as FastAPI would

        call_writer.__enclave_transactional__ = True  # type: ignore[attr-defined]
        return call_writer

    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        return run(*args, **kwargs)

    call.__enclave_transactional__ = True  # type: ignore[attr-defined]
    return call


class Router(APIRouter):
    """The API's router: a sync route with a `DB` parameter runs that request's transaction in its own call, from
    BEGIN (IMMEDIATE for writers) to the commit before the response, on one thread: FastAPI's for readers, the
    writer thread for writers."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get('methods') or ('GET',)}
        super().add_api_route(path, transactional(endpoint, write=not methods & READ_METHODS), **kwargs)


T = TypeVar('T')
READ_METHODS = frozenset({'GET', 'HEAD'})


def in_session(fn: Callable[[Session], T], *, write: bool = True) -> T:
    """Run `fn(session)` in one transaction of its own.

    For async routes that stream a request body: they cannot hold the DB dependency's transaction while they read
    it, so they run each database step through this on a database thread: `await run_write(in_session, fn)` to
    write, `await run_db(in_session, fn, write=False)` to read.
    """
    with get_database().session(write=write) as session:
        return fn(session)


# The route commits before the response is sent (`Router`), so a client never hears "created" for something that
# a failed commit then drops, and its next request always sees the change.
DB = Annotated[Session, Depends(db_session, scope='function')]


def api_user(request: Request) -> User:
    """The user whose personal access token is in `Authorization: Bearer ...`."""
    header = request.headers.get('authorization', '')
    scheme, _sep, raw = header.partition(' ')
    if scheme.lower() != 'bearer' or not raw.strip():
        raise NotAuthenticated(N_('Send a personal access token as "Authorization: Bearer <token>".'))
    # Its own short transaction: touching last_used_at in the request's transaction would hold SQLite's write
    # lock, and a permission denial (audited in a transaction of its own) would then wait for it until it fails.
    with get_database().session(write=False) as session:
        user = tokens.resolve_token(session=session, raw=raw.strip())
    if user is None:
        raise NotAuthenticated(N_('The token is invalid, expired or revoked.'))
    return user


# Ids are 64-bit signed integers in both databases; a larger number would reach the driver and fail there (500).
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description='An id: 1 to 2^63-1.')]
"""An id in the path: anything else is 422 before the route runs."""
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a request body."""


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD (or a date): pydantic would otherwise read 0 or '0.0' as a Unix time, 1970-01-01."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r'\d{4}-\d{2}-\d{2}', value):
        return value
    raise ValueError('Use a date as YYYY-MM-DD.')


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date written YYYY-MM-DD, in a body or a query."""

SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})


def request_user(request: Request) -> User:
    """The user behind a bearer token, or else behind the browser's session cookie (downloads, uploads from pages).

    A cookie alone does not authorise a state-changing request from another site: an unsafe method must carry an
    Origin header naming this host (browsers always send one on POST/PUT/PATCH/DELETE from scripts and forms).
    """
    if request.headers.get('authorization'):
        return api_user(request)
    from appliance.web.sessions import same_origin, session_from_request

    login = session_from_request(request)
    if login is None:
        raise NotAuthenticated(N_('Sign in, or send a personal access token as "Authorization: Bearer <token>".'))
    if request.method not in SAFE_METHODS and not (request.headers.get('origin') and same_origin(request)):
        raise NotAuthenticated(N_('This request came from another site and was refused. Open the page again.'))
    return login.user


class Paging:
    """`offset` and `limit` query parameters shared by every list."""

    def __init__(
        self, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> None:
        self.offset = offset
        self.limit = limit


Actor = Annotated[User, Depends(api_user)]
BrowserOrApiActor = Annotated[User, Depends(request_user)]
PageParams = Annotated[Paging, Depends()]
