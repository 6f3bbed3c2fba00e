"""The backup part's health checks: recent backups, a recent restore drill, repositories checked."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import HealthCheck
from console.backup import services

CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('backups', services.backups, N_('Backups')),
    HealthCheck('restore_drill', services.drills, N_('Restore drill')),
    HealthCheck('repositories', services.repositories, N_('Backup targets')),
    HealthCheck('snapshots', services.snapshot_health, N_('Snapshots')),
)
