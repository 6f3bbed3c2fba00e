"""The writer thread and the write lock between processes (issue 13, docs/adr/0005-database-writes.md).

Real SQLite files, real child processes holding the lock, a real FastAPI app: nothing here is mocked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from appliance.api.deps import DB, Router
from appliance.db import Database, DatabaseBusy, WriteGate, get_database, run_db, run_write
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason='SQLite: the writer thread and the lock file')

# A child process that opens the same database, takes the write lock through the app's own gate, says so on
# stdout, writes a row, and holds the lock until its stdin says "go" (or until it is killed).
HOLDER = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from appliance.db import Database

    database = Database(sys.argv[1])
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('holder')"))
        print('holding', flush=True)
        sys.stdin.readline()
    print('released', flush=True)
    """
)


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f'sqlite:///{tmp_path / "locks.db"}')
    with database.session(write=True) as session:
        session.execute(text('CREATE TABLE marks (id INTEGER PRIMARY KEY, who TEXT)'))
    return database


@pytest.fixture
def holder(database: Database) -> Iterator[subprocess.Popen[str]]:
    """Another process inside a write transaction on the same database."""
    child = subprocess.Popen(
        [sys.executable, '-c', HOLDER, database.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parents[2])},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == 'holding'
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)


def marks(database: Database) -> list[str]:
    with database.session(write=False) as session:
        return list(session.scalars(text('SELECT who FROM marks ORDER BY id')))


def test_the_lock_file_sits_beside_the_database_and_not_for_one_in_memory(database: Database) -> None:
    assert database.gate is not None
    with database.session(write=True):
        pass
    assert Path(database.engine.url.database or '').with_name('locks.db-write.lock').exists()
    assert Database('sqlite://').gate is not None  # in memory: the thread lock only, no file


def test_a_writer_waits_for_another_process_and_goes_on_when_it_lets_go(
    database: Database, holder: subprocess.Popen[str]
) -> None:
    done = threading.Event()

    def write() -> None:
        with database.session(write=True) as session:
            session.execute(text("INSERT INTO marks (who) VALUES ('waiter')"))
        done.set()

    waiter = threading.Thread(target=write)
    waiter.start()
    assert not done.wait(0.5), 'the write went ahead while another process held the lock'
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write('go\n')
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == 'released'
    waiter.join(timeout=10)
    assert done.is_set()
    assert marks(database) == ['holder', 'waiter']


def test_a_writer_gives_up_with_busy_after_the_timeout_and_writes_nothing(
    database: Database, holder: subprocess.Popen[str]
) -> None:
    assert database.gate is not None
    database.gate.timeout = 0.3
    with pytest.raises(DatabaseBusy), database.session(write=True) as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('impatient')"))
    assert holder.stdin is not None
    holder.stdin.write('go\n')
    holder.stdin.flush()
    holder.wait(timeout=10)
    # The waiting thread it left behind got the lock later and let go of it at once: the next write goes ahead.
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('later')"))
    assert marks(database) == ['holder', 'later']


def test_a_process_killed_while_holding_the_lock_frees_it(database: Database, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('after')"))
    assert marks(database) == ['after']  # the killed transaction never committed


def test_a_read_only_data_dir_leaves_the_order_to_sqlite(tmp_path: Path) -> None:
    gate = WriteGate(timeout=1, path=tmp_path / 'missing' / 'db-write.lock')  # cannot be created
    with gate.held():
        assert gate.holding()
    assert not gate.holding()


async def test_writes_run_on_one_writer_thread_in_the_order_they_came() -> None:
    order: list[int] = []
    threads: set[str] = set()

    def write(n: int) -> None:
        threads.add(threading.current_thread().name)
        with get_database().session(write=True) as session:
            session.execute(text('SELECT 1'))
        order.append(n)

    await asyncio.gather(*(run_write(write, n) for n in range(30)))
    assert order == list(range(30))
    assert len(threads) == 1 and threads.pop().startswith('enclave-writer')
    reader = await run_db(lambda: threading.current_thread().name)
    assert reader.startswith('enclave-db')


def test_an_api_route_writes_on_the_writer_thread_and_reads_on_the_pool() -> None:
    router = Router()
    seen: dict[str, str] = {}

    @router.post('/write')
    def write(session: DB) -> dict[str, str]:
        session.execute(text('SELECT 1'))
        seen['write'] = threading.current_thread().name
        return {'ok': 'yes'}

    @router.get('/read')
    def read(session: DB) -> dict[str, str]:
        session.execute(text('SELECT 1'))
        seen['read'] = threading.current_thread().name
        return {'ok': 'yes'}

    @router.delete('/plain')
    def plain() -> dict[str, str]:  # no session: FastAPI's pool, as before
        seen['plain'] = threading.current_thread().name
        return {'ok': 'yes'}

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.post('/write').json() == {'ok': 'yes'}
        assert client.get('/read').json() == {'ok': 'yes'}
        assert client.delete('/plain').json() == {'ok': 'yes'}
    assert seen['write'].startswith('enclave-writer')
    assert not seen['read'].startswith('enclave-writer')
    assert not seen['plain'].startswith('enclave-writer')


def test_the_lock_between_processes_is_the_flock_on_the_lock_file(database: Database) -> None:
    """A process holding only the file's flock (no SQLite transaction) keeps this process's writer waiting: the
    writers of the app's processes meet there, before SQLite's busy handler would poll."""
    path = Path(database.engine.url.database or '').with_name('locks.db-write.lock')
    script = (
        'import fcntl, sys; f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); '
        'print("held", flush=True); sys.stdin.readline()'
    )
    child = subprocess.Popen(
        [sys.executable, '-c', script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == 'held'
        assert database.gate is not None
        database.gate.timeout = 0.3
        with pytest.raises(DatabaseBusy), database.session(write=True) as session:
            session.execute(text("INSERT INTO marks (who) VALUES ('blocked')"))
        child.stdin.write('go\n')
        child.stdin.flush()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    database.gate.timeout = 10
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('free')"))
    assert marks(database) == ['free']
