"""The license part's health checks: seats in use, and the license's expiry."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import HealthCheck
from console.license import services

CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('license_seats', services.seats_check, N_('License seats')),
    HealthCheck('license_expiry', services.expiry_check, N_('License expiry')),
)
