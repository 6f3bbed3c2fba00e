"""The maintenance console: backups (restic), restores, drills, health, the offline license, the certificate and the
logs (issue 4). A built-in module, registered right after the core and before any module; it never names a module.

This file is the declaration only. Each part (`console/<part>/`) has the shape of a module: `services/` (its public
surface), `pages/` (`register()`), and the hooks with fixed names the loader finds (`cli.py`, `health.py`, `jobs.py`,
`backup.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from appliance.errors import N_
from appliance.modules import BackupHooks, HealthCheck, ModuleSpec, NavItem, Permission, ScheduledJob
from console.health.services import red_banner
from console.license.services import seat_guard

PERMISSION = 'console.manage'
PARTS = ('backup', 'health', 'license', 'certificate', 'logs')
# The order the console has always shown its health checks in and started its jobs (the health part first).
_HOOK_ORDER = ('health', 'backup', 'license', 'certificate', 'logs')


def _hooks(hook: str, name: str, parts: tuple[str, ...] = _HOOK_ORDER) -> Iterator[Any]:
    """`console.<part>.<hook>.<name>` of each part that has that hook file."""
    for part in parts:
        try:
            module = importlib.import_module(f'console.{part}.{hook}')
        except ModuleNotFoundError as exc:
            if exc.name != f'console.{part}.{hook}':
                raise
            continue
        yield getattr(module, name)


def _register_pages() -> None:
    for register in _hooks('pages', 'register'):
        register()


def _backup_hooks() -> BackupHooks:
    tables = [table for hooks in _hooks('backup', 'BACKUP', ('backup', 'license', 'health')) for table in hooks.tables]
    return BackupHooks(tables=tuple(tables))


_CHECKS: tuple[HealthCheck, ...] = tuple(check for checks in _hooks('health', 'CHECKS') for check in checks)
_JOBS: tuple[ScheduledJob, ...] = tuple(job for jobs in _hooks('jobs', 'JOBS') for job in jobs)

MODULE = ModuleSpec(
    name='console',
    label=N_('Maintenance'),
    permissions=(Permission(PERMISSION, N_('Run the maintenance console: backups, restores, health, license')),),
    nav=(
        NavItem(N_('Maintenance'), '/console', 'monitor_heart', PERMISSION),
        NavItem(N_('Backups'), '/console/backups', 'backup', PERMISSION),
        NavItem(N_('License'), '/console/license', 'verified', PERMISSION),
        NavItem(N_('Certificate'), '/console/certificate', 'lock', PERMISSION),
        NavItem(N_('Logs'), '/console/logs', 'article', PERMISSION),
        NavItem(N_('Support bundle'), '/console/support', 'support', PERMISSION),
    ),
    protected_paths=(
        '/console',
        '/console/backups',
        '/console/license',
        '/console/certificate',
        '/console/logs',
        '/console/support',
    ),
    contributes={'core.banners': (red_banner,), 'core.seat_guard': (seat_guard,)},
    # Until the loader finds the parts' hooks by their fixed names, the spec gathers them itself.
    register_pages=_register_pages,
    backup_hooks=_backup_hooks(),
    health_checks=_CHECKS,
    jobs=_JOBS,
)
