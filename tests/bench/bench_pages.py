"""`make bench`: what a page costs the server, in CPU per request, beside the raw SQL of that page (issue 13).

    python -m tests.bench.bench_pages [--tasks 100000] [--big 2000] [--runs 100] [--only board] [--keep DIR]

A real server (`python -m appliance.main`, one process, SQLite, jemalloc as the appliance runs) on the seeded data
set; a signed-in member loads each page `--runs` times over HTTP, one after another (after a warm-up). The figure is
the server process's CPU time (user + system, every thread: the event loop and the database threads) per request,
the median over five batches of those requests; the page's median wall time is printed beside it. The baseline is
the raw SQL of that page: a second server, started under tests.bench.sqltrace, records every statement one load of
the page runs; the SELECTs among them are replayed with plain sqlite3 on the same database file (median of `--runs`
replays). Targets (issue 13): the board of the 2,000-task project at most 15 ms and within 10x of its SQL; home at
most 8 ms.

Pages: home (/), the board and the list of the big project. A trivial route (/healthz) is the floor of a request.
Not counted: the deletion of a page's client after it was left (NiceGUI prunes clients that never connected after
60 s; a browser's disconnect costs about the same). `--keep DIR` seeds there once and reuses it on later runs (for
profiling). Compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.bench.bench_tasks import ms, prepare
from tests.bench.seed import Seeded

Statements = list[tuple[str, tuple[Any, ...]]]


@dataclass(frozen=True)
class Page:
    """A page the benchmark loads, and a text its HTML must hold (so an error page is never measured)."""

    name: str
    path: str
    expect: str
    target: str


@dataclass(frozen=True)
class Row:
    """The figures of one page."""

    name: str
    cpu: float
    wall: float
    raw: float
    statements: int
    target: str


def pages_of(seeded: Seeded) -> list[Page]:
    """The measured pages."""
    big, key = seeded.big_project_id, seeded.big_project_key
    return [
        Page('trivial route /healthz', '/healthz', 'ok', 'floor'),
        Page('home /', '/', 'Welcome', '<= 8 ms'),
        Page(f'board of the {seeded.big:,}-task project', f'/projects/{big}/board', f'{key}-1', '<= 15 ms, <= 10x'),
        Page(f'list of the {seeded.big:,}-task project', f'/projects/{big}/tasks', f'{key}-', 'cheaper'),
    ]


def load(client: httpx.Client, cookie: str, page: Page) -> None:
    """One GET of the page; it must be the page itself."""
    response = client.get(page.path, headers={'cookie': cookie})
    assert response.status_code == 200, f'{page.path}: {response.status_code} {response.text[:300]}'
    assert page.expect in response.text, f'{page.path}: {page.expect!r} not in the page'


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


BATCHES = 5


def measure(client: httpx.Client, cookie: str, page: Page, pid: int, runs: int, warmup: int) -> tuple[float, float]:
    """(server CPU seconds per request, median wall seconds per request) over `runs` loads after `warmup`.

    The CPU figure is the median over `BATCHES` batches of the loads (each batch's CPU over its loads): a full
    garbage collection or a burst of other work on the machine lands in one batch, not in the figure.
    """
    for _ in range(warmup):
        load(client, cookie, page)
    walls, batches = [], []
    size = max(1, runs // BATCHES)
    for start in range(0, runs, size):
        count = min(size, runs - start)
        before = cpu_seconds(pid)
        for _ in range(count):
            began = time.perf_counter()
            load(client, cookie, page)
            walls.append(time.perf_counter() - began)
        batches.append((cpu_seconds(pid) - before) / count)
    return statistics.median(batches), statistics.median(walls)


def record_statements(data_dir: Path, cookie: str, pages: list[Page]) -> dict[str, Statements]:
    """The SELECTs one load of each page runs (after a warm-up load), from a server that traces its SQL."""
    from tests.bench.sqltrace import TRACE_ENV, read_trace
    from tests.livesrv import http_client, start_server

    trace = data_dir / 'sql-trace.jsonl'
    trace.write_text('')
    server = start_server(data_dir, timeout=60, module='tests.bench.sqltrace', env={TRACE_ENV: str(trace)})
    found: dict[str, Statements] = {}
    try:
        with http_client(server.url, timeout=60) as client:
            for page in pages:
                load(client, cookie, page)
                start = trace.stat().st_size
                load(client, cookie, page)
                with trace.open(encoding='utf-8') as handle:
                    handle.seek(start)
                    statements = read_trace(handle.read())
                found[page.name] = [(sql, params) for sql, params in statements if is_read(sql)]
    finally:
        server.stop()
    return found


def is_read(sql: str) -> bool:
    """A statement that reads rows (not BEGIN, PRAGMA, COMMIT or a write)."""
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ''
    return head in {'SELECT', 'WITH'}


def raw_time(conn: sqlite3.Connection, statements: Statements, runs: int) -> float:
    """Median seconds to run the statements with plain sqlite3 and fetch every row."""

    def replay() -> None:
        for sql, params in statements:
            conn.execute(sql, params).fetchall()

    return median_time(replay, runs)


def median_time(fn: Callable[[], None], runs: int, warmup: int = 3) -> float:
    """The median seconds of `runs` calls of fn after a warm-up."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tasks', type=int, default=100_000)
    parser.add_argument('--projects', type=int, default=200)
    parser.add_argument('--big', type=int, default=2_000)
    parser.add_argument('--runs', type=int, default=100)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--only', default='', help='measure only the pages whose name contains this text')
    parser.add_argument('--keep', type=Path, help='seed into this folder and keep it (reused when it has data)')
    parser.add_argument('--sql', action='store_true', help="print each page's recorded statements")
    parser.add_argument('--pymalloc', action='store_true', help="serve with CPython's own allocator (to compare)")
    args = parser.parse_args(argv)

    from appliance.ui.memory import server_memory_env
    from tests.livesrv import http_client, server_database, start_server

    work = Path(tempfile.mkdtemp(prefix='enclave-bench-pages-'))
    data_dir = args.keep or work / 'data'
    try:
        seeded = seed_once(data_dir, args)
        with server_database(data_dir):
            cookie = sign_in_through(data_dir, seeded)
        pages = [page for page in pages_of(seeded) if args.only in page.name]
        statements = record_statements(data_dir, cookie, pages)
        if args.sql:
            for name, found in statements.items():
                print(f'--- {name}: {len(found)} statements')
                print('\n'.join(' '.join(sql.split())[:300] for sql, _params in found))
        # Served as the appliance serves (jemalloc where installed, appliance.ui.memory), the allocator the figures
        # depend on: glibc's malloc made creating elements about 45% dearer.
        env = {} if args.pymalloc else server_memory_env()
        print('allocator:', 'jemalloc, as the appliance runs' if env else "CPython's own (no jemalloc here)")
        server = start_server(data_dir, timeout=60, env={'PYTHONMALLOC': '', 'LD_PRELOAD': '', **env})
        try:
            with http_client(server.url, timeout=60) as client:
                costs = {
                    page.name: measure(client, cookie, page, server.process.pid, args.runs, args.warmup)
                    for page in pages
                }
        finally:
            server.stop()
        conn = sqlite3.connect(data_dir / 'enclave.db')
        try:
            raw = {page.name: raw_time(conn, statements[page.name], args.runs) for page in pages}
        finally:
            conn.close()
        report([Row(p.name, *costs[p.name], raw[p.name], len(statements[p.name]), p.target) for p in pages], args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def seed_once(data_dir: Path, args: argparse.Namespace) -> Seeded:
    """Seed the data dir, or (with --keep, on a second run) take the data as it is."""
    from tests.bench.seed import Seeded

    marker = data_dir / 'bench-seeded'
    if marker.exists():
        os.environ['ENCLAVE_DATA_DIR'] = str(data_dir)
        os.environ['ENCLAVE_CONFIG'] = str(data_dir / 'enclave.toml')
        fields = marker.read_text().split()
        return Seeded(
            int(fields[0]), fields[1], int(fields[2]), fields[3], int(fields[4]), int(fields[5]), int(fields[6])
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    seeded = prepare(data_dir, args.tasks, args.projects, args.big)
    print(f'seeded {seeded.tasks:,} tasks over {seeded.projects} projects in {time.perf_counter() - began:.1f} s')
    marker.write_text(
        f'{seeded.big_project_id} {seeded.big_project_key} {seeded.reader_id} {seeded.reader_username} '
        f'{seeded.tasks} {seeded.projects} {seeded.big}'
    )
    return seeded


def sign_in_through(data_dir: Path, seeded: Seeded) -> str:
    """A session cookie for the reader, through a server of its own (the ticket route sets the cookie)."""
    from appliance.db import get_database
    from appliance.services import accounts, auth
    from appliance.services.passwords import hash_password
    from appliance.web.sessions import COOKIE
    from tests.livesrv import http_client, start_server

    password = 'Bench-Password-2026'
    with get_database().session() as session:
        reader = accounts.find_user(session, seeded.reader_username)
        assert reader is not None
        reader.password_hash = hash_password(password)
    with get_database().session() as session:
        ticket = auth.authenticate(session=session, username=seeded.reader_username, password=password, ip='')
    server = start_server(data_dir, timeout=60)
    try:
        with http_client(server.url) as client:
            response = client.get(f'/auth/session?ticket={ticket}&next=/')
            assert response.status_code == 303, response.text
            cookie = client.cookies.get(COOKIE)
    finally:
        server.stop()
    assert cookie
    return f'{COOKIE}={cookie}'


def report(rows: list[Row], runs: int) -> None:
    """The table: server CPU per request against the page's raw SQL, and the ratio."""
    print()
    print(f'server CPU per request ({runs} sequential loads, median of {BATCHES} batches) against the raw SQL')
    print(f'{"page":40} {"server CPU":>11} {"wall p50":>11} {"raw SQL":>11} {"stmts":>5} {"ratio":>7}  target')
    for row in rows:
        ratio = f'{row.cpu / row.raw:7.1f}' if row.raw else '      -'
        print(f'{row.name:40} {ms(row.cpu)} {ms(row.wall)} {ms(row.raw)} {row.statements:5} {ratio}  {row.target}')
    print()


if __name__ == '__main__':
    main()
