"""The /search page: bob finds 张伟; charlie may not search."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from nicegui.testing import User as UIUser

from appliance.models import AuditEvent
from tests.appliance.support import count, sign_in_url
from tests.conftest import People


async def test_it_finds_a_colleague_by_chinese_name_on_the_search_page(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path=f'/search?q={quote("张伟")}'))
    await user.should_see(marker='hit')
    await user.should_see('Bob 张伟 (bob)')


async def test_it_says_when_nothing_was_found(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path='/search?q=%25'))
    await user.should_see('Nothing found for "%".')


@pytest.mark.usefixtures('erin')
async def test_it_refuses_the_search_page_to_an_account_without_a_role(user: UIUser, people: People) -> None:
    await user.http_client.get(sign_in_url('erin'), follow_redirects=False)
    response = await user.http_client.get('/search?q=bob', follow_redirects=False)
    assert response.status_code == 403
    assert 'Bob' not in response.text
    assert count(AuditEvent, AuditEvent.action == 'permission.denied', AuditEvent.target == '/search') == 1
