"""The seat limit is enforced only when an account would be created or enabled beyond it, with the numbers and
what to do; expiry falls back to the free limit and never locks anyone out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from appliance.cli import app
from appliance.db import get_database
from appliance.errors import N_, ServiceError
from appliance.extensions import SEAT_GUARD
from appliance.models import User
from appliance.modules import ModuleSpec, current_registry, register_builtins, reset_registry
from appliance.services import accounts
from console.license.services import licensing
from console.license.services.codes import FREE_SEATS
from console.license.services.licensing import SeatLimitReached
from tests.appliance.support import login
from tests.conftest import PASSWORD, People, make_user, reload_user
from tests.console.license_support import code_for, fill_active_users, trust_test_key  # noqa: F401 - fixture


def active_users() -> int:
    with get_database().session() as session:
        return licensing.seats_used(session)


def create(actor: User, username: str) -> User:
    with get_database().session() as session:
        return accounts.create_user(
            session=session, actor=actor, username=username, display_name=username.title(), password=PASSWORD
        )


def enable(actor: User, user: User, active: bool = True) -> User:
    with get_database().session() as session:
        return accounts.set_active(session=session, actor=actor, user_id=user.id, active=active)


def install(actor: User, text: str) -> None:
    with get_database().session() as session:
        licensing.install(session=session, actor=actor, text=text)


def exists(username: str) -> bool:
    with get_database().session() as session:
        return accounts.find_user(session, username) is not None


def test_it_refuses_the_21st_user_with_the_numbers_and_what_to_do(people: People) -> None:
    fill_active_users(FREE_SEATS)
    with pytest.raises(SeatLimitReached) as caught:
        create(people.alice, 'newcomer')
    assert str(caught.value) == (
        'This would make 21 active users; the free limit is 20. Disable an account you no longer need, or install '
        'an activation code for more seats in Maintenance → License.'
    )
    assert caught.value.code == 'seat_limit' and caught.value.status == 409
    assert not exists('newcomer')
    assert active_users() == FREE_SEATS


def test_it_creates_users_up_to_the_limit(people: People) -> None:
    fill_active_users(FREE_SEATS - 1)
    create(people.alice, 'twentieth')
    assert active_users() == FREE_SEATS


def test_it_refuses_to_enable_an_account_beyond_the_limit_but_always_lets_one_be_disabled(people: People) -> None:
    dormant = make_user(username='dormant', active=False)
    fill_active_users(FREE_SEATS)
    with pytest.raises(SeatLimitReached, match='This would make 21 active users; the free limit is 20'):
        enable(people.alice, dormant)
    assert not reload_user(dormant.id).is_active
    enable(people.alice, people.bob, active=False)  # a seat frees up
    enable(people.alice, dormant)
    assert reload_user(dormant.id).is_active
    assert active_users() == FREE_SEATS


@pytest.mark.usefixtures('trust_test_key')
def test_it_allows_the_21st_user_after_a_25_seat_code(people: People) -> None:
    fill_active_users(FREE_SEATS)
    install(people.alice, code_for(seats=25))
    for number in range(21, 26):
        create(people.alice, f'extra{number}')
    assert active_users() == 25
    with pytest.raises(SeatLimitReached) as caught:
        create(people.alice, 'extra26')
    assert 'This would make 26 active users; the license allows 25.' in str(caught.value)


@pytest.mark.usefixtures('trust_test_key')
def test_it_falls_back_to_the_free_limit_on_expiry_without_locking_anyone_out(people: People) -> None:
    ends = date.today() + timedelta(days=200)
    install(people.alice, code_for(seats=25, expires=ends))
    fill_active_users(25)
    with get_database().session() as session:
        licensing.observe(session, ends + timedelta(days=1))  # the box's calendar passes the expiry

    with get_database().session() as session:
        now = licensing.current_status(session)
    assert (now.expired, now.seat_limit, now.seats_used) == (True, FREE_SEATS, 25)
    with pytest.raises(SeatLimitReached) as caught:
        create(people.alice, 'latecomer')
    assert f'This would make 26 active users; the license expired on {ends.isoformat()}' in str(caught.value)
    assert 'the free limit of 20 applies' in str(caught.value)
    # Nothing is disabled and everyone still signs in and works.
    with get_database().session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(~User.is_active)) == 0
    for username in ('alice', 'bob', 'user024'):
        assert login(username).token
    with get_database().session() as session:
        accounts.update_user(
            session=session, actor=reload_user(people.alice.id), user_id=people.bob.id, email='b@x.org'
        )
    assert reload_user(people.bob.id).email == 'b@x.org'


def test_it_never_refuses_the_setup_wizards_first_admin(data_dir: object) -> None:
    """A guard that refuses everything still lets the first administrator in (setup and the CLI's first account)."""

    def refuse(*, session: object, adding: int) -> None:
        raise ServiceError(N_('No seats at all.'))

    calls: list[int] = []

    def count(*, session: object, adding: int) -> None:
        calls.append(adding)

    registry = reset_registry()
    register_builtins(registry)
    registry.register(ModuleSpec(name='strict', label='Strict', contributes=(SEAT_GUARD.contribute(count, refuse),)))
    with get_database().session() as session:
        admin = accounts.complete_setup(
            session=session,
            org_name='Acme',
            language='en',
            username='root',
            display_name='Root',
            email='',
            password=PASSWORD,
        )
    assert calls == []
    with get_database().session() as session, pytest.raises(ServiceError, match='No seats at all'):
        accounts.create_user(session=session, actor=admin, username='second', display_name='S', password=PASSWORD)
    assert calls == [1]
    assert not exists('second')
    assert current_registry().contributions(SEAT_GUARD)[-1] is refuse


def test_it_refuses_the_cli_create_and_enable_beyond_the_limit(people: People) -> None:
    make_user(username='dormant', active=False)
    fill_active_users(FREE_SEATS)
    runner = CliRunner()
    created = runner.invoke(app, ['user', 'create', '--username', 'newcomer', '--password-stdin'], input=PASSWORD)
    assert created.exit_code == 1
    assert 'This would make 21 active users; the free limit is 20.' in created.stderr
    assert not exists('newcomer')
    enabled = runner.invoke(app, ['user', 'enable', 'dormant'])
    assert enabled.exit_code == 1
    assert 'This would make 21 active users' in enabled.stderr
    with get_database().session() as session:
        dormant = accounts.find_user(session, 'dormant')
        assert dormant is not None and not dormant.is_active
