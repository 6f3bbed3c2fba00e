"""alice administers users in the browser; bob and charlie are kept out of /admin."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import AuditEvent
from appliance.services import accounts, auth, tokens
from tests.appliance.support import count, login, sign_in_url
from tests.conftest import People, make_token, reload_user
from tests.support.ui import click, trigger

ADMIN_PAGES = ['/admin/users', '/admin/sessions', '/admin/audit', '/admin/settings']


async def test_it_lets_an_admin_create_a_user_in_the_dialog(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await user.should_see(marker='users-table')
    user.find(marker='new-user').click()
    user.find(marker='new-username').type('dave')
    user.find(marker='new-display-name').type('Dave 大卫')
    user.find(marker='new-email').type('dave@example.org')
    user.find(marker='new-password').type('Long-Secret-Phrase-71')
    user.find(marker='save-user').click()
    await user.should_see('User created.')
    with get_database().session() as session:
        dave = accounts.find_user(session, 'dave')
    assert dave is not None
    assert (dave.display_name, dave.email, dave.role_names) == ('Dave 大卫', 'dave@example.org', {'member'})
    login('dave', 'Long-Secret-Phrase-71')


async def test_it_shows_why_a_new_user_was_refused(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    user.find(marker='new-user').click()
    user.find(marker='new-username').type('bob')
    user.find(marker='new-display-name').type('Another Bob')
    user.find(marker='new-password').type('Long-Secret-Phrase-71')
    user.find(marker='save-user').click()
    await user.should_see('The username "bob" is already taken.')
    assert reload_user(people.bob.id).display_name == 'Bob 张伟'


async def test_it_lets_an_admin_disable_a_user_in_the_dialog(user: UIUser, people: People) -> None:
    bobs_session = login('bob')
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await trigger(user, 'rowClick', [{}, {'id': people.bob.id}], marker='users-table')  # NiceGUI camel-cases it
    user.find(marker='toggle-user').click()
    await user.should_see('User disabled; their sessions ended.')
    assert not reload_user(people.bob.id).is_active
    with get_database().session() as session:
        assert auth.resolve_session(session=session, token=bobs_session.token) is None


async def test_it_says_in_the_dialog_that_a_reset_revokes_the_api_tokens_and_does_so(
    user: UIUser, people: People
) -> None:
    token = make_token(people.bob)
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await trigger(user, 'rowClick', [{}, {'id': people.bob.id}], marker='users-table')
    await user.should_see('A new password ends their sessions and revokes their API tokens; they make new ones.')
    user.find(marker='new-password').type('Long-Secret-Phrase-71')
    user.find(marker='save-user').click()
    await user.should_see('User saved; their sessions ended and their API tokens were revoked.')
    with get_database().session() as session:
        assert tokens.resolve_token(session=session, raw=token) is None
    login('bob', 'Long-Secret-Phrase-71')


@pytest.mark.parametrize('who', ['bob', 'charlie'])
async def test_it_refuses_admin_pages_to_non_admins(user: UIUser, people: People, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    for path in ADMIN_PAGES:
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert 'You do not have permission to open this page.' in response.text
    assert count(AuditEvent, AuditEvent.action == 'permission.denied', AuditEvent.actor_name == who) == len(ADMIN_PAGES)


async def test_it_shows_the_admin_navigation_only_to_admins(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    await user.should_not_see(marker='nav:/admin/users')
    await user.open(sign_in_url('alice'))
    await user.should_see(marker='nav:/admin/users')


async def test_it_pages_the_users_and_the_audit_log_with_the_shared_pager(user: UIUser, people: People) -> None:
    from tests.conftest import make_user

    for number in range(30):
        make_user(username=f'temp{number:02d}', display_name=f'Temp {number:02d}')
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await user.should_see('1–25 of 33')
    user.find(marker='next-page').click()
    await user.should_see('26–33 of 33')
    [grid] = user.find(marker='users-table').elements
    assert len(grid.rows) == 8 and 'temp29' in {row['username'] for row in grid.rows}  # type: ignore[attr-defined]
    assert grid.props['hide-pagination'] is True  # one pager (ours), not Quasar's as well
    await user.open('/admin/audit')
    await user.should_see(marker='audit-table')
    await user.should_see(marker='next-page')
    [audit] = user.find(marker='audit-table').elements
    assert audit.props['hide-pagination'] is True


async def test_the_audit_log_reads_as_sentences_with_the_raw_record_one_click_away(
    user: UIUser, people: People
) -> None:
    from appliance.services import audit

    with get_database().session() as session:
        audit.record(session=session, actor=None, action='user.disable', target='user:bob', actor_name='alice')
    await user.open(sign_in_url('alice', next_path='/admin/audit'))
    [table] = user.find(marker='audit-table').elements
    row = next(r for r in table.rows if r['what'] == 'Disabled the account bob')  # type: ignore[attr-defined]
    assert 'user.disable' not in str({key: value for key, value in row.items() if key != 'record'})
    assert json.loads(row['record'])['action'] == 'user.disable'
    # The row's button sends its record as the table's 'record' event, as the browser does.
    await trigger(user, 'record', row['record'], marker='audit-table')
    await user.should_see(marker='audit-record')
    await user.should_see('"action": "user.disable"')


def nav_of(user: UIUser) -> str:
    """The navigation's HTML (one element; appliance/ui/frame.py, nav_html)."""
    [nav] = user.find(marker='nav:/').elements
    return nav.content  # type: ignore[attr-defined]


async def test_daily_work_comes_first_and_administration_and_maintenance_are_groups_of_their_own(
    user: UIUser, people: People
) -> None:
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await user.should_see(marker='users-table')
    html = nav_of(user)
    order = [html.index(f'href="{path}"') for path in ('/', '/projects', '/tasks/mine', '/admin/users', '/console')]
    assert order == sorted(order)
    admin = html[html.index('data-group="admin"') - 40 : html.index('</details>')]
    assert '<details class="enclave-nav-group" data-group="admin" open>' in admin  # the group of this page is open
    assert '<summary>Administration</summary>' in admin and 'href="/console' not in admin
    assert '<details class="enclave-nav-group" data-group="maintenance">' in html  # the other one starts closed
    assert '<a href="/admin/users" data-icon="group" class="nicegui-link" aria-current="page">' in html
    assert html.count('aria-current') == 1

    await user.open('/console/backups')
    html = nav_of(user)
    assert '<details class="enclave-nav-group" data-group="maintenance" open>' in html
    assert 'href="/console/backups" data-icon="backup" class="nicegui-link" aria-current="page"' in html

    await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    html = nav_of(user)
    assert '<details' not in html and 'href="/" data-icon="home" class="nicegui-link" aria-current="page"' in html


def test_a_page_belongs_to_the_longest_nav_entry_it_lies_under() -> None:
    from appliance.ui.frame import current_entry

    paths = ['/', '/projects', '/tasks/mine', '/console', '/console/backups']
    assert current_entry(paths, '/') == '/'
    assert current_entry(paths, '/projects/12/board') == '/projects'
    assert current_entry(paths, '/console/backups') == '/console/backups'
    assert current_entry(paths, '/console/backups/3') == '/console/backups'
    assert current_entry(paths, '/console') == '/console'
    assert current_entry(paths, '/consoles') == ''  # a prefix of the name is not a folder
    assert current_entry(paths, '/search') == ''  # home is only home


async def test_roles_read_in_the_readers_language(user: UIUser, people: People) -> None:
    from appliance.models import User

    with get_database().session() as session:
        session.get(User, people.alice.id).language = 'zh_CN'  # type: ignore[union-attr]
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await user.should_see(marker='users-table')
    [grid] = user.find(marker='users-table').elements
    roles = {row['username']: row['roles'] for row in grid.rows}  # type: ignore[attr-defined]
    assert roles == {'alice': '管理员', 'bob': '成员', 'charlie': '成员'}
    user.find(marker='new-user').click()
    [select] = user.find(marker='new-roles').elements
    assert select.options == {'admin': '管理员', 'member': '成员', 'hr': '人事'} and select.value == ['member']  # type: ignore[attr-defined]


async def test_an_empty_list_has_no_pager(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path='/admin/audit'))
    await user.should_see(marker='next-page')
    user.find(marker='audit-actor').type('nobody-at-all')
    await click(user, marker='audit-filter')
    await user.should_not_see(marker='next-page')  # no "0–0 of 0" with two dead arrows
