"""Health checks: each says green, amber or red and, when not green, what to do in a sentence.

`run_checks` gives the core's checks (database, schema, free disk space on the data volume) followed by every
module's own `HealthCheck`s; a check that crashes is red with its error, never a crash of the whole report.
The console's own checks (scheduler alive here; backups, drill, repository, license and the app log in their
parts) arrive as the console's registry health checks, like any module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from appliance import diskspace
from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.errors import N_
from appliance.extensions import Status
from appliance.i18n import gettext
from appliance.migrate import schema_state
from appliance.modules import Registry
from console.health.services.sampler import read_heartbeat

GREEN, AMBER, RED = Status.GREEN, Status.AMBER, Status.RED
DISK_AMBER = diskspace.AMBER_FREE  # free share of the data volume below which the disk check turns amber (90% used)
DISK_RED = diskspace.RED_FREE  # red at 95% used, or when uploads stop (less than twice the disk reserve free)
HEARTBEAT_RED = timedelta(minutes=5)  # the sampler beats every minute; five missed beats mean the scheduler stopped


@dataclass(frozen=True)
class Check:
    """The result of one check, its sentence in the reader's language."""

    name: str
    status: Status
    message: str


def disk_space(data_dir: Path, *, amber: float = DISK_AMBER, red: float = DISK_RED) -> Check:
    """Free space on the volume that holds the data dir."""
    usage = diskspace.space(data_dir)
    free = usage.free / usage.total if usage.total else 0.0
    gib = usage.free / 2**30
    level = diskspace.grade(usage, amber=amber, red=red)
    if level == 'full':
        return Check(
            'disk',
            RED,
            gettext(
                N_(
                    'Only {gib} GiB ({pct}%) free on the data volume: free space now, or uploads and backups will fail.'
                ),
                gib=f'{gib:.1f}',
                pct=round(free * 100),
            ),
        )
    if level == 'low':
        return Check(
            'disk',
            AMBER,
            gettext(
                N_('{gib} GiB ({pct}%) free on the data volume: plan more space.'),
                gib=f'{gib:.1f}',
                pct=round(free * 100),
            ),
        )
    return Check('disk', GREEN, gettext(N_('{gib} GiB free on the data volume.'), gib=f'{gib:.1f}'))


@dataclass(frozen=True)
class Cleanup:
    """What the next blob collection would free, and whether the disk reserve is held."""

    unused_files: int
    unused_bytes: int
    interrupted_uploads: int
    interrupted_bytes: int
    reserve_bytes: int  # 0 while released (the disk filled) or not yet made

    @property
    def bytes(self) -> int:
        """Everything the collection would free."""
        return self.unused_bytes + self.interrupted_bytes


def cleanup_preview(data_dir: Path) -> Cleanup:
    """A dry run of the scheduled blob collection (same grace periods) and the reserve's state; walks the store."""
    from appliance.blobstore import get_blobstore

    report = get_blobstore().collect(get_database(), dry_run=True)
    reserve = diskspace.reserve_path(data_dir)
    return Cleanup(
        unused_files=report.blobs_removed,
        unused_bytes=report.blob_bytes_freed,
        interrupted_uploads=report.temp_files_removed,
        interrupted_bytes=report.temp_bytes_freed,
        reserve_bytes=reserve.stat().st_size if reserve.is_file() else 0,
    )


def database() -> Check:
    """The database answers, and its schema is the one this version expects."""
    try:
        engine = get_database().engine
        with engine.connect() as connection:
            connection.execute(text('SELECT 1'))
        state = schema_state(engine)
    except Exception as error:  # noqa: BLE001 - any failure to reach the database is the finding
        return Check('database', RED, gettext(N_('The database does not answer: {error}'), error=str(error)[:200]))
    if not state.up_to_date:
        return Check('database', RED, state.message)
    return Check('database', GREEN, gettext(N_('The database answers and its schema is current.')))


def scheduler_alive(*, now: datetime | None = None) -> tuple[Status, str]:
    """The scheduler ran a job lately (its heartbeat, written by the sampler every minute, is recent)."""
    if not get_settings().scheduler_enabled:
        return AMBER, gettext(
            N_(
                'The scheduler is turned off (scheduler_enabled = false): scheduled backups, checks and drills do '
                'not run. Turn it on in the configuration unless another machine runs them.'
            )
        )
    with get_database().session(write=False) as session:
        beat = read_heartbeat(session)
    if beat is None:
        return AMBER, gettext(
            N_('The scheduler has not reported yet; it does a minute after start. If this stays, restart Enclave.')
        )
    age = (now or utcnow()) - beat
    minutes = max(0, int(age.total_seconds() // 60))
    if age > HEARTBEAT_RED:
        return RED, gettext(
            N_(
                'The scheduler last ran {minutes} minutes ago: scheduled backups and checks are not running. '
                'Restart Enclave and look at its log.'
            ),
            minutes=minutes,
        )
    return GREEN, gettext(N_('The scheduler is running (last run {minutes} min ago).'), minutes=minutes)


def _guarded(name: str, run: Callable[..., tuple[str, str]]) -> Check:
    try:
        status, message = run()
    except Exception as error:  # noqa: BLE001 - a broken check must not hide the others
        return Check(name, RED, gettext(N_('The check failed: {error}'), error=str(error)[:200]))
    if status not in (GREEN, AMBER, RED):
        return Check(name, RED, gettext(N_('The check answered an unknown status "{status}".'), status=status))
    return Check(name, Status(status), message)


CORE_TITLES = {'database': N_('Database'), 'disk': N_('Disk space')}


def check_titles(registry: Registry) -> dict[str, str]:
    """{check name: its title (a msgid)} for the core's checks and every module's that has one."""
    titles = dict(CORE_TITLES)
    for spec in registry.modules():
        titles.update({f'{spec.name}.{check.name}': check.title for check in spec.health_checks if check.title})
    return titles


def run_checks(*, data_dir: Path, registry: Registry) -> list[Check]:
    """The core's checks, then each module's, in module order."""
    checks = [database(), disk_space(data_dir)]
    for spec in registry.modules():
        checks.extend(_guarded(f'{spec.name}.{check.name}', check.run) for check in spec.health_checks)
    return checks


def worst(checks: list[Check]) -> Status:
    """red if any check is red, else amber if any is amber, else green."""
    statuses = {check.status for check in checks}
    return RED if RED in statuses else AMBER if AMBER in statuses else GREEN
