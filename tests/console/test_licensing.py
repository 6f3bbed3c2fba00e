"""The license in force: installing codes (pasted or a .lic file), refusing bad ones with nothing changed, the
clock's high-water mark, and the health checks on seats and expiry.

The helpers shared with the other license tests (the test key, `code_for`, `trust_test_key`) are in
tests/console/license_support.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from appliance.db import get_database
from appliance.errors import Conflict, PermissionDenied
from appliance.extensions import SEAT_GUARD
from appliance.secrets import install_id
from console.license.jobs import JOBS as LICENSE_JOBS
from console.license.services import expiry_check, licensing, seats_check
from console.license.services.codes import FREE_SEATS, License, LicenseError
from console.models import License as LicenseRow
from console.models import State
from tests.conftest import People
from tests.console.license_support import (
    code_for,
    fill_active_users,
    install_audits,
    stored,
)

TODAY = date.today()


def status(today: date | None = None) -> licensing.LicenseStatus:
    with get_database().session() as session:
        return licensing.current_status(session, today)


def install(actor: object, text: str, today: date | None = None) -> LicenseRow:
    with get_database().session() as session:
        return licensing.install(session=session, actor=actor, text=text, today=today)  # type: ignore[arg-type]


# --- installing ---------------------------------------------------------------------------------------------------


def test_it_installs_a_good_code_and_reports_it(people: People, trust_test_key: None, data_dir: Path) -> None:
    before = status()
    assert (before.licensed, before.seat_limit, before.seats_used) == (False, FREE_SEATS, 3)

    row = install(people.alice, code_for(seats=150, expires=TODAY + timedelta(days=365)))

    assert (row.license_id, row.licensee, row.seats, row.installed_by) == (
        'L-2026-0042',
        'Acme 机器人有限公司',
        150,
        'alice',
    )
    now = status()
    assert (now.licensee, now.license_id, now.seats, now.seat_limit, now.seats_used) == (
        'Acme 机器人有限公司',
        'L-2026-0042',
        150,
        150,
        3,
    )
    assert now.expires == (TODAY + timedelta(days=365)).isoformat()
    assert not now.expired and now.days_left == 365
    assert now.install_id == install_id(data_dir)
    assert install_audits() == 1


def test_it_reads_a_lic_file_with_its_header_and_blank_lines(people: People, trust_test_key: None) -> None:
    code = code_for(seats=40)
    lic = License(license_id='L-2026-0042', licensee='Acme 机器人有限公司', seats=40, issued=TODAY.isoformat())
    text = '\ufeff\r\n' + licensing.lic_file_text(code, lic).replace('\n', '\r\n') + '\r\n\r\n'
    assert text.lstrip('\ufeff\r\n').startswith(licensing.LIC_HEADER)
    install(people.alice, text)
    assert status().seat_limit == 40


def test_it_counts_the_free_limit_when_a_license_grants_fewer_seats(people: People, trust_test_key: None) -> None:
    install(people.alice, code_for(seats=5))
    assert (status().seats, status().seat_limit) == (5, FREE_SEATS)


def _forged() -> str:
    return code_for(key=Ed25519PrivateKey.generate())


def _mistyped() -> str:
    code = code_for()
    groups = code.split('-')
    group = groups[5]
    groups[5] = ('1' if group[0] != '1' else '2') + group[1:]
    return '-'.join(groups)


def _truncated() -> str:
    return code_for()[:-12]


REFUSALS = {
    'forged': (_forged, 'it was not issued by the vendor, or it was changed'),
    'mistyped': (_mistyped, 'Group 4 of the activation code is mistyped'),
    'truncated': (_truncated, 'incomplete'),
    'other install': (lambda: code_for(install='ENC-0000-0000-0000'), 'belongs to another installation'),
    'expired': (lambda: code_for(issued=TODAY - timedelta(days=400), expires=TODAY - timedelta(days=1)), 'expired on'),
    'not a code': (lambda: 'hello, here is my license', 'Codes start with ENC1-'),
    'empty': (lambda: '  \n# Enclave activation code\n', 'Paste the activation code'),
}


@pytest.mark.parametrize('case', sorted(REFUSALS))
def test_it_refuses_a_bad_code_and_changes_nothing(people: People, trust_test_key: None, case: str) -> None:
    install(people.alice, code_for(seats=30, license_id='L-GOOD'))
    make, reason = REFUSALS[case]
    text = make()
    with pytest.raises(LicenseError) as caught:
        install(people.alice, text)
    assert reason in str(caught.value)
    assert stored() == [('L-GOOD', 30)]
    assert install_audits() == 1
    assert status().seat_limit == 30


def test_it_refuses_a_code_with_a_changed_seat_count_under_the_original_signature(
    people: People, trust_test_key: None
) -> None:
    from console.license.services.codes import decode, encode

    data = decode(code_for(seats=25))
    altered = encode(data.replace(b'"seats":25', b'"seats":95'))
    with pytest.raises(LicenseError, match='not issued by the vendor, or it was changed'):
        install(people.alice, altered)
    assert stored() == []


def test_it_refuses_codes_of_the_test_key_with_the_shipped_vendor_key(people: People) -> None:
    with pytest.raises(LicenseError, match='not issued by the vendor'):
        install(people.alice, code_for())
    assert stored() == []


def test_it_refuses_a_member_and_an_outsider(people: People, trust_test_key: None) -> None:
    for who in (people.bob, people.charlie):
        with pytest.raises(PermissionDenied):
            install(who, code_for())
    assert stored() == []


def test_it_refuses_the_code_already_in_force_but_accepts_a_new_one(people: People, trust_test_key: None) -> None:
    first = code_for(seats=25)
    install(people.alice, first)
    with pytest.raises(Conflict, match='already installed'):
        install(people.alice, first.lower())
    install(people.alice, code_for(seats=50, license_id='L-2027-0001'))
    assert stored() == [('L-2026-0042', 25), ('L-2027-0001', 50)]
    assert status().seat_limit == 50
    with get_database().session() as session:
        rows = licensing.history(session=session, actor=people.alice)
        assert [row.license_id for row in rows] == ['L-2027-0001', 'L-2026-0042']
    with get_database().session() as session, pytest.raises(PermissionDenied):
        licensing.history(session=session, actor=people.bob)


def test_it_trusts_only_the_signed_code_never_an_edited_row(people: People, trust_test_key: None) -> None:
    install(people.alice, code_for(seats=25))
    with get_database().session() as session:
        session.execute(update(LicenseRow).values(seats=9999, expires=''))
    assert status().seat_limit == 25
    with get_database().session() as session:
        code = session.scalars(select(LicenseRow.code)).one()
        changed = code[:-3] + ('Z' if code[-3] != 'Z' else 'Y') + code[-2:]
        session.execute(update(LicenseRow).values(code=changed))
    broken = status()
    assert broken.seat_limit == FREE_SEATS
    assert broken.problem is not None and not broken.licensed
    level, message = expiry_check(broken)
    assert level == 'amber' and 'does not verify' in message


# --- the clock ----------------------------------------------------------------------------------------------------


def high_water() -> date | None:
    with get_database().session() as session:
        return licensing.high_water(session)


def test_it_does_not_extend_a_license_when_the_clock_is_set_back(people: People, trust_test_key: None) -> None:
    ends = TODAY + timedelta(days=300)
    install(people.alice, code_for(seats=25, expires=ends))
    assert status(ends).seat_limit == 25  # the last day still counts
    after = status(ends + timedelta(days=10))
    assert after.expired and after.seat_limit == FREE_SEATS
    assert high_water() == ends + timedelta(days=10)

    set_back = status(ends - timedelta(days=100))  # someone sets the clock back
    assert set_back.expired and set_back.seat_limit == FREE_SEATS
    assert set_back.clock_behind and set_back.today == ends + timedelta(days=10)
    assert high_water() == ends + timedelta(days=10)
    level, message = expiry_check(set_back)
    assert level == 'amber' and 'check the time settings' in message


def test_it_refuses_to_install_a_code_that_expired_before_the_high_water_mark(
    people: People, trust_test_key: None
) -> None:
    ends = TODAY + timedelta(days=50)
    status(ends + timedelta(days=1))  # the box has seen a later date
    with pytest.raises(LicenseError, match='expired on'):
        install(people.alice, code_for(expires=ends), today=TODAY)
    assert stored() == []


def test_it_accepts_a_code_issued_after_the_boxs_date(people: People, trust_test_key: None) -> None:
    # The vendor's clock may run ahead of the box's: a code issued "tomorrow" is fine, and locks nobody out.
    install(people.alice, code_for(seats=30, issued=TODAY + timedelta(days=40)), today=TODAY)
    now = status(TODAY)
    assert (now.seat_limit, now.expired, now.clock_behind) == (30, False, False)


def test_it_raises_the_mark_from_the_daily_job_and_never_lowers_it(data_dir: Path) -> None:
    assert high_water() is None
    licensing.record_today()
    assert high_water() == date.today()
    status(date.today() + timedelta(days=3))
    licensing.record_today()
    assert high_water() == date.today() + timedelta(days=3)
    assert [job.func for job in LICENSE_JOBS] == [licensing.record_today]


def test_it_repairs_a_damaged_mark_from_today(data_dir: Path) -> None:
    with get_database().session() as session:
        session.add(State(key=licensing.HIGH_WATER_KEY, value='not a date'))
    assert status(TODAY).today == TODAY
    assert high_water() == TODAY


# --- health checks ------------------------------------------------------------------------------------------------


def test_it_checks_seats_green_amber_and_red(people: People, trust_test_key: None) -> None:
    fill_active_users(17)
    level, message = seats_check(status())
    assert (level, message) == ('green', '17 of 20 seats in use.')
    fill_active_users(18)
    level, message = seats_check(status())
    assert level == 'amber' and message.startswith('18 of 20 seats in use: disable accounts')
    fill_active_users(21)
    level, message = seats_check()
    assert level == 'red' and '21 active users, more than the 20 seats allowed' in message


def test_it_checks_expiry_green_amber_and_red(people: People, trust_test_key: None) -> None:
    assert expiry_check(status())[0] == 'green'
    ends = TODAY + timedelta(days=100)
    install(people.alice, code_for(seats=25, expires=ends))
    assert expiry_check(status(TODAY)) == ('green', f'The license runs until {ends.isoformat()}.')
    level, message = expiry_check(status(ends - timedelta(days=10)))
    assert level == 'amber' and 'in 10 days' in message
    level, message = expiry_check(status(ends + timedelta(days=1)))
    assert level == 'amber' and 'the free limit of 20 seats applies and 3 users are active' in message
    fill_active_users(22)
    level, message = expiry_check(status())
    assert level == 'red' and 'Nobody is locked out' in message and 'check the time settings' in message


def test_it_contributes_its_checks_job_page_and_seat_guard_to_the_console(people: People) -> None:
    from appliance.modules import current_registry

    console = current_registry().get('console')
    assert console is not None
    checks = {check.name: check.run for check in console.health_checks}
    assert checks['license_seats']() == ('green', '3 of 20 seats in use.')
    assert checks['license_expiry']()[0] == 'green'
    assert '/console/license' in console.protected_paths
    assert [(item.path, item.icon, item.permission) for item in console.nav if item.path == '/console/license'] == [
        ('/console/license', 'verified', 'console.manage')
    ]
    assert current_registry().contributions(SEAT_GUARD) == [licensing.seat_guard]
