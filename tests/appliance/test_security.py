"""HTTP security: headers on every response, local-only redirects, cookie flags, same-origin Socket.IO."""

from __future__ import annotations

import logging

import pytest
from nicegui import __version__ as nicegui_version

from appliance.config import get_settings
from appliance.db import get_database
from appliance.models import LoginSession
from appliance.web.security import safe_next
from appliance.web.sessions import COOKIE
from tests.appliance.support import (  # noqa: F401 - fixtures
    TestClient,
    api_fixture,
    app_client_fixture,
    audit_rows,
    count,
    fast_hashing,
    sign_in_url,
)
from tests.conftest import People

SOCKET_IO = '/_nicegui_ws/socket.io/?EIO=4&transport=polling'


@pytest.mark.parametrize(
    ('target', 'safe'),
    [
        ('/', '/'),
        ('/admin/users?user=2', '/admin/users?user=2'),
        ('/search?q=%E5%BC%A0%E4%BC%9F', '/search?q=%E5%BC%A0%E4%BC%9F'),
        (None, '/'),
        ('', '/'),
        ('//evil.com', '/'),
        ('///evil.com', '/'),
        ('https://evil.com', '/'),
        ('/\\evil.com', '/'),
        ('\\\\evil.com', '/'),
        ('evil.com', '/'),
        ('javascript:alert(1)', '/'),
        ('/\t/evil.com', '/'),
        ('/\r\nSet-Cookie: x=1', '/'),
    ],
)
def test_it_redirects_only_to_local_paths(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


@pytest.mark.parametrize(
    'path',
    [
        '/login',
        '/',
        '/healthz',
        '/api/v1/me',
        '/api/v1/nothing-here',
        '/no-such-page',
        '/auth/logout',
        '/auth/session?ticket=made-up',
        f'/_nicegui/{nicegui_version}/static/nicegui.css',
    ],
)
def test_it_sends_the_security_headers_on_every_response(api: TestClient, people: People, path: str) -> None:
    response = api.get(path, follow_redirects=False)
    csp = response.headers['content-security-policy']
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert 'http:' not in csp and 'https:' not in csp  # no other host is trusted
    assert response.headers['x-content-type-options'] == 'nosniff'
    assert response.headers['x-frame-options'] == 'DENY'
    assert response.headers['referrer-policy'] == 'same-origin'
    assert 'strict-transport-security' not in response.headers


@pytest.mark.parametrize(
    ('next_path', 'location'),
    [
        ('/admin/users', '/admin/users'),
        ('//evil.com', '/'),
        ('https://evil.com', '/'),
        ('/\\evil.com', '/'),
    ],
)
def test_it_sends_the_signed_in_user_only_to_a_local_page(
    api: TestClient, people: People, next_path: str, location: str
) -> None:
    response = api.get(sign_in_url('alice', next_path=next_path), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers['location'] == location


def test_it_sets_an_httponly_lax_session_cookie(api: TestClient, people: People) -> None:
    response = api.get(sign_in_url('bob'), follow_redirects=False)
    [cookie] = [cookie for cookie in response.headers.get_list('set-cookie') if cookie.startswith(f'{COOKIE}=')]
    assert 'HttpOnly' in cookie
    assert 'SameSite=lax' in cookie
    assert 'Path=/' in cookie
    assert f'Max-Age={get_settings().session_max_hours * 3600}' in cookie
    assert 'Secure' not in cookie


def test_it_sends_a_failed_ticket_back_to_the_login_page_without_a_cookie(api: TestClient, people: People) -> None:
    response = api.get('/auth/session?ticket=made-up&next=/admin/users', follow_redirects=False)
    assert (response.status_code, response.headers['location']) == (303, '/login?expired=1')
    assert COOKIE not in response.headers.get('set-cookie', '')
    assert count(LoginSession) == 0


def test_it_ends_the_session_and_clears_the_cookie_at_logout(api: TestClient, people: People) -> None:
    api.get(sign_in_url('bob'), follow_redirects=False)
    token = api.cookies[COOKIE]
    assert api.get('/auth/logout', follow_redirects=False).status_code == 405  # a link cannot sign anyone out
    refused = api.post('/auth/logout', headers={'Origin': 'http://evil.example'}, follow_redirects=False)
    assert refused.status_code == 403
    assert count(LoginSession, LoginSession.ended_at.is_(None)) == 1
    response = api.post('/auth/logout', follow_redirects=False)
    assert (response.status_code, response.headers['location']) == (303, '/login')
    [cleared] = [cookie for cookie in response.headers.get_list('set-cookie') if cookie.startswith(f'{COOKIE}=')]
    assert cleared.startswith(f'{COOKIE}="";') and 'Max-Age=0' in cleared
    assert count(LoginSession, LoginSession.ended_at.is_(None)) == 0
    assert [row.actor_name for row in audit_rows('logout')] == ['bob']

    api.cookies.set(COOKIE, token)  # a stolen copy of the old cookie opens nothing
    assert api.get('/', follow_redirects=False).headers['location'] == '/login?next=/'


def test_it_refuses_socket_io_from_another_origin(api: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger='engineio.server')
    response = api.get(SOCKET_IO, headers={'Origin': 'http://evil.example'})
    assert response.status_code == 400
    assert 'not an accepted origin' in response.text


def test_it_accepts_socket_io_from_its_own_origin(api: TestClient) -> None:
    response = api.get(SOCKET_IO, headers={'Origin': 'http://test'})
    assert response.status_code == 200
    assert '"sid"' in response.text


def test_it_stores_nothing_about_the_session_in_the_database_but_a_hash(api: TestClient, people: People) -> None:
    api.get(sign_in_url('bob'), follow_redirects=False)
    token = api.cookies[COOKIE]
    with get_database().session() as session:
        hashes = [row.token_hash for row in session.query(LoginSession)]
    assert token not in hashes and len(hashes) == 1


def test_it_keeps_a_live_session_when_another_site_links_to_signed_out(api: TestClient, people: People) -> None:
    api.get(sign_in_url('bob'), follow_redirects=False)

    response = api.get('/auth/signed-out', follow_redirects=False)

    assert (response.status_code, response.headers['location']) == (303, '/')
    assert COOKIE not in response.headers.get('set-cookie', '')
    assert count(LoginSession, LoginSession.ended_at.is_(None)) == 1
