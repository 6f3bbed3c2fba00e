"""Signing in and out: credentials, throttling, one-time tickets, sessions, password changes and two-factor."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, text, update

from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.errors import Conflict, PermissionDenied, TooManyAttempts, ValidationError
from appliance.models import LoginFailure, LoginSession, LoginTicket, User
from appliance.services import accounts, auth, orgsettings, touches, twofactor
from tests.appliance.support import audit_rows, count, fast_hashing, login, ticket_for  # noqa: F401
from tests.conftest import PASSWORD, People, reload_user

NEW_PASSWORD = 'Another-Long-Secret-77'


def authenticate(username: str, password: str = PASSWORD, *, ip: str = '10.0.0.1', code: str = '') -> str:
    with get_database().session() as session:
        return auth.authenticate(session=session, username=username, password=password, ip=ip, totp_code=code)


def exchange(ticket: str, *, ip: str = '10.0.0.1') -> auth.NewSession:
    with get_database().session() as session:
        return auth.exchange_ticket(session=session, ticket=ticket, ip=ip, user_agent='pytest')


def is_live(token: str) -> bool:
    with get_database().session() as session:
        return auth.resolve_session(session=session, token=token) is not None


def session_row(session_id: int) -> LoginSession:
    with get_database().session() as session:
        row = session.get(LoginSession, session_id)
        assert row is not None
        return row


def age_session(session_id: int, **columns: timedelta) -> None:
    """Move a session's timestamps into the past."""
    now = utcnow()
    with get_database().session() as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id)
            .values({name: now - delta for name, delta in columns.items()})
        )


def fail(username: str, *, ip: str = '10.0.0.1') -> None:
    with pytest.raises(auth.LoginFailed):
        authenticate(username, 'wrong-password-123', ip=ip)


def throttled(username: str, *, ip: str = '10.0.0.1', password: str = PASSWORD) -> int:
    """The retry_after of a refused attempt (fails the test when the attempt is not throttled)."""
    with pytest.raises(TooManyAttempts) as caught:
        authenticate(username, password, ip=ip)
    return caught.value.retry_after


def wait_out_throttling() -> None:
    """Pretend the last failures were long ago, keeping their count."""
    with get_database().session() as session:
        session.execute(update(LoginFailure).values(last_failure_at=utcnow() - timedelta(hours=1)))


@pytest.fixture
def two_free_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_LOGIN_THROTTLE_FREE_ATTEMPTS', '2')
    get_settings.cache_clear()


# ---- credentials --------------------------------------------------------------------------------------------


def test_it_signs_in_with_the_right_password_and_audits_it(people: People) -> None:
    new = exchange(authenticate('bob'))
    row = session_row(new.session_id)
    assert (row.user_id, row.ip, row.user_agent) == (people.bob.id, '10.0.0.1', 'pytest')
    assert reload_user(people.bob.id).last_login_at is not None
    [event] = audit_rows('login.')
    assert (event.action, event.actor_name, json.loads(event.details)) == (
        'login.success',
        'bob',
        {'session': new.session_id},
    )


def test_it_ignores_the_case_of_the_username(people: People) -> None:
    assert exchange(authenticate(' BOB ')).user_id == people.bob.id


def test_it_refuses_a_wrong_password_and_audits_the_failure(people: People) -> None:
    with pytest.raises(auth.LoginFailed, match='Wrong username or password'):
        authenticate('bob', 'not-the-password')
    assert count(LoginTicket) == 0
    [event] = audit_rows('login.')
    assert (event.action, event.actor_id, event.target, json.loads(event.details)) == (
        'login.failure',
        people.bob.id,
        'user:bob',
        {'reason': 'bad credentials'},
    )


def test_it_gives_an_unknown_user_the_same_answer(people: People) -> None:
    with pytest.raises(auth.LoginFailed, match='Wrong username or password'):
        authenticate('nobody')
    [event] = audit_rows('login.failure')
    assert (event.actor_id, event.actor_name) == (None, 'nobody')


def test_it_refuses_a_disabled_account(people: People) -> None:
    with get_database().session() as session:
        session.execute(update(User).where(User.id == people.bob.id).values(is_active=False))
    with pytest.raises(auth.LoginFailed, match='disabled'):
        authenticate('bob')
    with pytest.raises(auth.LoginFailed, match='Wrong username or password'):
        authenticate('bob', 'a-guess-that-is-wrong')  # no hint that the account exists without the password
    assert [json.loads(row.details)['reason'] for row in audit_rows('login.failure')] == [
        'account disabled',
        'bad credentials',
    ]


# ---- throttling ---------------------------------------------------------------------------------------------


def test_it_throttles_an_account_tried_from_many_addresses(people: People, two_free_attempts: None) -> None:
    fail('bob', ip='10.0.0.1')
    fail('bob', ip='10.0.0.2')
    assert throttled('bob', ip='10.0.0.3') >= 1  # even with the right password
    assert exchange(authenticate('alice', ip='10.0.0.3'), ip='10.0.0.3').user_id == people.alice.id


def test_it_throttles_an_address_trying_many_accounts(people: People, two_free_attempts: None) -> None:
    fail('nobody', ip='10.6.6.6')
    fail('bob', ip='10.6.6.6')
    assert throttled('alice', ip='10.6.6.6') >= 1
    assert exchange(authenticate('alice', ip='10.0.0.9'), ip='10.0.0.9').user_id == people.alice.id


def test_it_makes_the_wait_grow_with_every_further_failure(people: People, two_free_attempts: None) -> None:
    fail('bob')
    fail('bob')
    waits = [throttled('bob')]
    for _ in range(2):
        wait_out_throttling()
        fail('bob')
        waits.append(throttled('bob'))
    assert waits == [1, 2, 4]


def test_it_caps_the_wait(people: People, two_free_attempts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_LOGIN_THROTTLE_MAX_DELAY_SECONDS', '30')
    get_settings.cache_clear()
    with get_database().session() as session:
        session.add(LoginFailure(key='user:bob', failures=40, last_failure_at=utcnow()))
    with pytest.raises(TooManyAttempts, match='Try again in 30 seconds'):
        authenticate('bob')


def test_it_lets_the_user_in_after_the_wait_and_forgets_the_failures(people: People, two_free_attempts: None) -> None:
    fail('bob')
    fail('bob')
    throttled('bob')
    wait_out_throttling()
    authenticate('bob')
    with get_database().session() as session:
        # The account's counter is forgotten; the address's is not, so one good login cannot reset the
        # limit for guessing other accounts from the same address.
        assert session.get(LoginFailure, 'user:bob') is None


def test_it_does_not_count_a_throttled_attempt_as_a_failure(people: People, two_free_attempts: None) -> None:
    fail('bob')
    fail('bob')
    throttled('bob')
    throttled('bob')
    with get_database().session() as session:
        assert session.get(LoginFailure, 'user:bob').failures == 2  # type: ignore[union-attr]


# ---- one-time tickets and sessions --------------------------------------------------------------------------


def test_it_accepts_a_ticket_only_once(people: People) -> None:
    ticket = authenticate('bob')
    exchange(ticket)
    with pytest.raises(auth.LoginFailed, match='expired'):
        exchange(ticket)
    assert count(LoginSession) == 1


def test_it_refuses_a_ticket_from_another_address(people: People) -> None:
    ticket = authenticate('bob', ip='10.0.0.1')
    with pytest.raises(auth.LoginFailed, match='expired'):
        exchange(ticket, ip='10.0.0.66')
    assert count(LoginSession) == 0
    exchange(ticket, ip='10.0.0.1')  # the address that signed in still can
    assert count(LoginSession) == 1


def test_it_refuses_an_expired_ticket(people: People) -> None:
    ticket = authenticate('bob')
    with get_database().session() as session:
        session.execute(update(LoginTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(auth.LoginFailed):
        exchange(ticket)
    assert count(LoginSession) == 0


def test_it_refuses_a_ticket_of_a_user_disabled_meanwhile(people: People) -> None:
    ticket = authenticate('bob')
    with get_database().session() as session:
        session.execute(update(User).where(User.id == people.bob.id).values(is_active=False))
    with pytest.raises(auth.LoginFailed, match='disabled'):
        exchange(ticket)


def test_it_refuses_a_made_up_ticket(people: People) -> None:
    with pytest.raises(auth.LoginFailed):
        exchange('made-up')


def test_it_stores_tickets_and_sessions_only_as_hashes(people: People) -> None:
    ticket = authenticate('bob')
    new = exchange(ticket)
    with get_database().session() as session:
        dump = '\n'.join(
            str(row)
            for table in ('core_login_tickets', 'core_sessions')
            for row in session.execute(text(f'SELECT * FROM {table}'))
        )
    assert ticket not in dump
    assert new.token not in dump
    assert auth.token_hash(new.token) in dump


def test_it_starts_a_new_session_at_every_login(people: People) -> None:
    first, second = login('bob'), login('bob')
    assert first.session_id != second.session_id
    assert first.token != second.token
    assert is_live(first.token) and is_live(second.token)


def end_expired_sessions() -> None:
    """What the scheduler's housekeeping does every half hour."""
    with get_database().session(write=True) as session:
        auth.end_expired_sessions(session=session)


def test_it_ends_a_session_left_idle_too_long(people: People) -> None:
    new = login('bob')
    age_session(new.session_id, last_seen_at=timedelta(minutes=get_settings().session_idle_minutes + 1))
    assert not is_live(new.token)
    assert session_row(new.session_id).ended_at is None  # resolving only reads: the sweep marks it
    end_expired_sessions()
    assert session_row(new.session_id).end_reason == 'idle timeout'


def test_it_keeps_a_session_in_use_alive(people: People) -> None:
    new = login('bob')
    age_session(new.session_id, last_seen_at=timedelta(minutes=get_settings().session_idle_minutes - 1))
    assert is_live(new.token)
    assert touches.flush_now() == 1  # the time is noted on use and written in a batch
    assert utcnow() - session_row(new.session_id).last_seen_at < timedelta(minutes=1)


def test_it_ends_a_session_at_its_absolute_lifetime(people: People) -> None:
    new = login('bob')
    age_session(new.session_id, created_at=timedelta(hours=get_settings().session_max_hours, minutes=1))
    assert not is_live(new.token)
    end_expired_sessions()
    assert session_row(new.session_id).end_reason == 'lifetime reached'


def test_it_reads_the_idle_timeout_from_the_settings(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_SESSION_IDLE_MINUTES', '5')
    get_settings.cache_clear()
    new = login('bob')
    age_session(new.session_id, last_seen_at=timedelta(minutes=6))
    assert not is_live(new.token)


def test_it_ends_the_session_at_logout(people: People) -> None:
    new = login('bob')
    with get_database().session() as session:
        auth.logout(session=session, token=new.token)
        auth.logout(session=session, token=new.token)  # twice: nothing more happens
    assert not is_live(new.token)
    assert session_row(new.session_id).end_reason == 'logout'
    assert [(row.action, row.actor_name) for row in audit_rows('logout')] == [('logout', 'bob')]


def test_it_ends_other_sessions_but_keeps_the_current_on_a_password_change(people: People) -> None:
    current, other = login('bob'), login('bob')
    with get_database().session() as session:
        accounts.change_own_password(
            session=session,
            actor=people.bob,
            current_password=PASSWORD,
            new_password=NEW_PASSWORD,
            keep_session_id=current.session_id,
        )
    assert is_live(current.token)
    assert not is_live(other.token)
    assert session_row(other.session_id).end_reason == 'password changed'
    assert exchange(authenticate('bob', NEW_PASSWORD)).user_id == people.bob.id
    assert [row.actor_name for row in audit_rows('user.change_password')] == ['bob']


@pytest.mark.parametrize(
    ('current', 'new', 'message'),
    [
        ('wrong-current-password', NEW_PASSWORD, 'current password is wrong'),
        (PASSWORD, PASSWORD, 'must differ'),
        (PASSWORD, 'short', 'at least'),
    ],
)
def test_it_changes_nothing_when_a_password_change_is_refused(
    people: People, current: str, new: str, message: str
) -> None:
    other = login('bob')
    with get_database().session() as session, pytest.raises(ValidationError, match=message):
        accounts.change_own_password(session=session, actor=people.bob, current_password=current, new_password=new)
    assert is_live(other.token)
    assert exchange(authenticate('bob')).user_id == people.bob.id


def test_it_lets_a_user_end_their_own_session_and_an_admin_anyones(people: People) -> None:
    bobs, alices = login('bob'), login('alice')
    with get_database().session() as session, pytest.raises(PermissionDenied):
        auth.end_session(session=session, actor=people.bob, session_id=alices.session_id)
    with get_database().session() as session:
        auth.end_session(session=session, actor=people.alice, session_id=bobs.session_id)
    assert (is_live(bobs.token), is_live(alices.token)) == (False, True)
    assert session_row(bobs.session_id).end_reason == 'ended by admin'
    assert [
        (row.actor_name, row.action) for row in audit_rows() if row.action in ('session.end', 'permission.denied')
    ] == [('bob', 'permission.denied'), ('alice', 'session.end')]


def test_it_lists_live_sessions_only_to_their_owner_or_an_admin(people: People) -> None:
    login('bob')
    login('alice')
    with get_database().session() as session:
        own = auth.list_sessions(session=session, actor=people.bob, user_id=people.bob.id)
        every = auth.list_sessions(session=session, actor=people.alice)
        with pytest.raises(PermissionDenied):
            auth.list_sessions(session=session, actor=people.bob)
    assert [row.user_id for row in own.items] == [people.bob.id]
    assert every.total == 2


# ---- two-factor ---------------------------------------------------------------------------------------------


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def enable_2fa(user: User) -> str:
    secret = twofactor.new_secret()
    with get_database().session() as session:
        twofactor.enable(session=session, actor=user, secret=secret, code=code_at(secret))
    return secret


def test_it_turns_on_two_factor_with_the_right_code(people: People) -> None:
    secret = enable_2fa(people.bob)
    bob = reload_user(people.bob.id)
    assert bob.totp_enabled
    assert secret not in bob.totp_secret  # encrypted at rest
    assert [row.actor_name for row in audit_rows('2fa.enable')] == ['bob']


@pytest.mark.parametrize('code', ['000000', '12345', 'abcdef', ''])
def test_it_refuses_to_turn_on_two_factor_with_a_wrong_code(people: People, code: str) -> None:
    secret = twofactor.new_secret()
    if code == '000000' and code_at(secret) == code:
        code = '000001'
    with get_database().session() as session, pytest.raises(ValidationError, match='wrong or expired'):
        twofactor.enable(session=session, actor=people.bob, secret=secret, code=code)
    bob = reload_user(people.bob.id)
    assert (bob.totp_enabled, bob.totp_secret) == (False, '')


def test_it_asks_for_the_code_after_the_password(people: People) -> None:
    secret = enable_2fa(people.bob)
    with pytest.raises(auth.TwoFactorRequired):
        authenticate('bob')
    assert audit_rows('login.failure') == []  # the password was right: nothing to count
    assert exchange(authenticate('bob', code=code_at(secret, 1))).user_id == people.bob.id


def test_it_refuses_a_replayed_code(people: People) -> None:
    secret = enable_2fa(people.bob)
    code = code_at(secret, 1)
    authenticate('bob', code=code)
    with pytest.raises(auth.LoginFailed, match='wrong or expired'):
        authenticate('bob', code=code)
    with pytest.raises(auth.LoginFailed):
        authenticate('bob', code=code_at(secret))  # the code used to turn two-factor on
    assert [json.loads(row.details)['reason'] for row in audit_rows('login.failure')] == [
        'bad two-factor code',
        'bad two-factor code',
    ]


def test_it_refuses_a_wrong_code_even_with_the_right_password(people: People) -> None:
    secret = enable_2fa(people.bob)
    wrong = '111111' if code_at(secret, 1) != '111111' else '222222'
    with pytest.raises(auth.LoginFailed):
        authenticate('bob', code=wrong)
    assert count(LoginTicket) == 0


def test_it_turns_two_factor_off_with_a_fresh_code(people: People) -> None:
    secret = enable_2fa(people.bob)
    with get_database().session() as session:
        twofactor.disable(session=session, actor=people.bob, code=code_at(secret, 1))
    bob = reload_user(people.bob.id)
    assert (bob.totp_enabled, bob.totp_secret) == (False, '')
    authenticate('bob')


def test_it_keeps_two_factor_on_when_the_organisation_requires_it(people: People) -> None:
    secret = enable_2fa(people.bob)
    with get_database().session() as session:
        orgsettings.update(session=session, actor=people.alice, org_name='Acme', language='en', require_2fa=True)
    with get_database().session() as session, pytest.raises(Conflict, match='requires two-factor'):
        twofactor.disable(session=session, actor=people.bob, code=code_at(secret, 1))
    assert reload_user(people.bob.id).totp_enabled


def test_it_renders_the_enrolment_qr_code_locally(people: People) -> None:
    secret = twofactor.new_secret()
    uri = twofactor.provisioning_uri(people.bob, secret, 'Acme')
    assert uri.startswith('otpauth://totp/Acme:bob?secret=' + secret)
    svg = twofactor.qr_svg(uri)
    assert svg.lstrip().startswith('<?xml') or '<svg' in svg[:200]
    assert 'http' not in svg.replace('http://www.w3.org', '')


def test_it_keeps_failed_attempts_per_key(people: People) -> None:
    fail('bob', ip='10.1.1.1')
    with get_database().session() as session:
        keys = set(session.scalars(select(LoginFailure.key)))
    assert keys == {'user:bob', 'ip:10.1.1.1'}
