"""Wiring of the console's license part: pages, jobs, health checks, protected paths, contributions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from appliance.db import get_database
from appliance.errors import N_
from appliance.i18n import gettext
from appliance.modules import HealthCheck, NavItem, ScheduledJob
from console import licensing
from console.license import FREE_SEATS

GREEN, AMBER, RED = 'green', 'amber', 'red'
SEATS_AMBER = 0.9  # share of the seat limit in use from which the seats check turns amber
EXPIRY_AMBER_DAYS = 30

NAV: tuple[NavItem, ...] = (NavItem(N_('License'), '/console/license', 'verified', 'console.manage'),)
JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        id='console.license_clock',
        func=licensing.record_today,
        trigger='interval',
        # Daily, and once shortly after start-up, so the clock's high-water mark follows the calendar.
        trigger_args={'hours': 24, 'next_run_time': datetime.now(UTC) + timedelta(seconds=60)},
    ),
)
PROTECTED_PATHS: tuple[str, ...] = ('/console/license',)
CONTRIBUTES: dict[str, tuple[Any, ...]] = {'core.seat_guard': (licensing.seat_guard,)}


def _status() -> licensing.LicenseStatus:
    with get_database().session() as session:
        return licensing.current_status(session)


def seats_check(status: licensing.LicenseStatus | None = None) -> tuple[str, str]:
    """Seats in use against the limit: amber from 90%, red when over it (e.g. after the license expired)."""
    status = status or _status()
    used, limit = status.seats_used, status.seat_limit
    if used > limit:
        return RED, gettext(
            N_(
                '{used} active users, more than the {limit} seats allowed: everyone can still sign in, but no account '
                'can be created or enabled. Disable accounts you no longer need, or install an activation code for '
                'more seats in Maintenance → License.'
            ),
            used=used,
            limit=limit,
        )
    if used >= SEATS_AMBER * limit:
        return AMBER, gettext(
            N_(
                '{used} of {limit} seats in use: disable accounts you no longer need, or ask the vendor for more '
                'seats before the team grows.'
            ),
            used=used,
            limit=limit,
        )
    return GREEN, gettext(N_('{used} of {limit} seats in use.'), used=used, limit=limit)


def expiry_check(status: licensing.LicenseStatus | None = None) -> tuple[str, str]:
    """The license's expiry: amber within 30 days, red once expired with more active users than the free limit.

    A clock that reads earlier than a date the box has already seen is at least amber, with what to check."""
    status = status or _status()
    level, message = _expiry(status)
    if not status.clock_behind:
        return level, message
    clock = gettext(
        N_(
            "The server's clock reads a date before {seen}, a date it has already seen, so the license is judged on "
            '{seen}: check the time settings (NTP) of this server.'
        ),
        seen=status.today.isoformat(),
    )
    return (AMBER if level == GREEN else level), f'{message} {clock}'


def _expiry(status: licensing.LicenseStatus) -> tuple[str, str]:
    if status.problem is not None:
        return (RED if status.seats_used > FREE_SEATS else AMBER), gettext(
            N_(
                'The installed activation code does not verify ({reason}), so the free limit of {free} seats applies. '
                'Install the code the vendor sent again in Maintenance → License.'
            ),
            reason=gettext(status.problem.message, **status.problem.params),
            free=FREE_SEATS,
        )
    if not status.licensed:
        return GREEN, gettext(
            N_('No activation code is installed: the free limit of {free} seats applies.'), free=FREE_SEATS
        )
    days = status.days_left
    if days is None:
        return GREEN, gettext(N_('The license for {licensee} does not expire.'), licensee=status.licensee)
    if status.expired:
        return (RED if status.seats_used > FREE_SEATS else AMBER), gettext(
            N_(
                'The license expired on {date}: the free limit of {free} seats applies and {used} users are active. '
                'Nobody is locked out; install a renewed activation code in Maintenance → License.'
            ),
            date=status.expires,
            free=FREE_SEATS,
            used=status.seats_used,
        )
    if days <= EXPIRY_AMBER_DAYS:
        return AMBER, gettext(
            N_(
                'The license expires on {date}, in {days} days: ask the vendor for a renewal and install it in '
                'Maintenance → License.'
            ),
            date=status.expires,
            days=days,
        )
    return GREEN, gettext(N_('The license runs until {date}.'), date=status.expires)


CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck('license_seats', seats_check),
    HealthCheck('license_expiry', expiry_check),
)


def register_pages() -> None:
    """Register this part's /console pages."""
    from console.pages_license import register  # imports nicegui: only when pages are built

    register()
