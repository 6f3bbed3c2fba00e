"""The logs part's health check: errors in the app log over the last hour."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import HealthCheck
from console.logs import services

CHECKS: tuple[HealthCheck, ...] = (HealthCheck('log_errors', services.error_rate, N_('Errors in the log')),)
