"""`make bench`: writers and readers at once, and what the rest of the server feels meanwhile (issue 13).

    python -m tests.bench.bench_load [--writers 50] [--pages 20] [--seconds 120] [--tasks 20000]

A real server (one process, SQLite, as `make run`) on a seeded data set. First, idle: a trivial route (/healthz)
is timed on its own. Then, for `--seconds`, `--writers` API clients each post comments and move cards as fast as
the server answers them, `--pages` clients each load a board page of the big project and read it for a while
(`--think` seconds on average), and a probe calls the trivial route every 50 ms. Printed: requests done, errors
(any status >= 400 or a transport error), latency p50/p95/max of each kind, the probe's p95 against its idle p95
(target within 3x), and the longest probe wait (target under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.bench.bench_tasks import percentile, prepare, sign_in

PROBE_EVERY = 0.05
REQUEST_TIMEOUT = 30.0


@dataclass
class Kind:
    """Latencies (seconds) and failures of one kind of request."""

    name: str
    samples: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.samples:
            return f'{self.name:28} no requests; {len(self.errors)} errors'
        p50, p95 = statistics.median(self.samples), percentile(self.samples, 95)
        return (
            f'{self.name:28} {len(self.samples):6} done {len(self.errors):4} errors   '
            f'p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {max(self.samples) * 1000:7.1f} ms'
        )


async def _timed(client: httpx.AsyncClient, kind: Kind, method: str, url: str, **kwargs: object) -> None:
    began = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        kind.errors.append(f'{type(error).__name__}: {error}')
        return
    kind.samples.append(time.perf_counter() - began)
    if response.status_code >= 400:
        kind.errors.append(f'{response.status_code} {url}: {response.text[:200]}')


async def _writer(
    client: httpx.AsyncClient, kind: Kind, token: str, ids: tuple[list[int], list[int]], stop: float, n: int
) -> None:
    rng = random.Random(n)
    headers = {'authorization': f'Bearer {token}'}
    task_ids, status_ids = ids
    while time.perf_counter() < stop:
        task_id = rng.choice(task_ids)
        if rng.random() < 0.7:
            body = {'body': f'writer {n}: load comment {rng.randrange(10**6)}'}
            await _timed(client, kind, 'POST', f'/api/v1/tasks/{task_id}/comments', json=body, headers=headers)
        else:
            move = {'status_id': rng.choice(status_ids), 'after_id': None}
            await _timed(client, kind, 'POST', f'/api/v1/tasks/{task_id}/move', json=move, headers=headers)


async def _pages(client: httpx.AsyncClient, kind: Kind, cookie: str, path: str, stop: float, think: float) -> None:
    rng = random.Random(path)
    while time.perf_counter() < stop:
        await _timed(client, kind, 'GET', path, headers={'cookie': cookie})
        await asyncio.sleep(rng.uniform(0, 2 * think))


async def _probe(client: httpx.AsyncClient, kind: Kind, stop: float) -> None:
    while time.perf_counter() < stop:
        await _timed(client, kind, 'GET', '/healthz')
        await asyncio.sleep(PROBE_EVERY)


async def run_load(
    base_url: str,
    *,
    cookie: str,
    token: str,
    board: str,
    ids: tuple[list[int], list[int]],
    writers: int,
    pages: int,
    seconds: float,
    think: float,
) -> tuple[Kind, list[Kind]]:
    """The idle probe, then everything at once; (idle probe, [writes, pages, probe under load])."""
    limits = httpx.Limits(max_connections=writers + pages + 10, max_keepalive_connections=writers + pages + 10)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        idle = Kind('trivial route, idle')
        await _probe(client, idle, time.perf_counter() + min(10.0, seconds / 4))
        writes, views, probe = Kind('API writes'), Kind('board pages'), Kind('trivial route, under load')
        stop = time.perf_counter() + seconds
        await asyncio.gather(
            *(_writer(client, writes, token, ids, stop, n) for n in range(writers)),
            *(_pages(client, views, cookie, board, stop, think) for _ in range(pages)),
            _probe(client, probe, stop),
        )
    return idle, [writes, views, probe]


def report(idle: Kind, kinds: list[Kind]) -> int:
    """Print the figures; the number of errors."""
    print()
    for kind in (idle, *kinds):
        print(kind.line())
    probe = kinds[-1]
    if idle.samples and probe.samples:
        ratio = percentile(probe.samples, 95) / percentile(idle.samples, 95)
        print(f'trivial route p95 under load / idle: {ratio:.2f}x (target <= 3x)')
        print(f'longest wait of the trivial route under load: {max(probe.samples) * 1000:.0f} ms (target < 1000 ms)')
    errors = [error for kind in kinds for error in kind.errors]
    for error in sorted(set(errors))[:10]:
        print('error:', error)
    print(f'errors: {len(errors)} (target 0)')
    print()
    return len(errors)


def _ids(data_dir: Path, project_id: int, limit: int = 400) -> tuple[list[int], list[int]]:
    """Some task ids of the project, and its column ids."""
    import sqlite3

    conn = sqlite3.connect(data_dir / 'enclave.db')
    try:
        tasks = conn.execute('SELECT id FROM tasks_tasks WHERE project_id = ? LIMIT ?', (project_id, limit)).fetchall()
        statuses = conn.execute('SELECT id FROM tasks_statuses WHERE project_id = ?', (project_id,)).fetchall()
    finally:
        conn.close()
    return [row[0] for row in tasks], [row[0] for row in statuses]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--writers', type=int, default=50)
    parser.add_argument('--pages', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=120.0)
    parser.add_argument('--think', type=float, default=2.0, help='a page reader pauses 0 to 2x this between pages')
    parser.add_argument('--tasks', type=int, default=20_000)
    parser.add_argument('--projects', type=int, default=20)
    parser.add_argument('--big', type=int, default=500)
    args = parser.parse_args()

    from tests.livesrv import server_database, start_server

    work = Path(tempfile.mkdtemp(prefix='enclave-bench-load-'))
    data_dir = work / 'data'
    data_dir.mkdir()
    try:
        seeded = prepare(data_dir, args.tasks, args.projects, args.big)
        server = start_server(data_dir, timeout=60)
        try:
            with server_database(data_dir):
                cookie, token = sign_in(server.url, seeded.reader_username)
            board = f'/projects/{seeded.big_project_id}/board'
            print(
                f'{args.writers} API writers and {args.pages} page readers for {args.seconds:.0f} s '
                f'on {seeded.tasks:,} tasks (board of {seeded.big} tasks), one process'
            )
            idle, kinds = asyncio.run(
                run_load(
                    server.url,
                    cookie=cookie,
                    token=token,
                    board=board,
                    ids=_ids(data_dir, seeded.big_project_id),
                    writers=args.writers,
                    pages=args.pages,
                    seconds=args.seconds,
                    think=args.think,
                )
            )
            report(idle, kinds)
            locked = server.log_text().count('database is locked')
            print(f'"database is locked" in the server log: {locked} times (target 0)')
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
