"""Maintenance → Certificate: nginx's certificate shown, the admin's own one checked before anything is asked of
the root side, the request written whole (request last), and tls.sh's `request` doing the root side's part."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nicegui.testing import User as UIUser

from appliance.config import get_settings
from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.models import AuditEvent
from console.certificate.services import certificate
from tests.appliance.support import count, sign_in_url
from tests.conftest import People, reload_user

TLS = Path(__file__).resolve().parents[2] / 'provisioning' / 'tls.sh'
PATH = '/console/certificate'
NOW = datetime.now(UTC)


def make_pair(
    name: str = 'enclave.corp.example', *, start: datetime = NOW - timedelta(days=1), days: int = 90
) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


@pytest.fixture
def tls_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in root whose nginx certificate tls.sh made; the app's settings point at it."""
    root = tmp_path / 'root'
    made = subprocess.run([str(TLS), 'ensure'], env={**os.environ, 'ENCLAVE_ROOT': str(root)}, capture_output=True)
    assert made.returncode == 0, made.stderr
    folder = root / 'etc' / 'enclave' / 'tls'
    monkeypatch.setenv('ENCLAVE_SERVER_CERTIFICATE', str(folder / 'server.crt'))
    get_settings.cache_clear()
    return folder


def requests(settings_dir: Path) -> dict[str, str]:
    folder = settings_dir / 'tls-request'
    return {p.name: p.read_text() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_check_takes_a_sound_pair_with_its_chain() -> None:
    cert, key = make_pair()
    chain_cert, _ = make_pair('Intermediate CA')
    assert certificate.check(cert + chain_cert, key).subject.rfc4514_string() == 'CN=enclave.corp.example'


@pytest.mark.parametrize(
    ('case', 'reason'),
    [
        ('empty', 'Paste both'),
        ('garbage', 'not PEM text'),
        ('other key', 'does not belong'),
        ('expired', 'expired on'),
        ('future', 'valid only from'),
        ('encrypted', 'passphrase'),
        ('not a key', 'not a PEM private key'),
        ('huge', 'at most 64 KiB'),
    ],
)
def test_check_refuses_with_the_reason(case: str, reason: str) -> None:
    cert, key = make_pair()
    _, other_key = make_pair()
    loaded = serialization.load_pem_private_key(key.encode(), password=None)
    encrypted = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b'pw')
    ).decode()
    pairs = {
        'empty': ('', key),
        'garbage': ('-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n', key),
        'other key': (cert, other_key),
        'expired': make_pair(start=NOW - timedelta(days=100), days=30),
        'future': make_pair(start=NOW + timedelta(days=10)),
        'encrypted': (cert, encrypted),
        'not a key': (cert, cert),
        'huge': (cert * 150, key),
    }
    with pytest.raises(ValidationError, match=reason):
        certificate.check(*pairs[case])


def test_a_request_is_written_whole_with_the_key_private(data_dir: Path, tls_dir: Path, people: People) -> None:
    cert, key = make_pair()
    ask_own(people.alice.id, cert, key)
    written = requests(data_dir)
    assert written == {'cert.pem': cert.strip() + '\n', 'key.pem': key.strip() + '\n', 'request': 'install\n'}
    assert (data_dir / 'tls-request' / 'key.pem').stat().st_mode & 0o777 == 0o600
    assert certificate.state(get_settings()).state == 'pending'
    assert count(AuditEvent, AuditEvent.action == 'certificate.install', AuditEvent.actor_name == 'alice') == 1
    # A second request while the first is pending is refused.
    with pytest.raises(Conflict, match='still being made'):
        with_session(lambda s: certificate.request_local(
            session=s, actor=reload_user(people.alice.id), settings=get_settings()))  # fmt: skip


def test_bob_may_not_ask_and_nothing_is_written(data_dir: Path, tls_dir: Path, people: People) -> None:
    cert, key = make_pair()
    with pytest.raises(PermissionDenied):
        ask_own(people.bob.id, cert, key)
    assert requests(data_dir) == {}


def test_without_enclaves_nginx_nothing_can_be_asked(data_dir: Path, people: People) -> None:
    cert, key = make_pair()
    assert not certificate.managed(get_settings()) and certificate.current(get_settings()) is None
    with pytest.raises(Conflict, match='not run by Enclave'):
        ask_own(people.alice.id, cert, key)
    assert requests(data_dir) == {}


def ask_own(user_id: int, cert: str, key: str) -> None:
    with_session(
        lambda s: certificate.request_own(
            session=s, actor=reload_user(user_id), settings=get_settings(), cert_pem=cert, key_pem=key
        )
    )


def with_session(fn: object) -> None:
    from appliance.db import get_database

    with get_database().session() as session:
        fn(session)  # type: ignore[operator]


def root_side(tls_dir: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    root = tls_dir.parents[2]
    return subprocess.run(
        [str(TLS), 'request', str(data_dir / 'tls-request')],
        env={**os.environ, 'ENCLAVE_ROOT': str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_root_side_installs_the_request_and_reports(data_dir: Path, tls_dir: Path, people: People) -> None:
    cert, key = make_pair()
    alice = reload_user(people.alice.id)
    with_session(lambda s: certificate.request_own(
        session=s, actor=alice, settings=get_settings(), cert_pem=cert, key_pem=key))  # fmt: skip
    done = root_side(tls_dir, data_dir)
    assert done.returncode == 0, done.stderr
    assert (tls_dir / 'server.crt').read_text() == cert.strip() + '\n'
    assert set(requests(data_dir)) == {'result'}  # the request and the key are gone
    outcome = certificate.state(get_settings())
    assert outcome.state == 'ok' and 'CN' in outcome.message
    info = certificate.current(get_settings())
    assert info is not None and info.own and info.names == ['enclave.corp.example']

    with_session(lambda s: certificate.request_local(session=s, actor=alice, settings=get_settings()))
    assert root_side(tls_dir, data_dir).returncode == 0
    assert certificate.state(get_settings()).state == 'ok'
    info = certificate.current(get_settings())
    assert info is not None and not info.own and 'localhost' in info.names


def test_the_root_side_refuses_a_swapped_or_unknown_request(data_dir: Path, tls_dir: Path) -> None:
    before = (tls_dir / 'server.crt').read_bytes()
    folder = data_dir / 'tls-request'
    folder.mkdir()
    (folder / 'cert.pem').symlink_to(tls_dir / 'ca.crt')  # a file the app should not be able to point at
    (folder / 'key.pem').symlink_to(tls_dir / 'ca.key')
    (folder / 'request').write_text('install\n')
    assert root_side(tls_dir, data_dir).returncode == 0
    outcome = certificate.state(get_settings())
    assert outcome.state == 'error' and 'not a regular file' in outcome.message, outcome
    assert (tls_dir / 'server.crt').read_bytes() == before
    (folder / 'request').write_text('rm -rf /\n')
    assert root_side(tls_dir, data_dir).returncode == 0
    assert certificate.state(get_settings()) == certificate.RequestState('error', 'unknown request')
    assert (tls_dir / 'server.crt').read_bytes() == before


async def test_alice_sees_the_certificate_and_a_bad_paste_changes_nothing(
    user: UIUser, people: People, data_dir: Path, tls_dir: Path
) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='certificate-status')
    await user.should_see("Issued by this box's local CA")
    await user.should_see(marker='nav:/console/certificate')
    cert, _ = make_pair()
    _, other_key = make_pair()
    user.find(marker='certificate-pem').type(cert)
    user.find(marker='key-pem').type(other_key)
    user.find(marker='use-own-certificate').click()
    await user.should_see('The key does not belong to the certificate (the first one in the text).')
    assert requests(data_dir) == {}


async def test_alice_asks_for_her_own_certificate_and_sees_it_pending(
    user: UIUser, people: People, data_dir: Path, tls_dir: Path
) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    cert, key = make_pair()
    user.find(marker='certificate-pem').type(cert)
    user.find(marker='key-pem').type(key)
    user.find(marker='use-own-certificate').click()
    await user.should_see(marker='certificate-pending')
    assert requests(data_dir)['request'] == 'install\n'


async def test_the_page_says_so_where_enclave_does_not_run_https(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='certificate-unmanaged')


async def test_bob_is_kept_out(user: UIUser, people: People) -> None:
    response = await user.http_client.get(PATH, follow_redirects=False)
    assert response.status_code in (303, 307)
