"""The console's declaration: registered right after the core, before any module (it never names a module).

Each part of the console (backup, health, license, certificate, logs) keeps its wiring in its own `*_area` module:
the pages it registers, its scheduled jobs, its health checks and its contributions to the core's extension points.
"""

from __future__ import annotations

from typing import Any

from appliance.errors import N_
from appliance.modules import BackupHooks, ModuleSpec, NavItem, Permission
from console import backup_area, certificate_area, health_area, license_area, logs_area

AREAS = (health_area, backup_area, license_area, certificate_area, logs_area)


def _register_pages() -> None:
    for area in AREAS:
        area.register_pages()


def _contributions() -> dict[str, tuple[Any, ...]]:
    merged: dict[str, tuple[Any, ...]] = {}
    for area in AREAS:
        for point, items in area.CONTRIBUTES.items():
            merged[point] = merged.get(point, ()) + tuple(items)
    return merged


CONSOLE = ModuleSpec(
    name='console',
    label=N_('Maintenance'),
    permissions=(Permission('console.manage', N_('Run the maintenance console: backups, restores, health, license')),),
    nav=tuple(item for area in AREAS for item in area.NAV),
    register_pages=_register_pages,
    backup_hooks=BackupHooks(
        tables=(
            'console_targets',
            'console_runs',
            'console_licenses',
            'console_state',
            'console_health_samples',
            'console_check_states',
        )
    ),
    health_checks=tuple(check for area in AREAS for check in area.CHECKS),
    jobs=tuple(job for area in AREAS for job in area.JOBS),
    protected_paths=tuple(path for area in AREAS for path in area.PROTECTED_PATHS),
    contributes=_contributions(),
)

__all__ = ['CONSOLE', 'NavItem']
