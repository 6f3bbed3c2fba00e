"""Health checks for backups: the last successful backup of each target, the last proven restore, the last check.

Each is judged against its own schedule (console.schedule.freshness): late (amber) after one period plus an hour,
red after two, or at once when the last attempt failed. Disabled targets are left out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db import get_database, utcnow
from appliance.errors import N_
from appliance.extensions import Status
from appliance.i18n import format_datetime, gettext
from console.backup.services import runs, schedule
from console.models import Target

GREEN, AMBER, RED = Status.GREEN, Status.AMBER, Status.RED


def worst_of(statuses: list[Status]) -> Status:
    """red over amber over green."""
    return RED if RED in statuses else AMBER if AMBER in statuses else GREEN


def _targets(session: Session) -> list[Target]:
    return list(session.scalars(select(Target).where(Target.enabled.is_(True)).order_by(Target.name)))


def _when(value: datetime | None) -> str:
    return format_datetime(value) if value else gettext(N_('never'))


def _judge(
    session: Session, target: Target, *, kind: str, cron: str, now: datetime
) -> tuple[Status, datetime | None, str]:
    """(status, time of last success, error text of a failed last attempt)."""
    last = runs.last_run(session, target_id=target.id, kind=kind)
    good = runs.last_run(session, target_id=target.id, kind=kind, status='ok')
    limits = schedule.freshness(cron, now)
    if last is not None and last.status in ('failed', 'interrupted') and (good is None or good.id < last.id):
        return RED, good.finished_at if good else None, last.text() or last.status
    since = good.finished_at if good and good.finished_at else target.created_at
    age = now - since
    if age > limits.missing:
        return RED, good.finished_at if good else None, ''
    if age > limits.late or good is None:
        return AMBER, good.finished_at if good else None, ''
    return GREEN, good.finished_at, ''


def backups(now: datetime | None = None) -> tuple[Status, str]:
    """Every enabled target has a recent enough successful backup."""
    now = now or utcnow()
    with get_database().session(write=False) as session:
        targets = _targets(session)
        if not targets:
            return AMBER, gettext(N_('No backup target yet: nothing is backed up. Add one in Maintenance → Backups.'))
        results = [(t.name, *_judge(session, t, kind='backup', cron=t.backup_cron, now=now)) for t in targets]
    status = worst_of([item[1] for item in results])
    name, _status, when, error = next(item for item in results if item[1] == status)
    if error:
        return status, gettext(
            N_('The last backup to "{target}" failed: {error} Look at Maintenance → Backups.'), target=name, error=error
        )
    if status == RED:
        return status, gettext(
            N_('No successful backup to "{target}" since {when}: run one now and find out why the schedule missed.'),
            target=name,
            when=_when(when),
        )
    if status == AMBER:
        if when is None:
            return status, gettext(
                N_('No backup to "{target}" yet: press "Back up now" or wait for its schedule.'), target=name
            )
        return status, gettext(
            N_('The last backup to "{target}" is late (last: {when}).'), target=name, when=_when(when)
        )
    return status, gettext(
        N_('Every target has a recent backup (oldest: {when}).'), when=_when(min(i[2] for i in results if i[2]))
    )


def drills(now: datetime | None = None) -> tuple[Status, str]:
    """Last proven restore: a drill succeeded recently enough for every target, and the newest one did not fail."""
    now = now or utcnow()
    with get_database().session(write=False) as session:
        targets = _targets(session)
        if not targets:
            return AMBER, gettext(N_('No restore has been proven yet: add a backup target first.'))
        results = [(t.name, *_judge(session, t, kind='drill', cron=t.drill_cron, now=now)) for t in targets]
    status = worst_of([item[1] for item in results])
    name, _status, when, error = next(item for item in results if item[1] == status)
    if error:
        return status, gettext(N_('The last restore drill of "{target}" failed: {error}'), target=name, error=error)
    if status in (RED, AMBER) and when is None:
        return status, gettext(
            N_('No restore of "{target}" has been proven yet: run a restore drill in Maintenance → Backups.'),
            target=name,
        )
    if status in (RED, AMBER):
        return status, gettext(
            N_('The last proven restore of "{target}" is too old ({when}): run a restore drill.'),
            target=name,
            when=_when(when),
        )
    return status, gettext(N_('Last proven restore: {when}.'), when=_when(min(i[2] for i in results if i[2])))


def repositories(now: datetime | None = None) -> tuple[Status, str]:
    """`restic check` (and the read-back of data) passed recently enough on every enabled target."""
    now = now or utcnow()
    with get_database().session(write=False) as session:
        targets = _targets(session)
        if not targets:
            return GREEN, gettext(N_('No backup repository to check.'))
        results = []
        for t in targets:
            for kind, cron in (('check', t.check_cron), ('read_data', t.read_data_cron)):
                status, when, error = _judge(session, t, kind=kind, cron=cron, now=now)
                # Checks come weekly or monthly: never having run yet on a new target is no reason for alarm.
                if status == AMBER and when is None and not error:
                    status = GREEN
                results.append((t.name, status, when, error))
    status = worst_of([item[1] for item in results])
    name, _status, when, error = next(item for item in results if item[1] == status)
    if error:
        return status, gettext(N_('The repository of "{target}" failed its check: {error}'), target=name, error=error)
    if status != GREEN:
        return status, gettext(
            N_('The repository of "{target}" has not been checked since {when}.'), target=name, when=_when(when)
        )
    return GREEN, gettext(N_('The backup repositories passed their checks.'))
