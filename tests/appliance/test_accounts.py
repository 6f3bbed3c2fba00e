"""Accounts: the setup wizard, creating, editing, disabling and resetting users, and the password policy."""

from __future__ import annotations

import pytest

from appliance.db import get_database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import AuditEvent, LoginSession, OrgSetting, User
from appliance.services import accounts, auth, passwords, tokens
from tests.appliance.support import audit_rows, count, fast_hashing, login  # noqa: F401
from tests.conftest import PASSWORD, People, make_token, make_user, reload_user

NEW_PASSWORD = 'Another-Long-Secret-77'


def create(actor: User, **fields: object) -> User:
    values: dict[str, object] = {'username': 'dave', 'display_name': 'Dave Dev', 'password': PASSWORD}
    values.update(fields)
    with get_database().session() as session:
        return accounts.create_user(session=session, actor=actor, **values)  # type: ignore[arg-type]


def update(actor: User, user: User, **fields: object) -> User:
    with get_database().session() as session:
        return accounts.update_user(session=session, actor=actor, user_id=user.id, **fields)  # type: ignore[arg-type]


def set_active(actor: User, user: User, active: bool) -> User:
    with get_database().session() as session:
        return accounts.set_active(session=session, actor=actor, user_id=user.id, active=active)


def reset_password(actor: User, user: User, new_password: str = NEW_PASSWORD) -> User:
    with get_database().session() as session:
        return accounts.reset_password(session=session, actor=actor, user_id=user.id, new_password=new_password)


def setup(**fields: object) -> User:
    values: dict[str, object] = {
        'org_name': 'Acme 有限公司',
        'language': 'zh_CN',
        'username': 'root',
        'display_name': 'Root',
        'email': '',
        'password': PASSWORD,
    }
    values.update(fields)
    with get_database().session() as session:
        return accounts.complete_setup(session=session, **values)  # type: ignore[arg-type]


def password_works(username: str, password: str) -> bool:
    try:
        login(username, password)
    except auth.LoginFailed:
        return False
    return True


# ---- the setup wizard -------------------------------------------------------------------------------------


def test_it_ships_without_default_accounts() -> None:
    assert count(User) == 0
    with get_database().session() as session:
        assert accounts.setup_required(session)


def test_it_creates_the_first_admin_and_names_the_organisation() -> None:
    admin = setup()
    assert reload_user(admin.id).role_names == {'admin'}
    with get_database().session() as session:
        assert session.get(OrgSetting, 'org_name').value == 'Acme 有限公司'  # type: ignore[union-attr]
        assert session.get(OrgSetting, 'language').value == 'zh_CN'  # type: ignore[union-attr]
        assert not accounts.setup_required(session)
    assert [(row.action, row.actor_name) for row in audit_rows()] == [('setup.complete', 'root')]


def test_it_refuses_to_run_setup_twice() -> None:
    setup()
    with pytest.raises(Conflict, match='already complete'):
        setup(username='mallory', org_name='Evil')
    assert count(User) == 1
    with get_database().session() as session:
        assert accounts.find_user(session, 'mallory') is None
        assert session.get(OrgSetting, 'org_name').value == 'Acme 有限公司'  # type: ignore[union-attr]


def test_it_refuses_setup_once_accounts_exist(people: People) -> None:
    with pytest.raises(Conflict):
        setup()
    assert count(User) == 3


@pytest.mark.parametrize(
    ('fields', 'field'),
    [
        ({'password': 'short'}, 'password'),
        ({'org_name': '   '}, 'org_name'),
        ({'language': 'fr'}, 'language'),
        ({'username': 'Bad Name'}, 'username'),
    ],
)
def test_it_changes_nothing_when_setup_input_is_bad(fields: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        setup(**fields)
    assert caught.value.field == field
    assert count(User) == 0
    assert count(OrgSetting) == 0
    assert audit_rows() == []


# ---- creating users -----------------------------------------------------------------------------------------


def test_it_lets_an_admin_create_a_member(people: People) -> None:
    dave = create(people.alice, username='Dave', email='dave@example.org')
    saved = reload_user(dave.id)
    assert (saved.username, saved.display_name, saved.email) == ('dave', 'Dave Dev', 'dave@example.org')
    assert saved.role_names == {'member'}
    assert saved.password_hash.startswith('$argon2id$')
    assert PASSWORD not in saved.password_hash
    [event] = audit_rows('user.create')
    assert (event.actor_name, event.target) == ('alice', 'user:dave')


def test_it_creates_a_user_with_the_roles_given(people: People) -> None:
    dave = create(people.alice, roles=['admin', 'member'])
    assert reload_user(dave.id).role_names == {'admin', 'member'}


@pytest.mark.parametrize('username', ['a', 'x' * 33, 'has space', '-dash', '.dot', '张伟', 'dave@home', ''])
def test_it_refuses_a_bad_username(people: People, username: str) -> None:
    with pytest.raises(ValidationError) as caught:
        create(people.alice, username=username)
    assert caught.value.field == 'username'
    assert count(User) == 3


@pytest.mark.parametrize('username', ['db', 'dave.smith', 'dave_smith', 'dave-smith', '9lives', 'x' * 32])
def test_it_accepts_a_good_username(people: People, username: str) -> None:
    assert create(people.alice, username=username).username == username


def test_it_refuses_a_taken_username_whatever_its_case(people: People) -> None:
    with pytest.raises(Conflict, match='already taken'):
        create(people.alice, username='BOB')
    assert count(User) == 3


@pytest.mark.parametrize(
    ('fields', 'field'),
    [
        ({'display_name': '  '}, 'display_name'),
        ({'display_name': 'x' * 129}, 'display_name'),
        ({'email': 'not-an-address'}, 'email'),
        ({'roles': ['emperor']}, 'roles'),
        ({'timezone': 'Mars/Olympus'}, 'timezone'),
        ({'language': 'fr'}, 'language'),
    ],
)
def test_it_changes_nothing_when_new_user_input_is_bad(people: People, fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        create(people.alice, **fields)
    assert caught.value.field == field
    assert count(User) == 3
    assert audit_rows('user.') == []


@pytest.mark.parametrize('actor', ['bob', 'charlie'])
def test_it_lets_only_admins_create_users(people: People, actor: str) -> None:
    with pytest.raises(PermissionDenied):
        create(getattr(people, actor))
    assert count(User) == 3
    [denial] = audit_rows('permission.denied')
    assert (denial.actor_name, denial.target) == (actor, 'user:dave')


# ---- the password policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('password', 'reason'),
    [
        ('Sh0rt-pw', 'at least 10 characters'),
        ('x' * 257, 'at most 256 characters'),
        ('password123456', 'most common passwords'),
        ('qwertyuiop', 'most common passwords'),
        ('Password2024!', 'most common passwords'),
        ('my-dave-is-the-best', 'must not contain the username'),
        ('DAVE-horse-battery', 'must not contain the username'),
        ('abcabcabcabc', 'too few characters'),
    ],
)
def test_it_refuses_a_weak_password(people: People, password: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        create(people.alice, username='dave', password=password)
    assert caught.value.field == 'password'
    assert count(User) == 3


@pytest.mark.parametrize('password', [PASSWORD, 'Ziegel-Mond-Fenster', '这是一个很长的中文密码句子'])
def test_it_accepts_a_strong_password(password: str) -> None:
    passwords.check_policy(password, min_length=10, username='dave')


def test_it_reads_the_minimum_length_from_the_settings(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.config import get_settings

    monkeypatch.setenv('ENCLAVE_PASSWORD_MIN_LENGTH', '30')
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match='at least 30 characters'):
        create(people.alice)


# ---- listing and editing ------------------------------------------------------------------------------------


def test_it_lists_users_a_page_at_a_time(people: People) -> None:
    for n in range(5):
        make_user(username=f'user{n}')
    with get_database().session() as session:
        page = accounts.list_users(session=session, actor=people.alice, offset=2, limit=3)
    assert page.total == 8
    assert [user.username for user in page.items] == ['charlie', 'user0', 'user1']


def test_it_finds_users_by_name_and_treats_wildcards_literally(people: People) -> None:
    make_user(username='dave_x', display_name='Dave 100%')
    make_user(username='davexx', display_name='Dave 1000')
    with get_database().session() as session:
        by_name = accounts.list_users(session=session, actor=people.alice, query='张伟')
        underscore = accounts.list_users(session=session, actor=people.alice, query='dave_')
        percent = accounts.list_users(session=session, actor=people.alice, query='100%')
    assert [user.username for user in by_name.items] == ['bob']
    assert [user.username for user in underscore.items] == ['dave_x']
    assert [user.username for user in percent.items] == ['dave_x']


def test_it_refuses_the_user_list_to_a_member(people: People) -> None:
    with get_database().session() as session, pytest.raises(PermissionDenied):
        accounts.list_users(session=session, actor=people.bob)


def test_it_lets_an_admin_edit_a_user(people: People) -> None:
    update(
        people.alice,
        people.bob,
        display_name='Robert 张伟',
        email='bob@example.org',
        language='zh_CN',
        timezone='Asia/Shanghai',
        roles=['admin'],
    )
    bob = reload_user(people.bob.id)
    assert (bob.display_name, bob.email, bob.language, bob.timezone) == (
        'Robert 张伟',
        'bob@example.org',
        'zh_CN',
        'Asia/Shanghai',
    )
    assert bob.role_names == {'admin'}
    [event] = audit_rows('user.update')
    assert event.target == 'user:bob'
    assert '"roles": ["admin"]' in event.details


def test_it_changes_nothing_when_an_edit_is_partly_bad(people: People) -> None:
    with pytest.raises(ValidationError):
        update(people.alice, people.bob, display_name='Robert', email='nope')
    assert reload_user(people.bob.id).display_name == 'Bob 张伟'
    assert audit_rows('user.update') == []


def test_it_says_when_the_user_does_not_exist(people: People) -> None:
    with get_database().session() as session, pytest.raises(NotFound):
        accounts.get_user(session=session, actor=people.alice, user_id=999)


def test_it_lets_a_member_read_only_their_own_account(people: People) -> None:
    with get_database().session() as session:
        assert accounts.get_user(session=session, actor=people.bob, user_id=people.bob.id).username == 'bob'
        with pytest.raises(PermissionDenied):
            accounts.get_user(session=session, actor=people.bob, user_id=people.alice.id)


def test_it_refuses_to_demote_the_last_admin(people: People) -> None:
    with pytest.raises(Conflict, match='last administrator'):
        update(people.alice, people.alice, roles=['member'])
    assert reload_user(people.alice.id).role_names == {'admin'}


def test_it_lets_one_of_two_admins_be_demoted(people: People) -> None:
    dave = make_user(username='dave', roles=['admin'])
    update(people.alice, dave, roles=['member'])
    assert reload_user(dave.id).role_names == {'member'}
    with pytest.raises(Conflict):
        update(people.alice, people.alice, roles=[])


def test_it_lets_a_user_change_their_own_profile(people: People) -> None:
    with get_database().session() as session:
        accounts.update_profile(
            session=session,
            actor=people.bob,
            display_name='Bob Zhang',
            email='',
            language='zh_CN',
            timezone='Asia/Shanghai',
        )
    bob = reload_user(people.bob.id)
    assert (bob.display_name, bob.language, bob.timezone) == ('Bob Zhang', 'zh_CN', 'Asia/Shanghai')


# ---- disabling, enabling, resetting -------------------------------------------------------------------------


def test_it_ends_sessions_and_token_use_when_a_user_is_disabled(people: People) -> None:
    first, second = login('bob'), login('bob')
    token = make_token(people.bob)
    set_active(people.alice, people.bob, False)

    assert not reload_user(people.bob.id).is_active
    with get_database().session() as session:
        ended = [session.get(LoginSession, s.session_id) for s in (first, second)]
        assert [(row.ended_at is not None, row.end_reason) for row in ended] == [(True, 'disabled')] * 2  # type: ignore[union-attr]
        assert auth.resolve_session(session=session, token=first.token) is None
        assert tokens.resolve_token(session=session, raw=token) is None
    with pytest.raises(auth.LoginFailed, match='disabled'):
        login('bob')
    [event] = audit_rows('user.disable')
    assert (event.actor_name, event.target) == ('alice', 'user:bob')


def test_it_lets_a_re_enabled_user_sign_in_again(people: People) -> None:
    set_active(people.alice, people.bob, False)
    set_active(people.alice, people.bob, True)
    assert reload_user(people.bob.id).is_active
    assert password_works('bob', PASSWORD)
    assert [row.action for row in audit_rows('user.')] == ['user.disable', 'user.enable']


def test_it_refuses_to_let_an_admin_disable_themself(people: People) -> None:
    login('alice')
    with pytest.raises(Conflict, match='your own account'):
        set_active(people.alice, people.alice, False)
    assert reload_user(people.alice.id).is_active
    assert count(LoginSession, LoginSession.ended_at.is_(None)) == 1


def test_it_lets_a_second_admin_be_disabled_but_keeps_the_last(people: People) -> None:
    dave = make_user(username='dave', roles=['admin'])
    set_active(people.alice, dave, False)
    with get_database().session() as session:
        assert accounts._active_admin_count(session) == 1
    with pytest.raises(Conflict):
        set_active(people.alice, people.alice, False)


def test_it_lets_only_admins_disable_users(people: People) -> None:
    with pytest.raises(PermissionDenied):
        set_active(people.bob, people.charlie, False)
    assert reload_user(people.charlie.id).is_active


def test_it_resets_a_password_and_ends_the_users_sessions(people: People) -> None:
    session_before = login('bob')
    reset_password(people.alice, people.bob)
    with get_database().session() as session:
        assert auth.resolve_session(session=session, token=session_before.token) is None
    assert not password_works('bob', PASSWORD)
    assert password_works('bob', NEW_PASSWORD)
    [event] = audit_rows('user.reset_password')
    assert (event.actor_name, event.target) == ('alice', 'user:bob')


def test_it_keeps_the_old_password_when_the_reset_is_too_weak(people: People) -> None:
    live = login('bob')
    with pytest.raises(ValidationError, match='username'):
        reset_password(people.alice, people.bob, new_password='bob-bob-bob-bob')
    assert password_works('bob', PASSWORD)
    with get_database().session() as session:
        assert auth.resolve_session(session=session, token=live.token) is not None


def test_it_lets_only_admins_reset_passwords(people: People) -> None:
    with pytest.raises(PermissionDenied):
        reset_password(people.bob, people.alice)
    assert password_works('alice', PASSWORD)


def test_it_does_not_audit_an_edit_that_changes_nothing(people: People) -> None:
    before = count(AuditEvent)
    with get_database().session() as session:
        accounts.update_user(session=session, actor=people.alice, user_id=people.bob.id)

    assert count(AuditEvent) == before


def test_it_treats_disabling_a_disabled_admin_as_done(people: People) -> None:
    with get_database().session() as session:
        accounts.set_active(session=session, actor=people.alice, user_id=people.bob.id, active=False)
    before = count(AuditEvent)
    with get_database().session() as session:
        user = accounts.set_active(session=session, actor=people.alice, user_id=people.bob.id, active=False)

    assert not user.is_active
    assert count(AuditEvent) == before
