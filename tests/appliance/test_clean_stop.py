"""A clean stop leaves every commit in enclave.db itself: copied alone (without -wal), the file holds them."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import app
from appliance.db import get_database
from tests.conftest import PASSWORD, People
from tests.livesrv import complete_setup, create_api_token, http_client, start_server


def project_names(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute('SELECT name FROM projects_projects ORDER BY id')]


def test_it_merges_the_write_ahead_log_when_the_server_stops(tmp_path: Path) -> None:
    data = tmp_path / 'box'
    server = start_server(data)
    try:
        complete_setup(data, org_name='Acme', username='alice', display_name='Alice', password=PASSWORD)
        token = create_api_token(data, username='alice')
        with http_client(server.url) as client:
            created = client.post(
                '/api/v1/projects',
                json={'name': 'Written just before the stop', 'key': 'WAL'},
                headers={'Authorization': f'Bearer {token}'},
            )
        assert created.status_code == 201, created.text
    finally:
        server.stop()  # SIGTERM: uvicorn's clean shutdown
    # uvicorn shuts down cleanly on SIGTERM, then ends itself with the signal it caught.
    assert server.process.returncode in (0, -15), server.log_text()

    copy = tmp_path / 'copy'
    copy.mkdir()
    shutil.copy2(data / 'enclave.db', copy / 'enclave.db')  # the database file alone, as a careless copy takes it

    assert project_names(copy / 'enclave.db') == ['Written just before the stop']


def test_it_merges_the_write_ahead_log_when_a_command_ends(data_dir: Path, people: People, tmp_path: Path) -> None:
    get_database().dispose()  # only the command's own connections from here on

    result = CliRunner().invoke(app, ['user', 'disable', 'bob'])

    assert result.exit_code == 0, result.output
    assert not (data_dir / 'enclave.db-wal').exists() or (data_dir / 'enclave.db-wal').stat().st_size == 0
    copy = tmp_path / 'copy.db'
    shutil.copy2(data_dir / 'enclave.db', copy)
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT is_active FROM core_users WHERE username = 'bob'").fetchone() == (0,)
