"""/api/v1/me and /api/v1/users: who the caller is, and user administration for admins."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nicegui import core
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from appliance.db import get_database
from appliance.models import AuditEvent, LoginSession, User
from appliance.services import accounts, auth, tokens
from tests.appliance.support import Keys, bearer, count, error_of, login
from tests.conftest import PASSWORD, People, make_token, make_user, reload_user

NEW_USER = {'username': 'dave', 'display_name': 'Dave 大卫', 'password': PASSWORD, 'email': 'dave@example.org'}


def test_it_tells_the_caller_who_they_are(api: TestClient, keys: Keys) -> None:
    response = api.get('/api/v1/me', headers=keys.bob)
    assert response.status_code == 200
    me = response.json()
    assert (me['username'], me['display_name'], me['roles'], me['active']) == ('bob', 'Bob 张伟', ['member'], True)
    assert me['permissions'] == ['core.directory', 'core.search']
    assert not {'password_hash', 'totp_secret', 'password'} & set(me)


def test_it_gives_an_account_without_a_role_no_permissions(api: TestClient, erin: User) -> None:
    me = (api.get('/api/v1/me', headers=bearer(make_token(erin)))).json()
    assert (me['roles'], me['permissions']) == ([], [])


def test_it_lists_users_a_page_at_a_time(api: TestClient, keys: Keys) -> None:
    for n in range(4):
        make_user(username=f'user{n}')
    response = api.get('/api/v1/users?offset=1&limit=2', headers=keys.alice)
    assert response.status_code == 200
    page = response.json()
    assert (page['total'], page['offset'], page['limit']) == (7, 1, 2)
    assert [user['username'] for user in page['items']] == ['bob', 'charlie']


def test_it_filters_the_user_list(api: TestClient, keys: Keys) -> None:
    page = (api.get('/api/v1/users', params={'q': '张伟'}, headers=keys.alice)).json()
    assert [user['username'] for user in page['items']] == ['bob']
    assert page['total'] == 1


def test_it_creates_a_user(api: TestClient, keys: Keys) -> None:
    response = api.post('/api/v1/users', json=NEW_USER, headers=keys.alice)
    assert response.status_code == 201
    created = response.json()
    assert (created['username'], created['display_name'], created['roles']) == ('dave', 'Dave 大卫', ['member'])
    assert 'password' not in response.text
    saved = reload_user(created['id'])
    assert (saved.username, saved.email) == ('dave', 'dave@example.org')
    login('dave')  # the password works


def test_it_returns_one_user(api: TestClient, keys: Keys, people: People) -> None:
    response = api.get(f'/api/v1/users/{people.bob.id}', headers=keys.alice)
    assert response.status_code == 200
    assert response.json()['username'] == 'bob'


def test_it_lets_a_member_read_their_own_account_only(api: TestClient, keys: Keys, people: People) -> None:
    assert (api.get(f'/api/v1/users/{people.bob.id}', headers=keys.bob)).status_code == 200
    error = error_of(api.get(f'/api/v1/users/{people.alice.id}', headers=keys.bob), 403)
    assert error['code'] == 'forbidden'


def test_it_edits_a_user(api: TestClient, keys: Keys, people: People) -> None:
    response = api.patch(
        f'/api/v1/users/{people.bob.id}', json={'display_name': 'Robert', 'roles': ['admin']}, headers=keys.alice
    )
    assert response.status_code == 200
    assert (response.json()['display_name'], response.json()['roles']) == ('Robert', ['admin'])
    assert reload_user(people.bob.id).role_names == {'admin'}


def test_it_disables_a_user_whose_sessions_and_tokens_then_stop(api: TestClient, keys: Keys, people: People) -> None:
    live = login('bob')
    response = api.patch(f'/api/v1/users/{people.bob.id}', json={'active': False}, headers=keys.alice)
    assert response.status_code == 200
    assert response.json()['active'] is False
    assert not reload_user(people.bob.id).is_active
    assert count(LoginSession, LoginSession.id == live.session_id, LoginSession.ended_at.is_(None)) == 0
    error_of(api.get('/api/v1/me', headers=keys.bob), 401)

    response = api.patch(f'/api/v1/users/{people.bob.id}', json={'active': True}, headers=keys.alice)
    assert response.json()['active'] is True
    assert (api.get('/api/v1/me', headers=keys.bob)).status_code == 200


def test_it_refuses_to_disable_or_demote_the_last_admin(api: TestClient, keys: Keys, people: People) -> None:
    for change in ({'active': False}, {'roles': ['member']}, {'display_name': 'Still Alice', 'active': False}):
        error = error_of(api.patch(f'/api/v1/users/{people.alice.id}', json=change, headers=keys.alice), 409)
        assert error['code'] == 'conflict'
    alice = reload_user(people.alice.id)
    assert (alice.is_active, alice.role_names, alice.display_name) == (True, {'admin'}, 'Alice Admin')


def test_it_resets_a_password(api: TestClient, keys: Keys, people: People) -> None:
    live = login('bob')
    new_password = 'Fresh-Secret-For-Robert-9'
    response = api.post(f'/api/v1/users/{people.bob.id}/password', json={'password': new_password}, headers=keys.alice)
    assert response.status_code == 204
    assert response.content == b''
    with get_database().session() as session:
        assert auth.resolve_session(session=session, token=live.token) is None
    login('bob', new_password)


def test_it_revokes_the_owners_api_tokens_when_an_admin_resets_a_password(
    api: TestClient, keys: Keys, people: People
) -> None:
    bobs_token = bearer(make_token(people.bob, name='laptop script'))
    assert api.get('/api/v1/me', headers=bobs_token).status_code == 200

    response = api.post(
        f'/api/v1/users/{people.bob.id}/password', json={'password': 'Fresh-Secret-For-Robert-9'}, headers=keys.alice
    )

    assert response.status_code == 204
    assert api.get('/api/v1/me', headers=bobs_token).status_code == 401
    assert api.get('/api/v1/me', headers=keys.alice).status_code == 200  # the admin's own token is untouched
    with get_database().session() as session:
        reset = session.scalars(select(AuditEvent).where(AuditEvent.action == 'user.reset_password')).one()
        revoked = session.scalars(select(AuditEvent).where(AuditEvent.action == 'token.revoke')).all()
    assert json.loads(reset.details)['tokens_revoked'] >= 1
    assert {(event.actor_name, event.target, json.loads(event.details)['reason']) for event in revoked} == {
        ('alice', 'user:bob', 'password reset')
    }


def test_it_keeps_the_users_tokens_when_they_change_their_own_password(people: People) -> None:
    token = make_token(people.bob)
    live = login('bob')
    with get_database().session() as session:
        bob = session.get(User, people.bob.id)
        assert bob is not None
        accounts.change_own_password(
            session=session, actor=bob, current_password=PASSWORD, new_password='Fresh-Secret-For-Robert-9'
        )
    with get_database().session() as session:
        assert tokens.resolve_token(session=session, raw=token) is not None
        assert auth.resolve_session(session=session, token=live.token) is None


# ---- refusals ---------------------------------------------------------------------------------------------


ADMIN_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ('GET', '/api/v1/users', None),
    ('POST', '/api/v1/users', NEW_USER),
    ('GET', '/api/v1/users/{alice}', None),
    ('PATCH', '/api/v1/users/{alice}', {'display_name': 'Hacked'}),
    ('PATCH', '/api/v1/users/{alice}', {'active': False}),
    ('POST', '/api/v1/users/{alice}/password', {'password': 'Hacked-Password-123'}),
]


@pytest.mark.parametrize('who', ['bob', 'charlie'])
@pytest.mark.parametrize(('method', 'path', 'body'), ADMIN_CALLS)
def test_it_refuses_admin_routes_to_non_admins(
    api: TestClient, keys: Keys, people: People, who: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = path.format(alice=people.alice.id)
    response = api.request(method, url, json=body, headers=getattr(keys, who))
    assert error_of(response, 403)['code'] == 'forbidden'
    assert count(User) == 3
    alice = reload_user(people.alice.id)
    assert (alice.display_name, alice.is_active) == ('Alice Admin', True)
    login('alice')  # the password is unchanged
    assert count(AuditEvent, AuditEvent.action == 'permission.denied', AuditEvent.actor_name == who) == 1


@pytest.mark.parametrize('method', ['GET', 'PATCH'])
def test_it_says_when_a_user_does_not_exist(api: TestClient, keys: Keys, method: str) -> None:
    body = {'display_name': 'Ghost'} if method == 'PATCH' else None
    error = error_of(api.request(method, '/api/v1/users/9999', json=body, headers=keys.alice), 404)
    assert error == {'code': 'not_found', 'message': 'No such user.'}


def test_it_refuses_a_taken_username(api: TestClient, keys: Keys) -> None:
    error = error_of(api.post('/api/v1/users', json={**NEW_USER, 'username': 'BOB'}, headers=keys.alice), 409)
    assert 'already taken' in error['message']
    assert count(User) == 3


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        ({**NEW_USER, 'password': 'password123456'}, 'password'),
        ({**NEW_USER, 'username': 'no spaces'}, 'username'),
        ({**NEW_USER, 'username': 'x' * 65}, 'username'),
        ({**NEW_USER, 'display_name': 'x' * 201}, 'display_name'),
        ({**NEW_USER, 'display_name': 'x' * 129}, 'display_name'),
        ({**NEW_USER, 'password': 'x' * 1001}, 'password'),
        ({**NEW_USER, 'email': 'x' * 301}, 'email'),
        ({**NEW_USER, 'roles': ['emperor']}, 'roles'),
        ({**NEW_USER, 'roles': 'admin'}, 'roles'),
        ({'username': 'dave'}, 'display_name'),
    ],
)
def test_it_changes_nothing_when_the_new_user_is_invalid(
    api: TestClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    error = error_of(api.post('/api/v1/users', json=body, headers=keys.alice), 422)
    assert error['code'] == 'invalid'
    assert field in error['message'] or error.get('field') == field
    assert count(User) == 3
    assert count(AuditEvent, AuditEvent.action == 'user.create') == 0


def test_it_refuses_a_body_that_is_not_json(api: TestClient, keys: Keys) -> None:
    response = api.post(
        '/api/v1/users', content=b'{"username": "dave",', headers={**keys.alice, 'Content-Type': 'application/json'}
    )
    error = error_of(response, 422)
    assert (error['code'], error['message']) == ('invalid', 'The request body is not valid JSON.')
    assert count(User) == 3


def test_it_names_the_field_that_is_wrong(api: TestClient, keys: Keys) -> None:
    error = error_of(api.post('/api/v1/users', json={'username': 'dave'}, headers=keys.alice), 422)
    assert error['message'].startswith('display_name: ')
    assert error_of(api.get('/api/v1/users?limit=0', headers=keys.alice), 422)['message'].startswith('query.limit: ')


def test_it_changes_nothing_when_an_edit_is_partly_invalid(api: TestClient, keys: Keys, people: People) -> None:
    body = {'display_name': 'Robert', 'email': 'not-an-address'}
    error = error_of(api.patch(f'/api/v1/users/{people.bob.id}', json=body, headers=keys.alice), 422)
    assert error['field'] == 'email'
    assert reload_user(people.bob.id).display_name == 'Bob 张伟'


def test_it_refuses_a_weak_reset_password(api: TestClient, keys: Keys, people: People) -> None:
    url = f'/api/v1/users/{people.bob.id}/password'
    error = error_of(api.post(url, json={'password': 'bob-bob-bob-bob'}, headers=keys.alice), 422)
    assert error['field'] == 'password'
    login('bob')


@pytest.mark.parametrize('query', ['limit=0', 'limit=201', 'limit=ten', 'offset=-1', f'q={"x" * 201}'])
def test_it_refuses_bad_paging(api: TestClient, keys: Keys, query: str) -> None:
    assert error_of(api.get(f'/api/v1/users?{query}', headers=keys.alice), 422)['code'] == 'invalid'


def test_it_does_not_let_a_token_act_for_a_disabled_admin(api: TestClient, people: People) -> None:
    dave = make_user(username='dave', roles=['admin'])
    token = make_token(dave)
    with get_database().session() as session:
        session.get(User, dave.id).is_active = False  # type: ignore[union-attr]
    error = error_of(api.get('/api/v1/users', headers=bearer(token)), 401)
    assert error['code'] == 'unauthenticated'


def test_it_commits_before_it_answers(app_client: TestClient, keys: Keys) -> None:
    users_when_answered: list[int] = []

    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        async def look_then_send(message: Message) -> None:
            if message['type'] == 'http.response.start':
                # Off the event loop, as the app's own database work (a session on it fails the test).
                users_when_answered.append(await asyncio.to_thread(count, User))
            await send(message)

        await core.app(scope, receive, look_then_send)

    response = TestClient(watch, base_url='http://test').post('/api/v1/users', json=NEW_USER, headers=keys.alice)
    assert response.status_code == 201
    assert users_when_answered == [4]  # a client that hears 201 finds the user on its very next request
