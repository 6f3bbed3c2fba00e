"""The license in force: installing activation codes, the seat limit, and a clock that cannot be set back.

The newest row of `console_licenses` is the license in force; its code is verified again each time the status is
read, so an edited row counts for nothing. Expiry is judged against the later of today and the latest date this
box has seen (the clock's high-water mark in `console_state`), so setting the clock back never extends a license.
Nothing here ever locks anyone out: an expired license falls back to the free limit, sign-in always works, and the
limit is only enforced when an account would be created or enabled (the core's 'core.seat_guard' point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.db import get_database, session_intent, utcnow
from appliance.errors import N_, Conflict
from appliance.models import User
from appliance.secrets import install_id as read_install_id
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.license.services import codes
from console.license.services.codes import FREE_SEATS, License, LicenseError
from console.models import License as LicenseRow
from console.models import State

HIGH_WATER_KEY = 'clock.high_water'
LIC_HEADER = '# Enclave activation code'
MAX_TEXT = 64 * 1024  # a code is a few hundred characters; anything this big is not a .lic file

# The key codes must be signed with. Production never changes it, so only the vendor's codes count; the tests
# point it at the test key pair under tests/ (and check that the shipped key refuses the test key's codes).
public_key: Callable[[], Ed25519PublicKey] = codes.vendor_key


class SeatLimitReached(Conflict):
    """Creating or enabling an account would pass the seat limit; the message gives the numbers and what to do."""

    code = 'seat_limit'


@dataclass(frozen=True)
class LicenseStatus:
    """What the console shows about the license, as judged on `today` (the clock's high-water mark at least)."""

    licensee: str
    license_id: str
    seats: int  # seats the license grants, 0 when none is installed
    seat_limit: int  # seats in force today
    seats_used: int  # active users
    issued: str
    expires: str  # ISO date, '' for never
    expired: bool
    install_id: str
    today: date  # the date the license is judged on
    clock_behind: bool  # the box's clock reads earlier than a date it has already seen
    problem: LicenseError | None = None  # why the installed code no longer counts, if it does not

    @property
    def licensed(self) -> bool:
        """True when a valid activation code is installed (expired or not)."""
        return bool(self.license_id)

    @property
    def days_left(self) -> int | None:
        """Days until the license expires (negative once it has), None when it never does or none is installed."""
        return (date.fromisoformat(self.expires) - self.today).days if self.licensed and self.expires else None

    def as_dict(self) -> dict[str, object]:
        """Plain values for `--json`."""
        return {
            'licensee': self.licensee,
            'license_id': self.license_id,
            'seats': self.seats,
            'seat_limit': self.seat_limit,
            'seats_used': self.seats_used,
            'free_seats': FREE_SEATS,
            'issued': self.issued,
            'expires': self.expires,
            'expired': self.expired,
            'install_id': self.install_id,
            'today': self.today.isoformat(),
            'clock_behind': self.clock_behind,
            'problem': str(self.problem) if self.problem else '',
        }


def install_id() -> str:
    """This installation's id, which the vendor binds a code to."""
    return read_install_id(get_settings().data_dir)


# --- the clock's high-water mark -------------------------------------------------------------------------------


def high_water(session: Session) -> date | None:
    """The latest date this box has seen, or None before the first look."""
    row = session.get(State, HIGH_WATER_KEY)
    try:
        return date.fromisoformat(row.value) if row is not None and row.value else None
    except ValueError:
        return None  # a damaged mark is raised again from today


def observe(session: Session, today: date | None = None) -> date:
    """Record `today` (default: the box's date) as seen and return the date to judge on: the later of the two."""
    today = today or date.today()
    mark = high_water(session)
    if mark is not None and mark >= today:
        return mark
    if session_intent(session) == 'read':  # a status read: the mark goes in a short write of its own
        day = today
        get_database().independently(lambda writer: observe(writer, day))
        return today
    row = session.get(State, HIGH_WATER_KEY)
    if row is None:
        session.add(State(key=HIGH_WATER_KEY, value=today.isoformat(), updated_at=utcnow()))
    else:
        row.value, row.updated_at = today.isoformat(), utcnow()
    session.flush()
    return today


def record_today() -> None:
    """The daily job: raise the high-water mark even on days nobody opens the console."""
    with get_database().session(write=True) as session:
        observe(session)


# --- the license in force --------------------------------------------------------------------------------------


def seats_used(session: Session) -> int:
    """Active accounts: each takes a seat."""
    return session.scalar(select(func.count()).select_from(User).where(User.is_active)) or 0


def _newest(session: Session) -> LicenseRow | None:
    return session.scalars(select(LicenseRow).order_by(LicenseRow.id.desc()).limit(1)).first()


def _in_force(session: Session, install: str) -> tuple[License | None, LicenseError | None]:
    row = _newest(session)
    if row is None:
        return None, None
    try:
        return codes.verify(row.code, install_id=install, public_key=public_key()), None
    except LicenseError as error:
        return None, error


def current_status(session: Session, today: date | None = None) -> LicenseStatus:
    """The license in force, the seat limit and the seats used, judged on max(today, the high-water mark)."""
    given = today or date.today()
    judged = observe(session, given)
    install = install_id()
    lic, problem = _in_force(session, install)
    return LicenseStatus(
        licensee=lic.licensee if lic else '',
        license_id=lic.license_id if lic else '',
        seats=lic.seats if lic else 0,
        seat_limit=codes.seat_limit(lic, today=judged),
        seats_used=seats_used(session),
        issued=lic.issued if lic else '',
        expires=lic.expires if lic else '',
        expired=bool(lic and lic.expired(judged)),
        install_id=install,
        today=judged,
        clock_behind=judged > given,
        problem=problem,
    )


def history(*, session: Session, actor: Actor) -> list[LicenseRow]:
    """Every installed code, newest (the one in force) first."""
    require(actor, 'console.manage', target='license')
    return list(session.scalars(select(LicenseRow).order_by(LicenseRow.id.desc())))


# --- installing a code -----------------------------------------------------------------------------------------


def code_from_text(text: str) -> str:
    """The code in pasted text or a `.lic` file: header and comment lines (#) and surrounding blank space dropped."""
    if len(text) > MAX_TEXT:
        raise LicenseError(N_('This file is too large to be an activation code. Choose the .lic file.'), field='code')
    lines = [line.strip() for line in text.lstrip('\ufeff').splitlines()]
    code = ' '.join(line for line in lines if line and not line.startswith('#'))
    if not code:
        raise LicenseError(N_('Paste the activation code, or choose the .lic file the vendor sent.'), field='code')
    return code


def lic_file_text(code: str, lic: License) -> str:
    """The text of a `.lic` file: a header line saying what it is, then the code."""
    expiry = lic.expires or 'never'
    return f'{LIC_HEADER} for {lic.licensee} ({lic.license_id}): {lic.seats} seats, expires {expiry}\n{code}\n'


def install(*, session: Session, actor: Actor, text: str, today: date | None = None) -> LicenseRow:
    """Verify a code (pasted text or a `.lic` file's text) and make it the license in force; audited.

    Refused, with nothing changed: a mistyped, forged or altered code, a code for another installation, a code
    that has already expired, and the code already in force.
    """
    require(actor, 'console.manage', target='license')
    code = code_from_text(text)
    lic = codes.verify(code, install_id=install_id(), public_key=public_key())
    judged = observe(session, today)
    if lic.expired(judged):
        raise LicenseError(
            N_('This activation code expired on {date}. Ask the vendor for a new one.'), field='code', date=lic.expires
        )
    canonical = codes.encode(codes.decode(code))
    current = _newest(session)
    if current is not None and current.code == canonical:
        raise Conflict(N_('This activation code is already installed.'))
    row = LicenseRow(
        code=canonical,
        license_id=lic.license_id,
        licensee=lic.licensee,
        seats=lic.seats,
        issued=lic.issued,
        expires=lic.expires,
        installed_at=utcnow(),
        installed_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action='license.install',
        target=f'license:{lic.license_id}',
        details={'licensee': lic.licensee, 'seats': lic.seats, 'issued': lic.issued, 'expires': lic.expires},
    )
    return row


# --- the seat guard --------------------------------------------------------------------------------------------


def seat_guard(*, session: Session, adding: int = 1, today: date | None = None) -> None:
    """Contributed to 'core.seat_guard': refuse an account that would pass the seat limit, saying what to do."""
    status = current_status(session, today)
    count = status.seats_used + adding
    if count <= status.seat_limit:
        return
    if status.expired:
        raise SeatLimitReached(
            N_(
                'This would make {count} active users; the license expired on {expires}, so the free limit of '
                '{limit} applies. Disable an account you no longer need, or install a new activation code in '
                'Maintenance → License.'
            ),
            count=count,
            limit=status.seat_limit,
            expires=status.expires,
        )
    if status.licensed:
        message = N_(
            'This would make {count} active users; the license allows {limit}. Disable an account you no longer '
            'need, or install an activation code for more seats in Maintenance → License.'
        )
    else:
        message = N_(
            'This would make {count} active users; the free limit is {limit}. Disable an account you no longer '
            'need, or install an activation code for more seats in Maintenance → License.'
        )
    raise SeatLimitReached(message, count=count, limit=status.seat_limit)
