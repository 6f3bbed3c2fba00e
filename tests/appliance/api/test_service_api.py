"""What every API caller relies on: one error shape, the OpenAPI document, and /healthz."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from appliance import __version__
from appliance.config import get_settings
from appliance.db import get_database
from appliance.secrets import data_encryption_key, session_secret
from tests.appliance.support import Keys, error_of

API_PATHS = {
    '/api/v1/me',
    '/api/v1/users',
    '/api/v1/users/{user_id}',
    '/api/v1/users/{user_id}/password',
    '/api/v1/tokens',
    '/api/v1/tokens/{token_id}',
    '/api/v1/search',
}


@pytest.mark.parametrize('path', ['/api/v1/nothing-here', '/api/v1/users/1/nothing', '/api/v2/me'])
def test_it_answers_an_unknown_api_route_in_the_error_shape(api: TestClient, keys: Keys, path: str) -> None:
    assert error_of(api.get(path, headers=keys.alice), 404)['code'] == 'not_found'


def test_it_still_answers_an_unknown_page_with_html(api: TestClient) -> None:
    response = api.get('/no-such-page')
    assert response.status_code == 404
    assert response.headers['content-type'].startswith('text/html')


@pytest.mark.parametrize(
    ('language', 'words'),
    [
        (
            'en-US,en;q=0.9',
            ['<html lang="en">', 'Not found', 'There is no page at this address', 'Back to the home page'],
        ),
        ('zh-CN,zh;q=0.9', ['<html lang="zh-CN">', '这个地址没有页面', '<a class="back" href="/">']),
    ],
)
def test_an_unknown_address_gets_a_page_in_the_browsers_language_with_the_way_home(
    api: TestClient, language: str, words: list[str]
) -> None:
    response = api.get('/projects/1/no-such-tab/<script>', headers={'Accept-Language': language})
    assert response.status_code == 404
    for word in words:
        assert word in response.text
    assert 'HTTPException' not in response.text and '<script>' not in response.text
    assert '<header><a href="/">Enclave</a></header>' in response.text  # the frame's bar, without its scripts


def test_a_signed_in_reader_gets_the_unknown_address_page_in_their_own_language(api: TestClient, keys: Keys) -> None:
    from appliance.models import User
    from appliance.web.sessions import COOKIE
    from tests.appliance.support import login

    with get_database().session() as session:
        session.scalars(select(User).where(User.username == 'bob')).one().language = 'zh_CN'
    token = login('bob').token
    response = api.get('/no-such-page', headers={'Accept-Language': 'en-US'}, cookies={COOKIE: token})
    assert response.status_code == 404 and '这个地址没有页面' in response.text
    stale = api.get('/no-such-page', headers={'Accept-Language': 'en-US'}, cookies={COOKIE: 'not-a-session'})
    assert stale.status_code == 404 and 'There is no page at this address' in stale.text


def test_it_answers_a_wrong_method_in_the_error_shape(api: TestClient, keys: Keys) -> None:
    assert error_of(api.delete('/api/v1/me', headers=keys.alice), 405)['code'] == 'method_not_allowed'


def test_it_says_which_field_is_wrong(api: TestClient, keys: Keys) -> None:
    response = api.get('/api/v1/users?limit=0', headers=keys.alice)
    error = error_of(response, 422)
    assert error['message'].startswith('query.limit: ')
    assert error['details'][0]['field'] == 'query.limit'


def test_it_publishes_the_api_in_openapi(api: TestClient) -> None:
    response = api.get('/api/v1/openapi.json')
    assert response.status_code == 200
    doc = response.json()
    assert API_PATHS <= set(doc['paths'])
    assert all(path.startswith('/api/v1/') for path in doc['paths'])
    assert '/api/v1/openapi.json' not in doc['paths']
    assert set(doc['paths']['/api/v1/users']) == {'get', 'post'}
    assert doc['components']['securitySchemes'] == {'token': {'type': 'http', 'scheme': 'bearer'}}


def test_it_reports_health_without_secrets(api: TestClient) -> None:
    settings = get_settings()
    secrets = [session_secret(settings.data_dir), data_encryption_key(settings.data_dir).hex()]
    response = api.get('/healthz')
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {'status', 'version', 'uptime_seconds', 'worker', 'checks'}
    assert (body['status'], body['version']) == ('ok', __version__)
    assert body['checks'] == {'database': 'ok', 'migrations': 'ok', 'disk': 'ok'}
    for secret in [*secrets, str(settings.data_dir), settings.sqlalchemy_url, 'sqlite']:
        assert secret not in response.text


def test_it_reports_an_unknown_schema_revision_as_unhealthy(api: TestClient) -> None:
    with get_database().session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    response = api.get('/healthz')
    assert response.status_code == 503
    assert (response.json()['status'], response.json()['checks']['migrations']) == ('error', 'unknown revision')


def test_it_reports_an_unreachable_database_as_unhealthy(api: TestClient) -> None:
    with get_database().session() as session:
        session.execute(text('DROP TABLE alembic_version'))
    response = api.get('/healthz')
    assert response.status_code == 503
    assert response.json()['checks']['migrations'] == 'pending'
