"""The NiceGUI fixes we carry (appliance/ui/nicegui_patches.py) answer exactly as NiceGUI does."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

import pytest
from nicegui import helpers
from nicegui.testing import User as UIUser

from appliance.ui import nicegui_patches
from appliance.ui.nicegui_patches import expects_arguments


def plain(a: int) -> None: ...
def optional(a: int = 1) -> None: ...
def star(*args: Any, **kwargs: Any) -> None: ...
def nothing() -> None: ...


class Widget:
    def update(self) -> None: ...
    def handle(self, event: object) -> None: ...
    def maybe(self, event: object = None) -> None: ...

    @classmethod
    def make(cls, value: int) -> None: ...

    @staticmethod
    def static(value: int) -> None: ...

    def __call__(self, value: int) -> None: ...


CALLABLES: dict[str, Callable[..., Any]] = {
    'function': plain,
    'function with a default': optional,
    'function with *args and **kwargs': star,
    'function without parameters': nothing,
    'lambda without parameters': lambda: None,
    'lambda with one': lambda event: None,
    'bound method without parameters': Widget().update,
    'bound method with one': Widget().handle,
    'bound method with a default': Widget().maybe,
    'method from the class': Widget.handle,
    'classmethod': Widget.make,
    'staticmethod': Widget.static,
    'callable object': Widget(),
    'partial, filled': functools.partial(plain, 1),
    'partial, open': functools.partial(plain),
    'builtin': print,
}


@pytest.mark.parametrize('func', CALLABLES.values(), ids=CALLABLES.keys())
def test_it_answers_as_nicegui_does_the_first_time_and_every_time(func: Callable[..., Any]) -> None:
    expected = nicegui_patches._original(func)
    assert [expects_arguments(func) for _ in range(3)] == [expected] * 3


def test_a_bound_and_a_plain_use_of_one_function_are_told_apart() -> None:
    assert expects_arguments(Widget.update) is True  # plain: needs `self`
    assert expects_arguments(Widget().update) is False  # bound: needs nothing
    assert expects_arguments(Widget.update) is True


def test_it_forgets_a_function_that_goes_away() -> None:
    def handler(event: object) -> None: ...

    expects_arguments(handler)
    count = len(nicegui_patches._answers)
    del handler
    gc.collect()
    assert len(nicegui_patches._answers) == count - 1


async def test_the_built_app_runs_with_it(user: UIUser) -> None:
    assert helpers.expects_arguments is expects_arguments


# ---- the middlewares, as plain ASGI -------------------------------------------------------------------------------


def _app(middleware: Callable[..., Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    async def redirect(_request: Any) -> Any:
        return RedirectResponse('/somewhere', status_code=303)

    async def text(_request: Any) -> Any:
        return PlainTextResponse('body')

    routes = [Route('/go', redirect), Route('/{path:path}', text)]
    return middleware(Starlette(routes=routes))


def test_a_redirect_gets_the_forwarded_prefix_as_in_nicegui() -> None:
    from starlette.testclient import TestClient

    client = TestClient(_app(nicegui_patches.RedirectWithPrefix))
    response = client.get('/go', headers={'X-Forwarded-Prefix': '/enclave'}, follow_redirects=False)
    assert response.headers['location'] == '/enclave/somewhere'
    assert client.get('/go', follow_redirects=False).headers['location'] == '/somewhere'


def test_only_nicegui_s_versioned_static_files_get_its_cache_control(monkeypatch: pytest.MonkeyPatch) -> None:
    from nicegui import core
    from nicegui.version import __version__
    from starlette.testclient import TestClient

    monkeypatch.setattr(core.app.config, 'cache_control_directives', 'public, max-age=31536000', raising=False)
    client = TestClient(_app(nicegui_patches.SetCacheControl))
    static = client.get(f'/_nicegui/{__version__}/static/vue.js')
    assert static.headers['cache-control'] == 'public, max-age=31536000' and static.text == 'body'
    assert 'cache-control' not in client.get(f'/_nicegui/{__version__}/dynamic_resources/x.js').headers
    assert 'cache-control' not in client.get('/projects').headers


def test_ui_run_and_the_storage_pick_up_the_plain_middlewares() -> None:
    from nicegui import storage, ui_run
    from starlette.middleware.base import BaseHTTPMiddleware

    nicegui_patches.apply()
    for replaced in (
        ui_run.RedirectWithPrefixMiddleware,
        ui_run.SetCacheControlMiddleware,
        storage.RequestTrackingMiddleware,
    ):  # type: ignore[attr-defined]
        assert not issubclass(replaced, BaseHTTPMiddleware)


async def test_the_request_is_tracked_for_app_storage_user_as_before(user: UIUser) -> None:
    """`app.storage.user` works in a page and is refused once the response has started, as NiceGUI does."""
    from nicegui import app, ui

    seen: list[object] = []

    @ui.page('/patch-storage-probe')
    def probe() -> None:
        app.storage.user['visits'] = int(app.storage.user.get('visits', 0)) + 1
        seen.append(app.storage.user['visits'])
        ui.label('probed')

    await user.open('/patch-storage-probe')
    await user.should_see('probed')
    await user.open('/patch-storage-probe')
    assert seen == [1, 2]


# ---- deleted timers stop at once; empty tab storage goes with its tab ---------------------------------------------


@pytest.mark.parametrize('started', [False, True], ids=['before its task started', 'while it waits'])
async def test_a_deleted_timer_stops_at_once_and_lets_go_of_its_callback(user: UIUser, started: bool) -> None:
    import asyncio
    import weakref

    from nicegui import background_tasks, ui

    class Callback:
        def __call__(self) -> None: ...

    callbacks: list[weakref.ref[Callback]] = []
    timers: list[weakref.ref[ui.timer]] = []
    names: list[str] = []

    @ui.page('/patch-timer-probe')
    def probe() -> None:
        callback = Callback()
        callbacks.append(weakref.ref(callback))
        names.append(str(callback))  # NiceGUI names the timer's task so
        timers.append(weakref.ref(ui.timer(60.0, callback, immediate=False)))
        ui.label('ticking')

    await user.open('/patch-timer-probe')
    await user.should_see('ticking')
    [task] = [task for task in background_tasks.running_tasks if task.get_name() == names[0]]
    timer = timers[0]()
    assert timer is not None and not task.done()
    if started:
        await asyncio.sleep(0.01)
    timer.delete()
    del timer
    await asyncio.sleep(0.05)
    assert task.done()  # not after its 60 s
    del task
    gc.collect()
    assert timers[0]() is None and callbacks[0]() is None


async def test_a_timer_deleting_itself_in_its_callback_ends_as_before(user: UIUser) -> None:
    import asyncio

    from nicegui import ui

    ticks: list[int] = []

    @ui.page('/patch-timer-self')
    def probe() -> None:
        def tick() -> None:
            ticks.append(1)
            timer.delete()

        timer = ui.timer(0.01, tick)
        ui.label('ticking')

    await user.open('/patch-timer-self')
    await asyncio.sleep(0.1)
    assert ticks == [1]


async def test_an_empty_tab_storage_goes_when_its_tab_closes_and_a_used_one_stays() -> None:
    from nicegui import storage

    nicegui_patches.apply()
    store = storage.Storage.__new__(storage.Storage)
    store._tabs = {'empty': storage.ObservableDict(), 'used': storage.ObservableDict({'step': 2})}
    await store.close_tab('empty')
    await store.close_tab('used')
    await store.close_tab(None)
    await store.close_tab('unknown')
    assert list(store._tabs) == ['used'] and store._tabs['used'] == {'step': 2}


async def test_a_deleted_page_s_elements_are_freed_without_the_garbage_collector(user: UIUser) -> None:
    """Their classes, style and props no longer hold themselves: a closed tab leaves nothing for a full collection
    to find (it left about 500 objects per board page), while the page works as before until then."""
    import weakref

    from nicegui import ui

    observables: list[weakref.ref[object]] = []
    pressed: list[int] = []

    @ui.page('/patch-observables-probe')
    def probe() -> None:
        for n in range(5):
            label = ui.label(f'line {n}').classes('text-lg').style('color: #333').props('dense')
            observables.extend(weakref.ref(o) for o in (label._classes, label._style, label._props))
        ui.button('Press', on_click=lambda: pressed.append(1)).props('flat')

    await user.open('/patch-observables-probe')
    await user.should_see('line 4')
    user.find('Press').click()
    assert pressed == [1]
    client = user.client
    assert client is not None
    gc.collect()
    gc.disable()  # what is freed now is freed by reference counting alone
    try:
        client.delete()
        user.client = None
        del client
        alive = [ref for ref in observables if ref() is not None]
    finally:
        gc.enable()
    assert len(observables) == 15 and alive == []
