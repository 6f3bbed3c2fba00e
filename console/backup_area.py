"""Wiring of the console's backup part: the Backups page, the schedule tick, the backup health checks."""

from __future__ import annotations

from typing import Any

from appliance.errors import N_
from appliance.modules import HealthCheck, NavItem, ScheduledJob
from console import backup_checks

PERMISSION = 'console.manage'


def _tick() -> None:
    from console import schedule

    schedule.tick()


NAV: tuple[NavItem, ...] = (NavItem(N_('Backups'), '/console/backups', 'backup', PERMISSION),)
# Every minute: start whatever backup, check or drill is due (in the scheduler's thread pool, off the event loop).
JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(id='console.backup_schedule', func=_tick, trigger='interval', trigger_args={'seconds': 60}),
)
CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('backups', backup_checks.backups),
    HealthCheck('restore_drill', backup_checks.drills),
    HealthCheck('repositories', backup_checks.repositories),
)
PROTECTED_PATHS: tuple[str, ...] = ('/console/backups',)
CONTRIBUTES: dict[str, tuple[Any, ...]] = {}


def register_pages() -> None:
    """Register the /console/backups page."""
    import console.pages_backup as pages_backup  # pages import nicegui: only when the app builds its pages

    pages_backup.register()
