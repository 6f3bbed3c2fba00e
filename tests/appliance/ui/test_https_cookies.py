"""Behind TLS (ENCLAVE_HTTPS=true, read when the app is built): Secure cookies and HSTS."""

from __future__ import annotations

import pytest
from nicegui.testing import User as UIUser

from appliance.config import get_settings
from appliance.web.sessions import COOKIE
from tests.appliance.support import sign_in_url
from tests.conftest import People


@pytest.fixture
def https(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve as if behind TLS (request it before `user`, which builds the app)."""
    monkeypatch.setenv('ENCLAVE_HTTPS', 'true')
    get_settings.cache_clear()


def cookie_named(response_cookies: list[str], name: str) -> str:
    [cookie] = [cookie for cookie in response_cookies if cookie.startswith(f'{name}=')]
    return cookie.lower()


async def test_it_marks_cookies_secure_and_sends_hsts_over_https(https: None, user: UIUser, people: People) -> None:
    response = await user.http_client.get(sign_in_url('bob'), follow_redirects=False)
    session_cookie = cookie_named(response.headers.get_list('set-cookie'), COOKIE)
    assert {'secure', 'httponly', 'samesite=lax'} <= {part.strip() for part in session_cookie.split(';')}
    assert response.headers['strict-transport-security'] == 'max-age=31536000'

    page = await user.http_client.get('/login')
    storage_cookie = cookie_named(page.headers.get_list('set-cookie'), 'session')
    assert {'secure', 'httponly', 'samesite=lax'} <= {part.strip() for part in storage_cookie.split(';')}
