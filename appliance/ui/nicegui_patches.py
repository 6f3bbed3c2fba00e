"""Fixes to NiceGUI carried in our tree until a NiceGUI release has them. Each is small, keeps NiceGUI's behaviour,
and has its test in tests/appliance/ui/test_nicegui_patches.py; remove one when the release that fixes it is locked.

`expects_arguments`: every element makes three observables (classes, props, style), and each asks
`helpers.expects_arguments(self._update)`, which runs `inspect.signature` on a fresh bound method: about 13 µs,
so about 40 µs of every element, the same answer each time. The answer depends only on the function (and on
whether it is bound), so it is kept per function, weakly (a function that goes away takes its entry with it).
NiceGUI 3.18 already resolves it once per observable rather than per change (zauberzeug/nicegui#6108); this
removes the per-element cost too.

Middlewares: NiceGUI adds three `BaseHTTPMiddleware`s to every app (the redirect prefix, cache headers for its
static files, and the request tracking of `app.storage`). Each runs the rest of the stack in a task of its own
and copies the response through memory streams: about a millisecond of every request between the three. The
same three as plain ASGI middlewares do the same to the same messages, without the copies.

Deleted timers: deleting a `ui.timer` (as deleting its client does, a few seconds after the tab closed) cancels
only the callback that is running; the timer's loop sleeps out its interval first and only then sees that it was
deleted. Until then its task holds the timer, its callback and whatever the callback closes over (for the header's
bell: the page's context and elements), so every closed tab's page stayed in memory for up to a minute. The loop
is now cancelled with the timer.

Deleted elements' observables: an element's classes, style and props each hold their own `_update` as change
handler, a reference cycle, so every element of a closed tab left three small cycles (about 500 objects for a board
page) for the garbage collector's full collection, which walks every open page's objects to find them: 0.4-0.7 s
with the event loop stopped, every half minute under load. Their handlers are dropped when the element is deleted
(a deleted element is never sent again), and reference counting frees them at once.

Empty tab storage: a tab's `app.storage.tab` lives in memory (without Redis) and NiceGUI keeps it when the tab's
last client is deleted, for `max_tab_storage_age` (30 days), in case the tab comes back. A storage that holds
nothing has nothing to give back, and 30 days of closed tabs add up; it is dropped when its tab closes (a tab that
returns gets a new empty one, which is what it would have found).
"""

from __future__ import annotations

import asyncio
import inspect
import types
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from nicegui import Client, core, helpers, storage
from nicegui.element import Element
from nicegui.elements.timer import Timer
from nicegui.persistence import PersistentDict
from nicegui.version import __version__
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_original: Callable[[Callable[..., Any]], bool] = helpers.expects_arguments
# function -> (answer when called plain, answer when bound as a method)
_answers: weakref.WeakKeyDictionary[types.FunctionType, list[bool | None]] = weakref.WeakKeyDictionary()


def expects_arguments(func: Callable[..., Any]) -> bool:
    """NiceGUI's `helpers.expects_arguments`, remembered per plain or bound Python function."""
    target = func.__func__ if inspect.ismethod(func) else func
    if not isinstance(target, types.FunctionType):
        return _original(func)  # partials, builtins, callable objects: asked each time, as before
    slot = 1 if target is not func else 0
    answers = _answers.get(target)
    if answers is None:
        answers = _answers[target] = [None, None]
    answer = answers[slot]
    if answer is None:
        answer = answers[slot] = _original(func)
    return answer


class RedirectWithPrefix:
    """NiceGUI's RedirectWithPrefixMiddleware as ASGI: a local Location gets the request's X-Forwarded-Prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        prefix = Headers(scope=scope).get('x-forwarded-prefix', '')
        if not prefix:
            await self.app(scope, receive, send)
            return

        async def prefixed(message: Message) -> None:
            if message['type'] == 'http.response.start':
                headers = MutableHeaders(scope=message)
                location = headers.get('location')
                if location is not None and location.startswith('/'):
                    headers['location'] = prefix + location
            await send(message)

        await self.app(scope, receive, prefixed)


class SetCacheControl:
    """NiceGUI's SetCacheControlMiddleware as ASGI: its versioned static files get the app's Cache-Control."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.static = f'/_nicegui/{__version__}/'
        self.dynamic = f'/_nicegui/{__version__}/dynamic_resources/'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get('path', '')
        if scope['type'] != 'http' or not path.startswith(self.static) or path.startswith(self.dynamic):
            await self.app(scope, receive, send)
            return

        async def cached(message: Message) -> None:
            if message['type'] == 'http.response.start':
                MutableHeaders(scope=message)['cache-control'] = core.app.config.cache_control_directives
            await send(message)

        await self.app(scope, receive, cached)


class RequestTracking:
    """NiceGUI's RequestTrackingMiddleware as ASGI: the request in `request_contextvar`, a session id, the user's
    storage made on first sight, and `state.responded` once the response starts (so late `app.storage.user`
    writes are refused as before)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        storage.request_contextvar.set(request)
        if 'id' not in request.session:
            request.session['id'] = str(uuid.uuid4())
        request.state.responded = False
        session_id = request.session['id']
        active = core.app.storage._active_request_sessions
        active[session_id] += 1

        async def tracked(message: Message) -> None:
            if message['type'] == 'http.response.start':
                request.state.responded = True
            await send(message)

        try:
            if session_id not in core.app.storage._users:
                await core.app.storage._create_user_storage(session_id)
            await self.app(scope, receive, tracked)
        finally:
            active[session_id] -= 1
            if active[session_id] <= 0:
                del active[session_id]


_timer_run_in_loop = Timer._run_in_loop
_timer_run_once = Timer._run_once
_timer_handle_delete = Timer._handle_delete
_close_tab = storage.Storage.close_tab
_remove_elements = Client.remove_elements


async def _run_in_loop(self: Timer) -> None:
    """NiceGUI's loop, cancellable by the timer's deletion (and not started at all if that came first)."""
    if self._deleted:
        self._cleanup()
        return
    self._enclave_task = asyncio.current_task()  # type: ignore[attr-defined]
    await _timer_run_in_loop(self)


async def _run_once(self: Timer) -> None:
    """NiceGUI's single run, likewise."""
    if self._deleted:
        self._cleanup()
        return
    self._enclave_task = asyncio.current_task()  # type: ignore[attr-defined]
    await _timer_run_once(self)


def _handle_delete(self: Timer) -> None:
    """NiceGUI's `Timer._handle_delete`, and the timer's loop cancelled where it waits (unless it is deleting
    itself: then it ends by itself)."""
    _timer_handle_delete(self)
    task: asyncio.Task[Any] | None = getattr(self, '_enclave_task', None)
    if task is not None and not task.done() and task is not asyncio.current_task():
        task.cancel()


def remove_elements(self: Client, elements: Iterable[Element]) -> None:
    """NiceGUI's `Client.remove_elements`, and the removed elements' observables let go of their change handlers."""
    removed = list(elements)
    _remove_elements(self, removed)
    for element in removed:
        for observable in (element._classes, element._style, element._props):
            observable._change_handlers.clear()


async def close_tab(self: storage.Storage, tab_id: str | None) -> None:
    """NiceGUI's `Storage.close_tab`, and an empty in-memory tab storage dropped."""
    tab = self._tabs.get(tab_id) if tab_id else None
    if tab_id and tab is not None and not isinstance(tab, PersistentDict) and not tab:
        del self._tabs[tab_id]
        return
    await _close_tab(self, tab_id)


def apply() -> None:
    """Install the fixes (idempotent). The middlewares are swapped where `ui.run` and the storage pick them up."""
    from nicegui import storage as nicegui_storage
    from nicegui import ui_run

    helpers.expects_arguments = expects_arguments
    ui_run.RedirectWithPrefixMiddleware = RedirectWithPrefix  # type: ignore[attr-defined,assignment]
    ui_run.SetCacheControlMiddleware = SetCacheControl  # type: ignore[attr-defined,assignment]
    nicegui_storage.RequestTrackingMiddleware = RequestTracking  # type: ignore[assignment,misc]
    Timer._run_in_loop = _run_in_loop  # type: ignore[method-assign,assignment]
    Timer._run_once = _run_once  # type: ignore[method-assign,assignment]
    Timer._handle_delete = _handle_delete  # type: ignore[method-assign]
    storage.Storage.close_tab = close_tab  # type: ignore[method-assign]
    Client.remove_elements = remove_elements  # type: ignore[method-assign]
