"""Health checks: green, amber and red with a sentence; a broken module check is red, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from appliance.core_module import CORE
from appliance.db import get_database
from appliance.modules import HealthCheck, ModuleSpec, Registry
from console.health.services.checks import AMBER, GREEN, RED, disk_space, run_checks, worst


def registry(*checks: HealthCheck) -> Registry:
    fresh = Registry()
    fresh.register(CORE)
    fresh.register(ModuleSpec(name='sample', label='Sample', health_checks=checks))
    return fresh


def test_it_is_green_on_a_healthy_box(data_dir: Path) -> None:
    checks = run_checks(data_dir=data_dir, registry=registry(HealthCheck('fine', lambda: (GREEN, 'All good.'))))
    assert [c.name for c in checks] == ['database', 'disk', 'sample.fine']
    assert checks[0].status == GREEN and checks[0].message == 'The database answers and its schema is current.'
    assert checks[2].status == GREEN


@pytest.mark.parametrize(('amber', 'red', 'status'), [(0.0, 0.0, GREEN), (1.01, 0.0, AMBER), (1.01, 1.01, RED)])
def test_it_grades_free_disk_space(data_dir: Path, amber: float, red: float, status: str) -> None:
    check = disk_space(data_dir, amber=amber, red=red)
    assert check.status == status
    assert 'GiB' in check.message


def test_it_is_red_with_the_reason_when_the_schema_is_behind(data_dir: Path) -> None:
    with get_database().engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '70bb5aac24e1'"))
    database = run_checks(data_dir=data_dir, registry=registry())[0]
    assert database.status == RED and 'enclave migrate' in database.message


def test_a_broken_module_check_is_red_and_the_others_still_run(data_dir: Path) -> None:
    def broken() -> tuple[str, str]:
        raise RuntimeError('sensor missing')

    checks = run_checks(
        data_dir=data_dir,
        registry=registry(
            HealthCheck('broken', broken),
            HealthCheck('odd', lambda: ('purple', 'what')),
            HealthCheck('fine', lambda: (AMBER, 'Queue is long.')),
        ),
    )
    by_name = {c.name: c for c in checks}
    assert by_name['sample.broken'].status == RED and 'sensor missing' in by_name['sample.broken'].message
    assert by_name['sample.odd'].status == RED
    assert (by_name['sample.fine'].status, by_name['sample.fine'].message) == (AMBER, 'Queue is long.')
    assert worst(checks) == RED
