"""The "scheduler alive" check: the sampler's heartbeat, red after five silent minutes, amber when turned off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.modules import current_registry
from console.health.health import CHECKS as HEALTH_CHECKS
from console.health.services.checks import AMBER, GREEN, RED, run_checks, scheduler_alive
from console.health.services.sampler import take_sample, write_heartbeat


@pytest.fixture
def scheduler_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The scheduler enabled, as on a real box (the tests turn it off by default)."""
    monkeypatch.setenv('ENCLAVE_SCHEDULER_ENABLED', 'true')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _beat(minutes_ago: float) -> None:
    with get_database().session() as session:
        write_heartbeat(session, utcnow() - timedelta(minutes=minutes_ago))


def test_it_is_green_right_after_a_sample(scheduler_on: None, data_dir: Path) -> None:
    take_sample(data_dir, get_database())
    status, message = scheduler_alive()
    assert status == GREEN
    assert message == 'The scheduler is running (last run 0 min ago).'


def test_it_is_red_after_five_minutes_without_a_heartbeat(scheduler_on: None) -> None:
    _beat(4.5)
    assert scheduler_alive()[0] == GREEN
    _beat(6)
    status, message = scheduler_alive()
    assert status == RED
    assert message.startswith('The scheduler last ran 6 minutes ago')
    assert 'Restart Enclave' in message


def test_it_is_amber_before_the_first_heartbeat(scheduler_on: None) -> None:
    status, message = scheduler_alive()
    assert status == AMBER and 'has not reported yet' in message


def test_it_is_amber_and_says_backups_are_off_when_the_scheduler_is_turned_off(data_dir: Path) -> None:
    _beat(60)  # long silent, but nobody expects it to run
    status, message = scheduler_alive()
    assert status == AMBER
    assert 'scheduled backups' in message and 'scheduler_enabled = false' in message


def test_it_is_among_the_checks_the_console_runs(scheduler_on: None, data_dir: Path) -> None:
    _beat(10)
    assert 'scheduler' in {check.name for check in HEALTH_CHECKS}
    checks = {check.name: check for check in run_checks(data_dir=data_dir, registry=current_registry())}
    assert checks['console.scheduler'].status == RED
    assert checks['database'].status == GREEN  # the schema check (pending migrations) stays first
