"""Memory that comes back after tabs close.

A page is a tree of NiceGUI elements that point at each other and at their client (reference cycles), so what a
closed tab held is freed only by a cyclic garbage collection of the oldest generation, which CPython runs when the
number of long-lived objects has grown by a quarter: long after a burst of tabs closed, or never while the server
is quiet. And what is freed goes back to the allocator, which keeps it for later unless told to give it back (see
SERVER_MEMORY_ENV for which allocator, and why).

So a few seconds after NiceGUI deletes clients (its reconnect timeout after their tabs closed), one sweep: a full
collection on the event loop, then, on a worker thread, the allocator gives its free pages back to the system.
Sweeps are at least `MIN_INTERVAL` apart, so a busy server pays for one every half minute at most.
The objects that exist once start-up is done are frozen out of the collector (`gc.freeze`): they live as long as the
process, and a full collection need not walk them (it walks what pages made since).

The automatic collector runs less often than CPython's default (`THRESHOLDS`). A page makes thousands of objects
that live on (its elements), so with a first generation of 700 a board page set off a dozen young collections and,
every twenty pages or so, a full one walking every open page's objects (about 85 ms with 200 pages open): a fifth of
the server's CPU per page. What the collector is for here, the cycles of deleted clients, the sweep collects anyway.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

from nicegui import app, helpers

log = logging.getLogger('enclave.memory')

SERVER_MEMORY_ENV = {
    'PYTHONMALLOC': 'malloc',
    'LD_PRELOAD': 'libjemalloc.so.2',
    'MALLOC_CONF': 'background_thread:true',
}
"""The environment the app's processes start in: objects from jemalloc (Debian's libjemalloc2), whose background
thread gives freed pages back to the system within seconds. The systemd unit and `make run` set it; a test checks
that they do. Measured with 200 board tabs opened and closed (tests/bench/bench_memory.py): CPython's own allocator
keeps small objects in 1 MiB arenas and gives one back only when nothing in it lives; the few objects made during a
burst that stay (a database thread's connection, a cache entry, the next page) held nearly every arena of it, and RSS
stayed at the high-water mark (2.08x the level before, a minute after the tabs closed). glibc's malloc gives the pages
back after `malloc_trim` (1.27x) but made creating elements about 45% dearer; jemalloc does the same at pymalloc's
speed."""


def server_memory_env() -> dict[str, str]:
    """SERVER_MEMORY_ENV where jemalloc is installed; else nothing (CPython's allocator, not glibc's slower one)."""
    return dict(SERVER_MEMORY_ENV) if ctypes.util.find_library('jemalloc') else {}


SWEEP_DELAY = 5.0
"""Seconds from a client's deletion to the sweep (the clients of a closing burst go within a few seconds)."""
MIN_INTERVAL = 30.0
"""Seconds at least between two sweeps."""
THRESHOLDS = (50_000, 20, 10)
"""The collector's thresholds once start-up is done (CPython's: 700, 10, 10): a young collection every 50,000 more
objects tracked than freed, a middle one every 20 of those, a full one every 10 middle ones (and then only when the
oldest generation grew by a quarter)."""
MALLCTL_ARENAS_ALL = 4096
"""jemalloc's index meaning every arena (MALLCTL_ARENAS_ALL in jemalloc 5)."""


def _find_give_back() -> Callable[[], object] | None:
    """What gives free pages back to the system now: jemalloc's purge of all its arenas where it is the allocator
    (preloaded), glibc's `malloc_trim(0)` otherwise; None where there is neither (musl, macOS)."""
    process = ctypes.CDLL(None)
    mallctl = getattr(process, 'mallctl', None)
    if mallctl is not None:
        mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        mallctl.restype = ctypes.c_int
        return lambda: mallctl(b'arena.%d.purge' % MALLCTL_ARENAS_ALL, None, None, None, 0)
    trim = getattr(process, 'malloc_trim', None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class Sweeper:
    """Schedules one sweep after client deletions, at most one per `MIN_INTERVAL`."""

    def __init__(self, *, delay: float = SWEEP_DELAY, min_interval: float = MIN_INTERVAL) -> None:
        self.delay = delay
        self.min_interval = min_interval
        self.sweeps = 0
        self._give_back = _find_give_back()
        self._scheduled: asyncio.TimerHandle | None = None
        self._running: asyncio.Task[None] | None = None
        self._last = -min_interval

    def client_deleted(self) -> None:
        """A client was deleted: sweep soon (once for all deletions until then)."""
        if self._scheduled is not None or (self._running is not None and not self._running.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # deleted outside the event loop (a test tearing down): nothing to schedule on
            return
        wait = max(self.delay, self._last + self.min_interval - loop.time())
        self._scheduled = loop.call_later(wait, self._start)

    def _start(self) -> None:
        self._scheduled = None
        self._running = asyncio.get_running_loop().create_task(self.sweep(), name='enclave-memory-sweep')

    async def sweep(self) -> None:
        """Collect the garbage, then give free pages back to the system (off the loop)."""
        self._last = asyncio.get_running_loop().time()
        began = time.perf_counter()
        freed = gc.collect()
        collected = time.perf_counter() - began
        if self._give_back is not None:
            await asyncio.to_thread(self._give_back)
        self.sweeps += 1
        log.info('memory sweep: %d objects freed in %.1f ms', freed, collected * 1000)

    def cancel(self) -> None:
        """Forget a scheduled sweep (at shutdown)."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None


sweeper = Sweeper()


def freeze() -> None:
    """Collect, then move every object there is to the permanent generation (they are start-up's); from now on
    collect automatically at `THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def install() -> None:
    """Sweep after client deletions; freeze what start-up made once the app has started, and collect less often
    from then on (not under pytest, whose runs start the app once per test: each would freeze the tests before it)."""
    app.on_delete(sweeper.client_deleted)
    app.on_shutdown(sweeper.cancel)
    if not helpers.is_pytest():
        app.on_startup(freeze)
