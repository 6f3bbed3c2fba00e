"""The license's health checks: seats in use against the limit, and the license's expiry."""

from __future__ import annotations

from appliance.db import get_database
from appliance.errors import N_
from appliance.extensions import Status
from appliance.i18n import gettext
from console.license.services.codes import FREE_SEATS
from console.license.services.licensing import LicenseStatus, current_status

SEATS_AMBER = 0.9  # share of the seat limit in use from which the seats check turns amber
EXPIRY_AMBER_DAYS = 30


def _status() -> LicenseStatus:
    with get_database().session(write=False) as session:
        return current_status(session)


def seats_check(status: LicenseStatus | None = None) -> tuple[Status, str]:
    """Seats in use against the limit: amber from 90%, red when over it (e.g. after the license expired)."""
    status = status or _status()
    used, limit = status.seats_used, status.seat_limit
    if used > limit:
        return Status.RED, gettext(
            N_(
                '{used} active users, more than the {limit} seats allowed: everyone can still sign in, but no account '
                'can be created or enabled. Disable accounts you no longer need, or install an activation code for '
                'more seats in Maintenance → License.'
            ),
            used=used,
            limit=limit,
        )
    if used >= SEATS_AMBER * limit:
        return Status.AMBER, gettext(
            N_(
                '{used} of {limit} seats in use: disable accounts you no longer need, or ask the vendor for more '
                'seats before the team grows.'
            ),
            used=used,
            limit=limit,
        )
    return Status.GREEN, gettext(N_('{used} of {limit} seats in use.'), used=used, limit=limit)


def expiry_check(status: LicenseStatus | None = None) -> tuple[Status, str]:
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
    return (Status.AMBER if level == Status.GREEN else level), f'{message} {clock}'


def _expiry(status: LicenseStatus) -> tuple[Status, str]:
    if status.problem is not None:
        return (Status.RED if status.seats_used > FREE_SEATS else Status.AMBER), gettext(
            N_(
                'The installed activation code does not verify ({reason}), so the free limit of {free} seats applies. '
                'Install the code the vendor sent again in Maintenance → License.'
            ),
            reason=gettext(status.problem.message, **status.problem.params),
            free=FREE_SEATS,
        )
    if not status.licensed:
        return Status.GREEN, gettext(
            N_('No activation code is installed: the free limit of {free} seats applies.'), free=FREE_SEATS
        )
    days = status.days_left
    if days is None:
        return Status.GREEN, gettext(N_('The license for {licensee} does not expire.'), licensee=status.licensee)
    if status.expired:
        return (Status.RED if status.seats_used > FREE_SEATS else Status.AMBER), gettext(
            N_(
                'The license expired on {date}: the free limit of {free} seats applies and {used} users are active. '
                'Nobody is locked out; install a renewed activation code in Maintenance → License.'
            ),
            date=status.expires,
            free=FREE_SEATS,
            used=status.seats_used,
        )
    if days <= EXPIRY_AMBER_DAYS:
        return Status.AMBER, gettext(
            N_(
                'The license expires on {date}, in {days} days: ask the vendor for a renewal and install it in '
                'Maintenance → License.'
            ),
            date=status.expires,
            days=days,
        )
    return Status.GREEN, gettext(N_('The license runs until {date}.'), date=status.expires)
