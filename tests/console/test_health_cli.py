"""`enclave health`: the console's checks on the command line, as text or JSON, exit code 1 when any is red."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from appliance.cli import app
from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.modules import current_registry
from console.health.services.sampler import write_heartbeat


@pytest.fixture(autouse=True)
def scheduler_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('ENCLAVE_SCHEDULER_ENABLED', 'true')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def enclave(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _beat(minutes_ago: float) -> None:
    with get_database().session() as session:
        write_heartbeat(session, utcnow() - timedelta(minutes=minutes_ago))


def test_it_prints_the_checks_as_json_and_exits_0_on_a_healthy_box() -> None:
    _beat(0)
    result = enclave('health', '--json')
    payload = json.loads(result.stdout)
    assert result.exit_code == 0, payload
    checks = {check['name']: check for check in payload['checks']}
    assert list(checks)[:2] == ['database', 'disk']
    assert checks['database'] == {
        'name': 'database',
        'status': 'green',
        'message': 'The database answers and its schema is current.',
    }
    assert checks['console.scheduler']['status'] == 'green'
    assert payload['status'] in ('green', 'amber')
    assert all(set(check) == {'name', 'status', 'message'} for check in payload['checks'])


def test_it_runs_the_checks_of_every_module_the_app_enables() -> None:
    _beat(0)
    result = enclave('health', '--json')
    names = {check['name'] for check in json.loads(result.stdout)['checks']}
    # operator_session builds the registry as the app does: the core, the console, then the enabled modules.
    expected = {f'{spec.name}.{check.name}' for spec in current_registry().modules() for check in spec.health_checks}
    assert expected and expected <= names
    assert {spec.name for spec in current_registry().modules()} >= {'core', 'console', 'projects', 'tasks'}


def test_it_exits_1_and_names_the_red_check_when_the_scheduler_stopped() -> None:
    _beat(12)
    result = enclave('health')
    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if 'console.scheduler' in line)
    assert line.startswith('RED') and 'The scheduler last ran 12 minutes ago' in line
    assert enclave('health', '--json').exit_code == 1
    assert json.loads(enclave('health', '--json').stdout)['status'] == 'red'


def test_it_refuses_to_check_a_database_with_pending_migrations() -> None:
    with get_database().engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '70bb5aac24e1'"))
    result = enclave('health')
    assert result.exit_code == 2
    assert 'enclave migrate' in result.stderr
