"""The license part's public surface: activation codes (`codes`), the installed license and the seat limit
(`licensing`), and the license's health checks. Pages, the CLI and other parts import only this package."""

from __future__ import annotations

from console.license.services.checks import expiry_check, seats_check
from console.license.services.codes import FREE_SEATS, License, LicenseError, issue, verify
from console.license.services.licensing import (
    MAX_TEXT,
    LicenseStatus,
    SeatLimitReached,
    current_status,
    history,
    install,
    lic_file_text,
    record_today,
    seat_guard,
)

__all__ = [
    'FREE_SEATS',
    'MAX_TEXT',
    'License',
    'LicenseError',
    'LicenseStatus',
    'SeatLimitReached',
    'current_status',
    'expiry_check',
    'history',
    'install',
    'issue',
    'lic_file_text',
    'record_today',
    'seat_guard',
    'seats_check',
    'verify',
]
