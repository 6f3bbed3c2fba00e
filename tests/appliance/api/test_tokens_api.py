"""/api/v1/tokens, and how the API refuses a missing, wrong, revoked or expired token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from appliance.db import get_database, utcnow
from appliance.models import ApiToken, User
from appliance.services import touches
from tests.appliance.support import Keys, bearer, count, error_of
from tests.conftest import People, make_token


def test_it_creates_a_token_shown_once(api: TestClient, keys: Keys) -> None:
    response = api.post('/api/v1/tokens', json={'name': 'backup script', 'expires_days': 30}, headers=keys.bob)
    assert response.status_code == 201
    created = response.json()
    raw = created['token']
    assert raw.startswith('enc_') and created['prefix'] == raw[:10]
    assert (api.get('/api/v1/me', headers=bearer(raw))).json()['username'] == 'bob'

    listed = (api.get('/api/v1/tokens', headers=keys.bob)).json()['items']
    newest_first = [('backup script', None, False), ('test', None, False)]
    assert [(t['name'], t['token'], t['revoked']) for t in listed] == newest_first
    assert raw not in (api.get('/api/v1/tokens', headers=keys.bob)).text
    with get_database().session() as session:
        stored = '\n'.join(str(row) for row in session.execute(text('SELECT * FROM core_api_tokens')))
        audited = '\n'.join(str(row) for row in session.execute(text('SELECT * FROM core_audit')))
    assert raw not in stored
    assert raw not in audited


def test_it_lists_only_the_callers_tokens(api: TestClient, keys: Keys) -> None:
    listed = (api.get('/api/v1/tokens', headers=keys.alice)).json()['items']
    assert [token['name'] for token in listed] == ['test']
    assert count(ApiToken) == 3


def test_it_revokes_a_token(api: TestClient, keys: Keys, people: People) -> None:
    raw = make_token(people.bob, name='laptop')
    [row] = [t for t in (api.get('/api/v1/tokens', headers=keys.bob)).json()['items'] if t['name'] == 'laptop']
    response = api.delete(f'/api/v1/tokens/{row["id"]}', headers=keys.bob)
    assert response.status_code == 204
    error = error_of(api.get('/api/v1/me', headers=bearer(raw)), 401)
    assert error['code'] == 'unauthenticated'
    listed = {t['name']: t['revoked'] for t in (api.get('/api/v1/tokens', headers=keys.bob)).json()['items']}
    assert listed == {'laptop': True, 'test': False}


def test_it_refuses_to_revoke_someone_elses_token(api: TestClient, keys: Keys, people: People) -> None:
    raw = make_token(people.alice, name='admin tool')
    with get_database().session() as session:
        token_id = session.scalar(text("SELECT id FROM core_api_tokens WHERE name = 'admin tool'"))
    assert error_of(api.delete(f'/api/v1/tokens/{token_id}', headers=keys.bob), 403)['code'] == 'forbidden'
    assert (api.get('/api/v1/me', headers=bearer(raw))).status_code == 200


def test_it_says_when_a_token_does_not_exist(api: TestClient, keys: Keys) -> None:
    assert error_of(api.delete('/api/v1/tokens/9999', headers=keys.bob), 404)['code'] == 'not_found'


@pytest.mark.parametrize(
    'body',
    [
        {'name': ''},
        {'name': '   '},
        {'name': 'x' * 201},
        {'name': 'x' * 101},
        {'name': 'ok', 'expires_days': 0},
        {'name': 'ok', 'expires_days': 3651},
        {},
    ],
)
def test_it_changes_nothing_when_a_new_token_is_invalid(api: TestClient, keys: Keys, body: dict) -> None:
    assert error_of(api.post('/api/v1/tokens', json=body, headers=keys.bob), 422)['code'] == 'invalid'
    assert count(ApiToken) == 3


# ---- refused tokens -----------------------------------------------------------------------------------------


def test_it_requires_a_token(api: TestClient) -> None:
    response = api.get('/api/v1/me')
    error = error_of(response, 401)
    assert error['code'] == 'unauthenticated'
    assert 'Bearer' in error['message']
    assert response.headers['WWW-Authenticate'] == 'Bearer'


@pytest.mark.parametrize(
    'header', ['Bearer', 'Bearer ', 'Bearer enc_made-up', 'Bearer not-even-our-prefix', 'Basic YWxpY2U6cHc=', 'enc_x']
)
def test_it_refuses_an_invalid_token(api: TestClient, people: People, header: str) -> None:
    error = error_of(api.get('/api/v1/me', headers={'Authorization': header}), 401)
    assert error['code'] == 'unauthenticated'


def test_it_refuses_an_expired_token(api: TestClient, people: People) -> None:
    raw = make_token(people.bob)
    with get_database().session() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    error = error_of(api.get('/api/v1/me', headers=bearer(raw)), 401)
    assert error['message'] == 'The token is invalid, expired or revoked.'


def test_it_accepts_a_token_until_it_expires(api: TestClient, people: People) -> None:
    raw = make_token(people.bob)
    with get_database().session() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() + timedelta(minutes=1)))
    assert (api.get('/api/v1/me', headers=bearer(raw))).status_code == 200


def test_it_refuses_the_token_of_a_disabled_user(api: TestClient, people: People) -> None:
    raw = make_token(people.bob)
    with get_database().session() as session:
        session.execute(update(User).where(User.id == people.bob.id).values(is_active=False))
    assert error_of(api.get('/api/v1/me', headers=bearer(raw)), 401)['code'] == 'unauthenticated'


def test_it_notes_when_a_token_was_last_used(api: TestClient, people: People) -> None:
    raw = make_token(people.bob)
    api.get('/api/v1/me', headers=bearer(raw))
    with get_database().session() as session:
        assert session.scalar(text('SELECT last_used_at FROM core_api_tokens')) is None  # noted, not yet written
    assert touches.flush_now() == 1  # what the app does every few seconds
    with get_database().session() as session:
        last_used = session.scalar(text('SELECT last_used_at FROM core_api_tokens'))
    assert last_used is not None
