"""alice administers users in the browser; bob and charlie are kept out of /admin."""

from __future__ import annotations

import pytest
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import AuditEvent
from appliance.services import accounts, auth, tokens
from tests.appliance.support import count, login, sign_in_url
from tests.conftest import People, make_token, reload_user
from tests.support.ui import trigger

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
    await user.open('/admin/audit')
    await user.should_see(marker='audit-table')
    await user.should_see(marker='next-page')
