"""Failures of the machine, not of the request: a locked database, a full disk, a bug. Never a text/plain 500."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from appliance.config import get_settings
from modules.tasks import services
from tests.appliance.support import (  # noqa: F401 - fixtures
    api_fixture,
    app_client_fixture,
    bearer,
    error_of,
    short_busy_timeout_fixture,
)
from tests.conftest import POSTGRES_URL, make_token
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


class Records(logging.Handler):
    """Keeps the records of one logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def web_log() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger('enclave.web')
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def task_id(team: Team) -> int:
    project = make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})
    return make_task(project=project).id


@pytest.fixture
def dave(team: Team) -> dict[str, str]:
    return bearer(make_token(team.dave))


@pytest.mark.skipif(bool(POSTGRES_URL), reason='holds an SQLite write lock')
def test_it_answers_503_with_retry_after_while_another_writer_holds_the_database(
    api: TestClient, task_id: int, dave: dict[str, str], short_busy_timeout: None, web_log: Records
) -> None:
    api.get(f'/api/v1/tasks/{task_id}', headers=dave)  # the token's last use is recorded before the lock
    holder = sqlite3.connect(get_settings().data_dir / 'enclave.db', isolation_level=None)
    holder.execute('BEGIN IMMEDIATE')
    try:
        response = api.patch(f'/api/v1/tasks/{task_id}', json={'title': 'Renamed'}, headers=dave)
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    error = error_of(response, 503)
    assert error['code'] == 'busy'
    assert 'try again' in error['message']
    assert response.headers['retry-after'] == '2'
    assert [record.levelno for record in web_log.records] == [logging.WARNING]

    again = api.patch(f'/api/v1/tasks/{task_id}', json={'title': 'Renamed'}, headers=dave)
    assert again.status_code == 200, again.text
    assert again.json()['title'] == 'Renamed'


def test_it_answers_a_bug_with_the_error_shape_and_logs_its_traceback_once(
    api: TestClient, task_id: int, dave: dict[str, str], web_log: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_kwargs: Any) -> Any:
        raise RuntimeError('a bug in get_task')

    monkeypatch.setattr(services, 'get_task', broken)
    response = api.get(f'/api/v1/tasks/{task_id}', headers={**dave, 'Accept-Language': 'zh-CN'})
    error = error_of(response, 500)
    assert error['code'] == 'internal'
    assert 'a bug' not in error['message']  # no internals in the answer
    assert len(web_log.records) == 1
    record = web_log.records[0]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert 'a bug in get_task' in logging.Formatter().formatException(record.exc_info)


def test_it_shows_a_page_not_plain_text_when_a_non_api_route_fails(
    api: TestClient, web_log: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.web import sessions

    def broken(**_kwargs: Any) -> Any:
        raise RuntimeError('a bug in the sign-in exchange')

    monkeypatch.setattr(sessions.auth, 'exchange_ticket', broken)
    response = api.get('/auth/session?ticket=x', follow_redirects=False)
    assert response.status_code == 500
    assert response.headers['content-type'].startswith('text/html')
    assert 'Something went wrong' in response.text and 'a bug' not in response.text
    assert response.headers['x-frame-options'] == 'DENY'  # the security headers still apply
    assert len(web_log.records) == 1


@pytest.fixture
def full_blob_disk() -> Iterator[Path]:
    """The data dir's blobs/ on a 1 MiB tmpfs, so a write fails with a real ENOSPC."""
    blobs = get_settings().data_dir / 'blobs'
    blobs.mkdir(exist_ok=True)
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(blobs)], capture_output=True, text=True, timeout=30
    )
    if mounted.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {mounted.stderr.strip()}')
    yield blobs
    subprocess.run(['umount', str(blobs)], check=True, timeout=30)


def test_it_answers_507_with_a_sentence_when_the_disk_is_full(
    api: TestClient, task_id: int, dave: dict[str, str], full_blob_disk: Path, web_log: Records
) -> None:
    response = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename=big.bin',
        content=b'x' * (3 * 1024 * 1024),
        headers={**dave, 'Accept-Language': 'en'},
    )
    error = error_of(response, 507)
    assert error['code'] == 'disk_full'
    assert error['message'] == (
        'The data disk is full, so this was not saved. Delete files you no longer need, or ask the admin to free '
        'space or add a larger disk, then try again.'
    )
    assert api.get(f'/api/v1/tasks/{task_id}/attachments', headers=dave).json() == []
    assert [record.levelno for record in web_log.records] == [logging.WARNING]
    assert web_log.records[0].exc_info is None  # a full disk is not a bug: no traceback filling the log


def test_it_names_a_full_sqlite_database_and_postgres_lock_errors(full_blob_disk: Path) -> None:
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from appliance.errors import Busy, DiskFull, infrastructure_error

    connection = sqlite3.connect(full_blob_disk / 'full.db')
    connection.execute('CREATE TABLE t (x BLOB)')
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(100):
            connection.execute('INSERT INTO t VALUES (?)', (b'x' * 100_000,))
            connection.commit()
    connection.close()
    wrapped = OperationalError('INSERT ...', {}, full.value)
    assert isinstance(infrastructure_error(wrapped), DiskFull)
    for error in (psycopg.errors.LockNotAvailable('x'), psycopg.errors.SerializationFailure('x')):
        assert isinstance(infrastructure_error(OperationalError('UPDATE ...', {}, error)), Busy)
    assert infrastructure_error(RuntimeError('database is locked')) is None  # only the drivers' own words count
