"""`make bench`: memory that comes back (issue 13): idle RSS, RSS per open board tab, and RSS after the tabs close.

    python -m tests.bench.bench_memory [--tabs 200] [--cycles 10] [--settle 60] [--tasks 5000] [--big 500]

A real server (one process, SQLite, as `make run`) on a seeded data set. A "tab" is a real NiceGUI client, as a
browser makes one: GET the board page with the session cookie, then open its Socket.IO websocket with the client id
the page names (the implicit handshake a browser does), and keep it open. Each cycle opens `--tabs` tabs (a few at a
time), measures, closes them all, waits for NiceGUI to delete the clients (its reconnect timeout and a margin), then
`--settle` seconds more, and measures again.

Printed, against the targets: the server's idle RSS (< 150 MB), RSS per open tab (< 0.8 MB), RSS after the tabs
closed against the level before the burst (within 20%), and the creep of that level from cycle to cycle (< 1 MB per
cycle, the least-squares slope over the cycles after the first).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import re
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import httpx
import psutil
import socketio

from appliance.ui.memory import server_memory_env
from tests.bench.bench_tasks import prepare, sign_in

MB = 1024 * 1024
OPENING_AT_ONCE = 8
DELETE_MARGIN = 10.0
"""Seconds after the sockets closed by which NiceGUI has deleted the clients (its reconnect timeout is 3 s)."""
QUERY = re.compile(r'^\s*query: (\{.*\}),$', re.MULTILINE)

TARGET_IDLE_MB = 150.0
TARGET_PER_TAB_MB = 0.8
TARGET_AFTER_RATIO = 1.2
TARGET_CREEP_MB = 1.0


@dataclass
class Cycle:
    """RSS (bytes) of the server around one burst of tabs."""

    before: int
    open: int = 0
    after: int = 0
    tabs: int = 0
    seconds_to_open: float = 0.0


@dataclass
class Tab:
    """One open page: its NiceGUI client id and the socket connected to it."""

    client_id: str
    socket: socketio.AsyncClient
    messages: list[str] = field(default_factory=list)


def rss(pid: int) -> int:
    """The resident set size of the process, in bytes."""
    return int(psutil.Process(pid).memory_info().rss)


async def open_tab(http: httpx.AsyncClient, base_url: str, path: str) -> Tab:
    """GET the page and connect its websocket, as the browser's nicegui.js does (implicit handshake)."""
    response = await http.get(path)
    response.raise_for_status()
    return await connect_tab(http, base_url, response.text)


async def connect_tab(
    http: httpx.AsyncClient,
    base_url: str,
    page: str,
    *,
    ssl_verify: bool = True,
    session: aiohttp.ClientSession | None = None,
) -> Tab:
    """Connect the websocket of a page already loaded (its HTML), with the browser's cookies, as nicegui.js does.

    `session`: the browser's connections for its websockets, made by `socket_session` with its cookies (else one
    of the socket's own, and the cookies go in the handshake's header).
    """
    found = QUERY.search(page)
    if found is None:
        raise RuntimeError(f'no socket query in the page: {page[:160]!r}')
    query = ast.literal_eval(found.group(1))  # NiceGUI writes the dict as Python prints it
    query.update({'document_id': str(uuid.uuid4()), 'tab_id': str(uuid.uuid4())})
    query = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in query.items()}
    sio = socketio.AsyncClient(reconnection=False, ssl_verify=ssl_verify, http_session=session)
    tab = Tab(client_id=query['client_id'], socket=sio)
    sio.on('*', lambda event, *_: tab.messages.append(event))
    # The server refuses a socket whose implicit handshake fails (an unknown client id), so a connected socket is
    # a live client on the server.
    await sio.connect(
        f'{base_url}?{urlencode(query)}',
        headers={'Origin': base_url} if session is not None else {'Origin': base_url, 'Cookie': cookie_header(http)},
        transports=['websocket'],
        socketio_path='/_nicegui_ws/socket.io',
        wait_timeout=30,
    )
    return tab


def cookie_header(http: httpx.AsyncClient) -> str:
    return '; '.join(f'{name}={value}' for name, value in http.cookies.items())


def socket_session(http: httpx.AsyncClient) -> aiohttp.ClientSession:
    """Connections for a browser's websockets that send its cookies as they are. (The socket client moves a Cookie
    header into aiohttp's jar, which drops cookies of an IP address such as 127.0.0.1 and quotes values with '=':
    nginx then reads no route cookie and the socket reaches any worker.)"""
    return aiohttp.ClientSession(headers={'Cookie': cookie_header(http)}, cookie_jar=aiohttp.DummyCookieJar())


async def open_tabs(base_url: str, path: str, cookie: str, count: int) -> list[Tab]:
    """`count` tabs, `OPENING_AT_ONCE` being opened at a time."""
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    # One browser: its cookies (the session's, and NiceGUI's own once the first page set it) go with every request.
    name, _, value = cookie.partition('=')
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=60, cookies={name: value}) as http:

        async def one() -> Tab:
            async with gate:
                return await open_tab(http, base_url, path)

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def close_tabs(tabs: list[Tab]) -> None:
    """Close every socket, as closing the browser tabs does."""
    await asyncio.gather(*(tab.socket.disconnect() for tab in tabs))


async def run_cycles(
    base_url: str, pid: int, *, path: str, cookie: str, tabs: int, cycles: int, settle: float
) -> list[Cycle]:
    """Open and close `tabs` tabs `cycles` times; RSS before, while open and after each burst."""
    done: list[Cycle] = []
    for number in range(1, cycles + 1):
        cycle = Cycle(before=rss(pid))
        began = time.perf_counter()
        opened = await open_tabs(base_url, path, cookie, tabs)
        cycle.seconds_to_open = time.perf_counter() - began
        cycle.tabs = len(opened)
        await asyncio.sleep(2.0)  # the sockets' first messages are in
        cycle.open = rss(pid)
        await close_tabs(opened)
        del opened
        await asyncio.sleep(DELETE_MARGIN + settle)
        cycle.after = rss(pid)
        done.append(cycle)
        print(
            f'cycle {number:2}: before {cycle.before / MB:6.1f} MB   {cycle.tabs} tabs open {cycle.open / MB:6.1f} MB '
            f'(opened in {cycle.seconds_to_open:4.1f} s)   after close {cycle.after / MB:6.1f} MB',
            flush=True,
        )
    return done


def slope(values: list[float]) -> float:
    """The least-squares slope of values against their index (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    xs = range(len(values))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True))
    return num / sum((x - mean_x) ** 2 for x in xs)


def verdict(ok: bool) -> str:
    return 'ok' if ok else 'MISSED'


def report(idle: int, baseline: int, cycles: list[Cycle]) -> None:
    """Print the figures against the targets."""
    per_tab = [(c.open - c.before) / c.tabs / MB for c in cycles if c.tabs]
    first = per_tab[0] if per_tab else float('nan')
    ratios = [c.after / baseline for c in cycles]
    afters = [c.after / MB for c in cycles]
    creep = slope(afters[1:]) if len(afters) > 2 else slope(afters)
    print()
    print(
        f'idle RSS (server started, nothing opened):     {idle / MB:7.1f} MB   target < {TARGET_IDLE_MB:.0f} MB   '
        f'{verdict(idle / MB < TARGET_IDLE_MB)}'
    )
    print(f'pre-burst RSS (after one page was opened):      {baseline / MB:7.1f} MB')
    print(
        f'RSS per open tab, first burst:                  {first:7.2f} MB   target < {TARGET_PER_TAB_MB} MB   '
        f'{verdict(first < TARGET_PER_TAB_MB)}'
    )
    if per_tab:
        print(f'RSS per open tab, median of the bursts:         {statistics.median(per_tab):7.2f} MB')
    print(
        f'RSS after close / pre-burst, worst cycle:       {max(ratios):7.2f} x    target <= {TARGET_AFTER_RATIO} x   '
        f'{verdict(max(ratios) <= TARGET_AFTER_RATIO)}'
    )
    print(f'RSS after close / pre-burst, last cycle:        {ratios[-1]:7.2f} x')
    print(
        f'creep of the after-close RSS per cycle:         {creep:7.2f} MB   target < {TARGET_CREEP_MB} MB   '
        f'{verdict(creep < TARGET_CREEP_MB)}'
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tabs', type=int, default=200)
    parser.add_argument('--cycles', type=int, default=10)
    parser.add_argument('--settle', type=float, default=60.0, help='seconds to wait after NiceGUI deleted the clients')
    parser.add_argument('--tasks', type=int, default=5000)
    parser.add_argument('--projects', type=int, default=10)
    parser.add_argument('--big', type=int, default=500)
    parser.add_argument(
        '--pymalloc', action='store_true', help="serve with CPython's own allocator, not jemalloc (for comparison)"
    )
    args = parser.parse_args()

    from tests.livesrv import server_database, start_server

    work = Path(tempfile.mkdtemp(prefix='enclave-bench-memory-'))
    data_dir = work / 'data'
    data_dir.mkdir()
    try:
        seeded = prepare(data_dir, args.tasks, args.projects, args.big)
        env = {} if args.pymalloc else server_memory_env()
        server = start_server(data_dir, timeout=60, env={'PYTHONMALLOC': '', 'LD_PRELOAD': '', **env})
        try:
            pid = server.process.pid
            time.sleep(3.0)
            idle = rss(pid)
            with server_database(data_dir):
                cookie, _ = sign_in(server.url, seeded.reader_username)
            board = f'/projects/{seeded.big_project_id}/board'
            allocator = 'jemalloc, as the appliance runs' if env else "CPython's allocator (no jemalloc here)"
            print(
                f'{args.tabs} board tabs (a board of {seeded.big} tasks) opened and closed {args.cycles} times, '
                f'{args.settle:.0f} s to settle after each close; one process, {allocator}'
            )

            async def run() -> tuple[int, list[Cycle]]:
                # One tab opened and closed first: what the first page loads once (modules, templates, caches) is
                # the level the bursts are compared with, not a leak.
                await close_tabs(await open_tabs(server.url, board, cookie, 1))
                await asyncio.sleep(DELETE_MARGIN)
                baseline = rss(pid)
                return baseline, await run_cycles(
                    server.url,
                    pid,
                    path=board,
                    cookie=cookie,
                    tabs=args.tabs,
                    cycles=args.cycles,
                    settle=args.settle,
                )

            baseline, cycles = asyncio.run(run())
            report(idle, baseline, cycles)
            errors = [line for line in server.log_text().splitlines() if 'ERROR' in line or 'Traceback' in line]
            print(f'errors in the server log: {len(errors)} (target 0)')
            for line in errors[:10]:
                print('  ', line)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
