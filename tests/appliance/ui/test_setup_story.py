"""First start: no accounts, every page leads to the setup wizard, which runs once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from nicegui.testing import User as UIUser

from appliance.config import get_settings
from appliance.db import get_database
from appliance.models import OrgSetting, User
from appliance.secrets import KEY_CHECK_SETTING
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
    # Start-up keeps the data key's check value among the settings; the wizard added nothing.
    assert (count(User), count(OrgSetting, OrgSetting.key != KEY_CHECK_SETTING)) == (0, 0)


def make_ca(folder: Path) -> Path:
    """A CA certificate made the way provisioning/tls.sh makes one."""
    key, cert = folder / 'ca.key', folder / 'ca.crt'
    subprocess.run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', str(key)], check=True)
    subprocess.run(
        ['openssl', 'req', '-x509', '-new', '-key', str(key), '-days', '30', '-subj', '/O=Enclave/CN=Test CA',
         '-out', str(cert)],
        check=True,
    )  # fmt: skip
    return cert


def fingerprint(cert: Path) -> str:
    out = subprocess.run(
        ['openssl', 'x509', '-in', str(cert), '-noout', '-fingerprint', '-sha256'], capture_output=True, text=True
    ).stdout
    return out.strip().partition('=')[2]


async def test_the_wizard_offers_the_local_ca_with_its_fingerprint(
    user: UIUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = make_ca(tmp_path)
    monkeypatch.setenv('ENCLAVE_CA_CERTIFICATE', str(cert))
    get_settings.cache_clear()
    await user.open('/setup')
    await user.should_see(marker='ca-download')
    await user.should_see(fingerprint(cert))
    response = await user.http_client.get('/ca.crt')
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/x-x509-ca-cert'
    assert response.content == cert.read_bytes()


async def test_without_a_local_ca_the_wizard_offers_none_and_ca_crt_is_404(
    user: UIUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await user.open('/setup')
    await user.should_not_see(marker='ca-download')
    assert (await user.http_client.get('/ca.crt')).status_code == 404
    # A configured path that is missing or holds something other than a certificate is the same as none.
    for content in (None, b'not a certificate', b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'):
        target = tmp_path / 'ca.crt'
        if content is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(content)
        monkeypatch.setenv('ENCLAVE_CA_CERTIFICATE', str(target))
        get_settings.cache_clear()
        assert (await user.http_client.get('/ca.crt')).status_code == 404
