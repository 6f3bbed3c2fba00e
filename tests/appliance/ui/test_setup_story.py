"""First start: no accounts, every page leads to the setup wizard, which runs once."""

from __future__ import annotations

import pytest
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import OrgSetting, User
from appliance.services import accounts
from tests.appliance.support import count
from tests.conftest import PASSWORD, People


@pytest.mark.parametrize('path', ['/', '/login', '/profile', '/admin/users', '/search?q=x'])
async def test_it_sends_every_page_to_setup_while_no_account_exists(user: UIUser, path: str) -> None:
    response = await user.http_client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers['location']) == (303, '/setup')


async def test_it_creates_the_first_admin_in_the_wizard(user: UIUser) -> None:
    await user.open('/setup')
    user.find(marker='org_name').type('Acme 有限公司')
    user.find(marker='username').type('root')
    user.find(marker='display_name').type('Root Admin')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='confirm').type(PASSWORD)
    user.find(marker='finish').click()
    await user.should_see('Setup complete. Sign in with your new account.')
    await user.should_see(marker='sign-in')
    with get_database().session() as session:
        root = accounts.find_user(session, 'root')
        assert root is not None and root.role_names == {'admin'}
        assert session.get(OrgSetting, 'org_name').value == 'Acme 有限公司'  # type: ignore[union-attr]


async def test_it_keeps_the_wizard_closed_once_done(user: UIUser, people: People) -> None:
    response = await user.http_client.get('/setup', follow_redirects=False)
    assert (response.status_code, response.headers['location']) == (303, '/login')


async def test_it_creates_nothing_when_the_passwords_differ(user: UIUser) -> None:
    await user.open('/setup')
    user.find(marker='org_name').type('Acme')
    user.find(marker='username').type('root')
    user.find(marker='display_name').type('Root')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='confirm').type(PASSWORD + 'x')
    user.find(marker='finish').click()
    await user.should_see('The two passwords differ.')
    assert count(User) == 0


async def test_it_explains_a_weak_password_and_creates_nothing(user: UIUser) -> None:
    await user.open('/setup')
    user.find(marker='org_name').type('Acme')
    user.find(marker='username').type('root')
    user.find(marker='display_name').type('Root')
    user.find(marker='password').type('password123456')
    user.find(marker='confirm').type('password123456')
    user.find(marker='finish').click()
    await user.should_see('This password is one of the most common passwords. Choose another.')
    assert (count(User), count(OrgSetting)) == (0, 0)
