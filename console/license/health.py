"""The license part's health checks: seats in use, and the license's expiry."""

from __future__ import annotations

from appliance.modules import HealthCheck
from console.license import services

CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('license_seats', services.seats_check),
    HealthCheck('license_expiry', services.expiry_check),
)
