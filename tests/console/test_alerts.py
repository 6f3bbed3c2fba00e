"""Alerts: one log line and one notification (e-mailed through a real SMTP relay) per change into or out of red."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.models import Notification, User
from appliance.modules import HealthCheck, ModuleSpec, Registry
from appliance.services import mail
from console.health.jobs import JOBS as HEALTH_JOBS
from console.health.services import alerts
from console.health.services import checks as health
from console.health.services.sampler import write_heartbeat
from console.models import CheckState
from tests.modules.conftest import Team

CHECK = 'sample.scheduler'


@dataclass
class Sink:
    """An SMTP handler that keeps what it receives."""

    received: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return '250 OK'


@pytest.fixture
def relay(team: Team) -> Iterator[Sink]:
    """A real SMTP server on 127.0.0.1, configured as the intranet relay; alice (admin) and bob have addresses."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = int(probe.getsockname()[1])
    sink = Sink()
    controller = Controller(sink, hostname='127.0.0.1', port=port)
    controller.start()
    with get_database().session() as session:
        alice = session.get(User, team.alice.id)
        assert alice is not None
        config = mail.MailSettings(
            enabled=True,
            host='127.0.0.1',
            port=port,
            security='none',
            from_address='enclave@example.lan',
            site_url='https://enclave.example.lan',
        )
        mail.save(session=session, actor=alice, config=config)
    _set_email(team.alice, 'alice@example.lan')
    _set_email(team.bob, 'bob@example.lan')
    yield sink
    controller.stop()


@pytest.fixture(autouse=True)
def scheduler_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('ENCLAVE_SCHEDULER_ENABLED', 'true')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _set_email(user: User, address: str) -> None:
    with get_database().session() as session:
        session.execute(update(User).where(User.id == user.id).values(email=address))


def _registry() -> Registry:
    """The core and a module whose one check is the real scheduler check, which the tests turn red and green."""
    from appliance.core_module import CORE

    fresh = Registry()
    fresh.register(CORE)
    fresh.register(
        ModuleSpec(name='sample', label='Sample', health_checks=(HealthCheck('scheduler', health.scheduler_alive),))
    )
    return fresh


def _beat(minutes_ago: float) -> None:
    with get_database().session() as session:
        write_heartbeat(session, utcnow() - timedelta(minutes=minutes_ago))


def _evaluate(data_dir: Path) -> list[alerts.Change]:
    return alerts.evaluate(data_dir=data_dir, registry=_registry())[1]


def _notifications() -> list[tuple[int, str, str]]:
    with get_database().session() as session:
        return [(n.user_id, n.kind, n.title) for n in session.scalars(select(Notification).order_by(Notification.id))]


def _alert_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == 'enclave.alerts']


def test_it_alerts_once_when_a_check_turns_red_and_once_when_it_recovers(
    team: Team, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger='enclave.alerts')
    _beat(1)
    assert _evaluate(data_dir) == []  # first seen green: nothing to say
    _beat(10)
    (change,) = _evaluate(data_dir)
    assert (change.name, change.before, change.after) == (CHECK, health.GREEN, health.RED)
    for _minute in range(3):  # the next minutes: still red, nothing new
        assert _evaluate(data_dir) == []
    assert _notifications() == [(team.alice.id, alerts.KIND_RED, CHECK)]  # the admin only, once
    ((level, line),) = _alert_lines(caplog)
    assert level == logging.WARNING and line.startswith(f'health check {CHECK} is red: The scheduler last ran 10')

    _beat(0)
    (recovered,) = _evaluate(data_dir)
    assert (recovered.before, recovered.after) == (health.RED, health.GREEN)
    assert _evaluate(data_dir) == []
    assert _notifications()[1:] == [(team.alice.id, alerts.KIND_RECOVERED, CHECK)]
    assert _alert_lines(caplog)[1][0] == logging.INFO and 'recovered' in _alert_lines(caplog)[1][1]
    with get_database().session() as session:
        state = session.get(CheckState, CHECK)
        assert state is not None and state.status == health.GREEN and state.alerted_at is not None


def test_a_check_red_when_first_seen_alerts(team: Team, data_dir: Path) -> None:
    _beat(30)
    (change,) = _evaluate(data_dir)
    assert (change.before, change.after) == ('', health.RED)
    with get_database().session() as session:
        assert alerts.red_count(session) == 1


def test_it_mails_the_admins_once_per_change_through_the_relay(team: Team, relay: Sink, data_dir: Path) -> None:
    _beat(10)
    _evaluate(data_dir)
    _evaluate(data_dir)
    assert mail.deliver_pending().sent == 1
    ((rcpt, message),) = relay.received
    assert rcpt == ['alice@example.lan']  # bob has an address but is no admin
    assert message['Subject'] == f'Health check {CHECK} is red'
    body = message.get_content()
    assert 'The scheduler last ran 10 minutes ago' in body and 'https://enclave.example.lan/console' in body

    _evaluate(data_dir)  # a minute later, still red: no second mail
    assert mail.deliver_pending().sent == 0
    _beat(0)
    _evaluate(data_dir)
    assert mail.deliver_pending().sent == 1
    assert relay.received[1][1]['Subject'] == f'Health check {CHECK} is no longer red'
    assert len(relay.received) == 2


def test_an_admin_without_an_address_is_told_in_the_app_only(team: Team, relay: Sink, data_dir: Path) -> None:
    _set_email(team.alice, '')
    _beat(10)
    _evaluate(data_dir)
    assert mail.deliver_pending().sent == 0
    assert relay.received == []
    assert _notifications() == [(team.alice.id, alerts.KIND_RED, CHECK)]


def test_it_forgets_checks_that_no_longer_exist(team: Team, data_dir: Path) -> None:
    with get_database().session() as session:
        session.add(CheckState(name='gone.module_check', status=health.RED, message='was red'))
    _beat(1)
    _evaluate(data_dir)
    with get_database().session() as session:
        assert [state.name for state in alerts.stored_states(session)] == [
            'database',
            'disk',
            CHECK,
        ]
        assert alerts.red_count(session) == 0


def test_the_alert_job_runs_every_minute_with_the_console_checks(team: Team, data_dir: Path) -> None:
    jobs = {job.id: job for job in HEALTH_JOBS}
    assert jobs['console.health_alerts'].trigger_args == {'seconds': 60}
    _beat(10)
    jobs['console.health_alerts'].func()
    with get_database().session() as session:
        states = {state.name: state.status for state in alerts.stored_states(session)}
    assert states['console.scheduler'] == health.RED
    assert states['database'] == health.GREEN
