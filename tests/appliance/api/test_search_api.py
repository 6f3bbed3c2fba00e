"""/api/v1/search: every provider, Chinese and English, only for those allowed to search."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from appliance.models import AuditEvent, User
from tests.appliance.support import Keys, bearer, count, error_of
from tests.conftest import make_token, make_user


def search(api: TestClient, headers: dict[str, str], q: str, **params: object) -> list[str]:
    response = api.get('/api/v1/search', params={'q': q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()['query'] == q
    return [hit['title'] for hit in response.json()['items']]


def test_it_finds_a_colleague_by_a_two_character_chinese_name(api: TestClient, keys: Keys) -> None:
    assert search(api, keys.bob, '张伟') == ['Bob 张伟 (bob)']


def test_it_finds_a_colleague_by_an_english_name(api: TestClient, keys: Keys) -> None:
    assert search(api, keys.alice, 'BOB') == ['Bob 张伟 (bob)']


def test_it_shows_contact_details_only_to_admins(api: TestClient, keys: Keys) -> None:
    make_user(username='dave', display_name='Dave', email='dave@example.org')
    admin_view = (api.get('/api/v1/search?q=dave', headers=keys.alice)).json()['items'][0]
    member_view = (api.get('/api/v1/search?q=dave', headers=keys.bob)).json()['items'][0]
    assert (admin_view['snippet'], admin_view['url'].startswith('/admin/users')) == ('dave@example.org', True)
    assert (member_view['snippet'], member_view['url']) == ('', '/')


def test_it_treats_like_wildcards_as_text(api: TestClient, keys: Keys) -> None:
    make_user(username='dave_x', display_name='Dave 100%')
    assert search(api, keys.bob, '%') == ['Dave 100% (dave_x)']
    assert search(api, keys.bob, '_') == ['Dave 100% (dave_x)']


def test_it_cuts_the_results_to_the_limit(api: TestClient, keys: Keys) -> None:
    for n in range(5):
        make_user(username=f'team{n}')
    assert len(search(api, keys.bob, 'team', limit=3)) == 3


def test_it_refuses_an_account_without_a_role(api: TestClient, erin: User) -> None:
    error = error_of(api.get('/api/v1/search?q=bob', headers=bearer(make_token(erin))), 403)
    assert error['code'] == 'forbidden'
    assert count(AuditEvent, AuditEvent.action == 'permission.denied', AuditEvent.target == 'search') == 1


@pytest.mark.parametrize('query', ['q=', 'q=%20%20', f'q={"x" * 201}', 'q=bob&limit=0', 'q=bob&limit=101'])
def test_it_refuses_a_bad_query(api: TestClient, keys: Keys, query: str) -> None:
    assert error_of(api.get(f'/api/v1/search?{query}', headers=keys.bob), 422)['code'] == 'invalid'


def test_it_requires_a_token(api: TestClient) -> None:
    assert error_of(api.get('/api/v1/search?q=bob'), 401)['code'] == 'unauthenticated'
