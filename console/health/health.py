"""The health part's own check: the scheduler is alive."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import HealthCheck
from console.health import services

CHECKS: tuple[HealthCheck, ...] = (HealthCheck('scheduler', services.scheduler_alive, N_('Scheduler')),)
