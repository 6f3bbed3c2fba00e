"""Simulated clicks that wait for what they started.

Event handlers that touch the database are coroutines (the work runs on a database thread), so NiceGUI runs them
as background tasks: a test that clicks and then looks at the page or the database must wait for them first.
"""

from __future__ import annotations

import asyncio

from nicegui import background_tasks
from nicegui.testing import User as UIUser

SETTLE_SECONDS = 10.0
LONG_LIVED = ('Outbox.loop', 'Timer._run_in_loop', 'nicegui_patches._run_in_loop')
"""Tasks that run for a client's whole life (its outbox, a repeating timer, NiceGUI's own loop or the one
appliance.ui.nicegui_patches wraps it in): never waited for."""


def _short_lived(task: asyncio.Task[object]) -> bool:
    coroutine = task.get_coro()
    frame = getattr(coroutine, 'cr_frame', None)  # None once it has finished
    module = frame.f_globals.get('__name__', '') if frame is not None else ''
    return not f'{module}.{getattr(coroutine, "__qualname__", "")}'.endswith(LONG_LIVED)


async def settled(before: set[asyncio.Task[object]]) -> None:
    """Wait until every background task started since `before` has finished (those they start, too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        started = {
            task
            for task in background_tasks.running_tasks
            if task not in before and not task.done() and _short_lived(task)
        }
        if not started:
            return
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f'event handlers still running after {SETTLE_SECONDS} s: {started}')
        await asyncio.wait(started, timeout=remaining)


async def click(user: UIUser, *, marker: str | None = None, content: str | None = None) -> None:
    """Click the one element found and wait for the handlers it started."""
    before = set(background_tasks.running_tasks)
    user.find(marker=marker, content=content).click()
    await settled(before)


async def trigger(user: UIUser, event: str, args: object, *, marker: str) -> None:
    """Send `event` with `args` to the one element found and wait for the handlers it started."""
    before = set(background_tasks.running_tasks)
    user.find(marker=marker).trigger(event, args)
    await settled(before)
