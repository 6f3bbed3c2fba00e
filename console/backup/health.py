"""The backup part's health checks: recent backups, a recent restore drill, repositories checked."""

from __future__ import annotations

from appliance.modules import HealthCheck
from console.backup import services

CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('backups', services.backups),
    HealthCheck('restore_drill', services.drills),
    HealthCheck('repositories', services.repositories),
)
