"""`make bench`: the speed figures of issue 3, each printed beside a baseline measured in the same run.

    python -m tests.bench.bench_tasks [--tasks 100000] [--projects 200] [--big 2000] [--runs 30] [--no-browser]

Figures (app time vs baseline, ratio):
- board: server time to build the board page of the big project (GET over HTTP, HTML complete) vs the raw SQL
  query that reads the same 2,000 tasks with their assignees;
- api list: GET /api/v1/tasks, one page of 50 with filters, p95, vs the raw SQL for that page and its count;
- search: p95 of GET /api/v1/search (Chinese two-character, Chinese longer, English), target < 50 ms, vs the raw
  FTS5 lookup;
- csv import: 10,000 rows through the import (decode, parse, validate, write) vs a raw bulk insert of the same
  rows into the same tables (the task rows and their search-index rows, with the index's own INSERT ... SELECT);
- memory: the server's RSS growth per open board page (real Chromium tabs), target < 2 MB.
Numbers are medians / p95 over `--runs` runs on this machine; compare ratios, not absolute times.
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
from pathlib import Path
from typing import Any

import psutil

from tests.bench.seed import Seeded, seed

Row = tuple[str, float, float, str]
NOW = '2026-11-29 00:00:00'
# The raw baseline reads what a card or an API row shows: the task fields, its ref and status name, its assignees'
# names and its labels (one row per task, lists packed with group_concat).
CARDS_SQL = (
    "SELECT t.id, p.key || '-' || t.number, t.title, s.name, s.is_closed, t.position, t.priority, t.start_date, "
    't.due_date, t.updated_at, '
    '(SELECT group_concat(u.id || char(31) || u.username || char(31) || u.display_name, char(30)) '
    'FROM tasks_assignees x JOIN core_users u ON u.id = x.user_id WHERE x.task_id = t.id), '
    '(SELECT group_concat(l.id || char(31) || l.name || char(31) || l.color, char(30)) '
    'FROM tasks_task_labels y JOIN tasks_labels l ON l.id = y.label_id WHERE y.task_id = t.id) '
    'FROM tasks_tasks t JOIN tasks_statuses s ON s.id = t.status_id '
    'JOIN projects_projects p ON p.id = t.project_id '
)


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 2) -> list[float]:
    """Seconds per call of fn, after a warm-up."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return samples


def ms(value: float) -> str:
    return f'{value * 1000:8.2f} ms'


def report(rows: list[Row]) -> None:
    """Print the table of figures."""
    print()
    print(f'{"figure":58} {"app":>11} {"baseline":>11} {"ratio":>7}  target')
    for name, app, base, target in rows:
        ratio = app / base if base else float('nan')
        print(f'{name:58} {ms(app)} {ms(base)} {ratio:7.2f}  {target}')
    print()


def prepare(data_dir: Path, tasks: int, projects: int, big: int, users: int = 60) -> Seeded:
    """Migrate and seed a data dir (in this process), and give the reader a password."""
    os.environ['ENCLAVE_DATA_DIR'] = str(data_dir)
    os.environ['ENCLAVE_CONFIG'] = str(data_dir / 'enclave.toml')
    from appliance.config import get_settings, prepare_data_dir
    from appliance.db import init_database
    from appliance.migrate import import_all_models, upgrade
    from appliance.modules import build_registry
    from appliance.secrets import data_encryption_key

    get_settings.cache_clear()
    build_registry(get_settings().enabled_modules)
    prepare_data_dir(get_settings())
    # The data key, as a real install makes it before its first account (start-up refuses to make one afterwards).
    data_encryption_key(get_settings().data_dir)
    import_all_models()
    database = init_database(get_settings().sqlalchemy_url)
    upgrade(database.engine)
    with database.session() as session:
        seeded = seed(session, tasks=tasks, projects=projects, big=big, users=users)
    with database.engine.begin() as connection:
        connection.exec_driver_sql('ANALYZE')
    database.checkpoint()
    return seeded


def sign_in(base_url: str, username: str) -> tuple[str, str]:
    """(session cookie value, API token) for `username`, arranged through the services."""
    from appliance.db import get_database
    from appliance.models import User
    from appliance.services import auth, tokens
    from appliance.services.passwords import hash_password
    from appliance.web.sessions import COOKIE
    from tests.livesrv import http_client

    with get_database().session() as session:
        user = session.query(User).filter_by(username=username).one()
        user.password_hash = hash_password('Bench-Password-2026')
        token = tokens.create_token(session=session, actor=user, name='bench')[1]
    with get_database().session() as session:
        ticket = auth.authenticate(session=session, username=username, password='Bench-Password-2026', ip='')
    with http_client(base_url) as client:
        response = client.get(f'/auth/session?ticket={ticket}&next=/')
        assert response.status_code == 303, response.text
        cookie = client.cookies.get(COOKIE)
    assert cookie
    return f'{COOKIE}={cookie}', token


def bench_board(conn: sqlite3.Connection, base_url: str, cookie: str, seeded: Seeded, runs: int) -> Row:
    from tests.livesrv import http_client

    def raw() -> None:
        sql = CARDS_SQL + 'WHERE t.project_id = ? ORDER BY s.position, t.position'
        assert len(conn.execute(sql, (seeded.big_project_id,)).fetchall()) == seeded.big

    with http_client(base_url, timeout=30) as client:

        def page() -> None:
            response = client.get(f'/projects/{seeded.big_project_id}/board', headers={'cookie': cookie})
            assert response.status_code == 200 and f'{seeded.big_project_key}-1' in response.text, response.status_code

        app = statistics.median(timed(page, runs))
    base = statistics.median(timed(raw, runs))
    return ('board page of the 2,000-task project (median)', app, base, '<= 3x and < 300 ms')


def bench_api_list(conn: sqlite3.Connection, base_url: str, token: str, seeded: Seeded, runs: int) -> list[Row]:
    from tests.livesrv import http_client

    rows: list[Row] = []
    queries = [
        (
            'GET /api/v1/tasks big project, priority=high, open, p95',
            f'/api/v1/tasks?project_id={seeded.big_project_id}&priority=high&open_only=true&limit=50',
            CARDS_SQL
            + 'WHERE t.project_id = ? AND t.priority = ? AND s.is_closed = 0 ORDER BY s.position, t.position LIMIT 50',
            (seeded.big_project_id, 'high'),
            'SELECT count(*) FROM tasks_tasks t JOIN tasks_statuses s ON s.id = t.status_id '
            'WHERE t.project_id = ? AND t.priority = ? AND s.is_closed = 0',
        ),
        (
            'GET /api/v1/tasks assignee=me across projects, by due, p95',
            f'/api/v1/tasks?assignee={seeded.reader_id}&sort=due&limit=50',
            CARDS_SQL + 'JOIN tasks_assignees a ON a.task_id = t.id WHERE a.user_id = ? ORDER BY t.due_date LIMIT 50',
            (seeded.reader_id,),
            'SELECT count(*) FROM tasks_tasks t JOIN tasks_assignees a ON a.task_id = t.id WHERE a.user_id = ?',
        ),
    ]
    with http_client(base_url, timeout=30) as client:
        for name, url, sql, params, count_sql in queries:

            def call(url: str = url) -> None:
                response = client.get(url, headers={'authorization': f'Bearer {token}'})
                assert response.status_code == 200, response.text
                assert response.json()['items'], url

            def raw(sql: str = sql, params: tuple[Any, ...] = params, count_sql: str = count_sql) -> None:
                conn.execute(sql, params).fetchall()
                conn.execute(count_sql, params).fetchall()

            rows.append((name, percentile(timed(call, runs), 95), percentile(timed(raw, runs), 95), '<= 3x'))
    return rows


def bench_search(conn: sqlite3.Connection, base_url: str, token: str, runs: int) -> list[Row]:
    from appliance.search_index import _fts5_query, _query_tokens
    from tests.livesrv import http_client

    rows: list[Row] = []
    with http_client(base_url, timeout=30) as client:
        for query in ('项目', '登录页面', 'backup', 'performance dashboard'):

            def call(query: str = query) -> None:
                response = client.get(
                    '/api/v1/search', params={'q': query}, headers={'authorization': f'Bearer {token}'}
                )
                assert response.status_code == 200, response.text

            def raw(query: str = query) -> None:
                conn.execute(
                    'SELECT s.ref_id FROM core_search_terms s WHERE s.id IN (SELECT rowid FROM core_search_fts '
                    'WHERE core_search_fts MATCH ? ORDER BY rowid DESC LIMIT 20)',
                    (_fts5_query(_query_tokens(query), 'task'),),
                ).fetchall()

            rows.append(
                (
                    f'search "{query}" p95',
                    percentile(timed(call, runs), 95),
                    percentile(timed(raw, runs), 95),
                    '< 50 ms',
                )
            )
    return rows


def csv_rows(count: int) -> bytes:
    """A CSV of `count` tasks, half Chinese, with the headers the importer reads."""
    import random

    from tests.bench.seed import phrase

    rng = random.Random(7)
    lines = ['title,status,priority,due,description']
    for i in range(count):
        lines.append(f'{phrase(rng, 3)} {i},To do,normal,2027-01-{1 + i % 28:02d},{phrase(rng, 10)}')
    return ('\n'.join(lines) + '\n').encode('utf-8')


def bench_import(conn: sqlite3.Connection, seeded: Seeded, count: int) -> Row:
    """The importer on a fresh project vs an executemany INSERT of the same rows (the baseline)."""
    import csv
    import io

    from appliance.db import get_database
    from appliance.models import User
    from modules.projects import services as projects
    from modules.tasks.services import csvio

    data = csv_rows(count)
    with get_database().session() as session:
        reader = session.query(User).filter_by(username=seeded.reader_username).one()
        project = projects.create_project(session=session, actor=reader, name='Import bench', key='IMP')
        project_id = project.id
    began = time.perf_counter()
    with get_database().session() as session:
        reader = session.get(User, seeded.reader_id)
        assert reader is not None
        imported = csvio.commit_import(session=session, actor=reader, project_id=project_id, data=data)
    app = time.perf_counter() - began
    assert imported, 'nothing imported'

    # The baseline writes the same rows to the same tables, raw: the task rows, and their search rows (terms
    # computed before the clock starts) with the one INSERT ... SELECT that fills the full-text index.
    from appliance.search_index import terms_of

    parsed = list(csv.DictReader(io.StringIO(data.decode('utf-8'))))
    terms = [terms_of(r['title'], r['description'], f'IMP-{100_000 + i}') for i, r in enumerate(parsed)]
    status_id = conn.execute(
        'SELECT id FROM tasks_statuses WHERE project_id = ? ORDER BY position LIMIT 1', (project_id,)
    ).fetchone()[0]
    rows = [
        (project_id, 100_000 + i, status_id, i * 1024, r['title'], r['description'], r['priority'], r['due'], NOW, NOW)
        for i, r in enumerate(parsed)
    ]
    began = time.perf_counter()
    with conn:
        conn.executemany(
            'INSERT INTO tasks_tasks (project_id, number, status_id, position, title, description, priority, '
            'due_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            rows,
        )
        ids = [
            row[0]
            for row in conn.execute(
                'SELECT id FROM tasks_tasks WHERE project_id = ? AND number >= 100000 ORDER BY number', (project_id,)
            )
        ]
        first = conn.execute('SELECT coalesce(max(id), 0) + 1 FROM core_search_terms').fetchone()[0]
        conn.executemany(
            "INSERT INTO core_search_terms (kind, ref_id, terms) VALUES ('task', ?, ?)", list(zip(ids, terms))
        )
        conn.execute(
            'INSERT INTO core_search_fts(rowid, kind, terms) SELECT id, kind, terms FROM core_search_terms '
            'WHERE id >= ?',
            (first,),
        )
    base = time.perf_counter() - began
    return (
        f'CSV import of {count:,} tasks (all rows; vs raw insert of the same rows)',
        app,
        base,
        'speed >= 30% (ratio <= 3.33)',
    )


def bench_memory(base_url: str, cookie: str, seeded: Seeded, pid: int, pages: int = 10) -> tuple[float, int]:
    """RSS growth of the server per open board page, with real Chromium tabs holding the pages open."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'):
        options.add_argument(arg)
    options.binary_location = '/usr/bin/chromium'
    driver = webdriver.Chrome(service=webdriver.ChromeService('/usr/bin/chromedriver'), options=options)
    try:
        name, _sep, value = cookie.partition('=')
        driver.get(f'{base_url}/healthz')
        driver.add_cookie({'name': name, 'value': value, 'path': '/'})
        driver.get(f'{base_url}/projects/{seeded.big_project_id}/board')
        time.sleep(2)
        before = psutil.Process(pid).memory_info().rss
        for _ in range(pages):
            driver.switch_to.new_window('tab')
            driver.get(f'{base_url}/projects/{seeded.big_project_id}/board')
        time.sleep(3)
        after = psutil.Process(pid).memory_info().rss
    finally:
        driver.quit()
    return (after - before) / pages / 2**20, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tasks', type=int, default=100_000)
    parser.add_argument('--projects', type=int, default=200)
    parser.add_argument('--big', type=int, default=2_000)
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--import-rows', type=int, default=10_000)
    parser.add_argument('--no-browser', action='store_true', help='skip the memory figure (needs Chromium)')
    args = parser.parse_args()

    from tests.livesrv import server_database, start_server

    work = Path(tempfile.mkdtemp(prefix='enclave-bench-'))
    data_dir = work / 'data'
    data_dir.mkdir()
    try:
        began = time.perf_counter()
        seeded = prepare(data_dir, args.tasks, args.projects, args.big)
        print(f'seeded {seeded.tasks:,} tasks over {seeded.projects} projects in {time.perf_counter() - began:.1f} s')
        server = start_server(data_dir, timeout=60)
        try:
            with server_database(data_dir):
                cookie, token = sign_in(server.url, seeded.reader_username)
                conn = sqlite3.connect(data_dir / 'enclave.db')
                rows = [bench_board(conn, server.url, cookie, seeded, args.runs)]
                rows += bench_api_list(conn, server.url, token, seeded, args.runs)
                rows += bench_search(conn, server.url, token, args.runs)
                rows.append(bench_import(conn, seeded, args.import_rows))
                conn.close()
            report(rows)
            if not args.no_browser and shutil.which('chromium'):
                per_page, pages = bench_memory(server.url, cookie, seeded, server.process.pid)
                print(f'memory: server RSS grew {per_page:.2f} MB per open board page ({pages} tabs; target < 2 MB)')
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
