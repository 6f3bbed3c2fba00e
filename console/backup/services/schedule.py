"""When backups, checks and drills run, and whether they ran recently enough.

The scheduler calls `tick` every minute (in its thread pool). For each enabled target and each kind of run, the
next time its crontab fires after the last such run (or after the target was added) is compared with now; a run
that is due is started. So a box that was off at 02:00 backs up when it comes back (like anacron), and a schedule
change takes effect at the next minute. Crontabs are read in the box's local time zone.

`freshness` turns a crontab into the age a last success may have before it is late (amber) or missing (red):
one period plus an hour of grace, and two periods plus an hour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import tzlocal
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.errors import ServiceError
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import runs
from console.backup.services.cronspec import apscheduler_crontab
from console.lock import Busy
from console.models import Target

log = logging.getLogger('enclave.console')

SCHEDULER = Operator(username='scheduler', display_name='Scheduler')
GRACE = timedelta(hours=1)
# (kind, the Target column holding its crontab), in the order they run when several are due at once.
SCHEDULED = (
    ('backup', 'backup_cron'),
    ('check', 'check_cron'),
    ('read_data', 'read_data_cron'),
    ('drill', 'drill_cron'),
)


def trigger(cron: str) -> CronTrigger:
    """The crontab read in the box's time zone (weekdays the standard cron way: 0 is Sunday)."""
    return CronTrigger.from_crontab(apscheduler_crontab(cron), timezone=tzlocal.get_localzone())


def next_after(cron: str, moment: datetime) -> datetime | None:
    """The first time the crontab fires after `moment`."""
    fire: datetime | None = trigger(cron).get_next_fire_time(None, moment + timedelta(seconds=1))
    return fire


def period(cron: str, now: datetime | None = None) -> timedelta:
    """The time between two upcoming fires of the crontab (a day for `0 2 * * *`)."""
    now = now or utcnow()
    first = next_after(cron, now)
    second = next_after(cron, first) if first else None
    if first is None or second is None:
        return timedelta(days=3650)
    return second - first


@dataclass(frozen=True)
class Freshness:
    """How old a last success may be before its check turns amber, and red."""

    late: timedelta
    missing: timedelta


def freshness(cron: str, now: datetime | None = None) -> Freshness:
    """One period plus grace is late; two periods plus grace is missing."""
    every = period(cron, now)
    return Freshness(late=every + GRACE, missing=2 * every + GRACE)


def due(now: datetime | None = None) -> list[tuple[str, str]]:
    """(target name, kind) of every run that is due now, in order."""
    now = now or utcnow()
    found: list[tuple[str, str]] = []
    with get_database().session(write=False) as session:
        targets = list(session.scalars(select(Target).where(Target.enabled.is_(True)).order_by(Target.name)))
        for target in targets:
            for kind, column in SCHEDULED:
                last = runs.last_run(session, target_id=target.id, kind=kind)
                since = last.started_at if last is not None else target.created_at
                fire = next_after(getattr(target, column), since)
                if fire is not None and fire <= now:
                    found.append((target.name, kind))
    return found


def _operation(kind: str) -> Callable[..., runs.RunView]:
    registry = current_registry()
    return {
        'backup': lambda target: runs.back_up(actor=SCHEDULER, registry=registry, target=target, trigger='schedule'),
        'check': lambda target: runs.check(actor=SCHEDULER, target=target, trigger='schedule'),
        'read_data': lambda target: runs.check(actor=SCHEDULER, target=target, read_data=True, trigger='schedule'),
        'drill': lambda target: runs.drill(actor=SCHEDULER, target=target, trigger='schedule'),
    }[kind]


def tick(now: datetime | None = None, data_dir: Path | None = None) -> list[runs.RunView]:
    """Run whatever is due. A maintenance task already running (a restore, a CLI backup) postpones the rest."""
    runs.mark_interrupted(data_dir or get_settings().data_dir)
    done: list[runs.RunView] = []
    for target, kind in due(now):
        try:
            done.append(_operation(kind)(target))
        except Busy:
            log.info('scheduled %s of %s postponed: another maintenance task is running', kind, target)
            break
        except ServiceError as error:
            log.warning('scheduled %s of %s failed: %s', kind, target, error)  # recorded in the history
    return done
