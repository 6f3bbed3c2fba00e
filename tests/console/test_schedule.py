"""The schedule tick and the freshness of backups, drills and checks, with real runs and a real repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from console.backup.services import checks as backup_checks
from console.backup.services import schedule
from console.lock import maintenance_lock
from console.models import Run, Target
from tests.console.backup_support import add_target, arrange
from tests.modules.conftest import Team


def age_target(days: float) -> None:
    with get_database().session() as session:
        session.execute(update(Target).values(created_at=utcnow() - timedelta(days=days)))


def kinds_done() -> list[tuple[str, str, str]]:
    with get_database().session() as session:
        return [(r.kind, r.status, r.trigger) for r in session.scalars(select(Run).order_by(Run.id))]


def test_nothing_is_due_right_after_a_target_is_added(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    assert schedule.due() == []
    assert schedule.tick() == []


def test_a_missed_night_is_caught_up_in_order_backup_before_drill(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=2)
    add_target(team.alice, tmp_path / 'usb')
    age_target(8)  # the box was off: every schedule fired at least once since
    due = schedule.due()
    assert due[0] == ('usb', 'backup')
    assert {('usb', 'check'), ('usb', 'drill')} <= set(due)  # weekly; the monthly read-back depends on the date
    done = schedule.tick()
    assert done[0].kind == 'backup'
    assert all(view.status == 'ok' for view in done)
    assert ('drill', 'ok', 'schedule') in kinds_done()
    assert ('forget', 'ok', 'schedule') in kinds_done()
    # Done for now: the next tick starts nothing.
    assert schedule.tick() == []
    assert backup_checks.backups()[0] == 'green'
    assert backup_checks.drills()[0] == 'green'


def test_a_tick_postpones_while_another_task_holds_the_lock(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    age_target(2)
    with maintenance_lock(get_settings().data_dir, 'restore'):
        assert schedule.tick() == []
    assert kinds_done() == []
    assert ('usb', 'backup') in schedule.due()


def test_a_paused_target_is_not_scheduled_nor_judged(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    age_target(30)
    with get_database().session() as session:
        session.execute(update(Target).values(enabled=False))
    assert schedule.due() == []


def test_freshness_follows_the_schedule() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    daily = schedule.freshness('0 2 * * *', now)
    assert (daily.late, daily.missing) == (timedelta(hours=25), timedelta(hours=49))
    weekly = schedule.freshness('0 5 * * 6', now)
    assert weekly.late == timedelta(days=7, hours=1)


def test_the_backup_check_turns_amber_then_red_as_the_last_backup_ages(team: Team, tmp_path: Path) -> None:
    assert backup_checks.backups()[0] == 'amber'  # no target: nothing is backed up
    add_target(team.alice, tmp_path / 'usb')
    assert backup_checks.backups()[0] == 'amber'  # new: waiting for its first night
    target_id = 0
    with get_database().session() as session:
        target_id = session.scalars(select(Target.id)).one()
        finished = utcnow() - timedelta(hours=2)
        session.add(
            Run(
                target_id=target_id,
                target_name='usb',
                kind='backup',
                status='ok',
                started_at=finished,
                finished_at=finished,
            )
        )
    assert backup_checks.backups()[0] == 'green'
    for hours, expected in ((30, 'amber'), (60, 'red')):
        with get_database().session() as session:
            moment = utcnow() - timedelta(hours=hours)
            session.execute(update(Run).values(started_at=moment, finished_at=moment))
        status, message = backup_checks.backups()
        assert status == expected, message
    with get_database().session() as session:
        session.add(
            Run(
                target_id=target_id,
                target_name='usb',
                kind='backup',
                status='failed',
                message='The backup disk is full.',
                details='{}',
            )
        )
    status, message = backup_checks.backups()
    assert status == 'red' and 'failed' in message
