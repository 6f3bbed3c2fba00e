"""nginx's certificate (provisioning/tls.sh), in a folder that stands in for the root: the local CA and a server
certificate made once; the admin's own certificate taken only when it is sound, and back to the local one."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

TLS = Path(__file__).resolve().parents[2] / 'provisioning' / 'tls.sh'


def tls(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TLS), *args], env={**os.environ, 'ENCLAVE_ROOT': str(root)}, capture_output=True, text=True, timeout=60
    )


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def own_certificate(folder: Path, *, days: int = 90, name: str = 'own') -> tuple[Path, Path]:
    key, cert = folder / f'{name}.key', folder / f'{name}.crt'
    subprocess.run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', str(key)], check=True)
    if days > 0:
        subprocess.run(
            ['openssl', 'req', '-x509', '-new', '-key', str(key), '-days', str(days),
             '-subj', '/CN=enclave.corp.example', '-out', str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        return cert, key
    # openssl req cannot back-date; an expired certificate is made with cryptography.
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'enclave.corp.example')])
    built = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC)).not_valid_after(datetime(2020, 2, 1, tzinfo=UTC))
        .sign(private, hashes.SHA256())  # type: ignore[arg-type]
    )  # fmt: skip
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    return cert, key


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = tls(tmp_path / 'root', 'ensure')
    assert made.returncode == 0, made.stderr
    return tmp_path / 'root'


def test_ensure_makes_the_ca_and_a_certificate_once(root: Path) -> None:
    folder = root / 'etc' / 'enclave' / 'tls'
    verify = subprocess.run(
        ['openssl', 'verify', '-CAfile', str(folder / 'ca.crt'), str(folder / 'server.crt')], capture_output=True
    )
    assert verify.returncode == 0
    before = folder_digest(folder)
    assert tls(root, 'ensure').returncode == 0
    assert folder_digest(folder) == before


def test_a_certificate_missing_this_hosts_name_is_issued_again(root: Path, tmp_path: Path) -> None:
    folder = root / 'etc' / 'enclave' / 'tls'
    ca_before = (folder / 'ca.crt').read_bytes()
    cert, key = own_certificate(tmp_path)  # a certificate for another name, placed as if it were the local one
    (folder / 'server.crt').write_bytes(cert.read_bytes())
    (folder / 'server.key').write_bytes(key.read_bytes())
    again = tls(root, 'ensure')
    assert again.returncode == 0 and 'issued a certificate' in again.stdout
    assert (folder / 'ca.crt').read_bytes() == ca_before  # the CA browsers trust stays
    assert (
        b'enclave.corp.example'
        not in subprocess.run(
            ['openssl', 'x509', '-in', str(folder / 'server.crt'), '-noout', '-subject'], capture_output=True
        ).stdout
    )


def test_the_admins_own_certificate_is_used_and_kept(root: Path, tmp_path: Path) -> None:
    folder = root / 'etc' / 'enclave' / 'tls'
    cert, key = own_certificate(tmp_path)
    done = tls(root, 'install', str(cert), str(key))
    assert done.returncode == 0, done.stderr
    assert (folder / 'server.crt').read_bytes() == cert.read_bytes() and (folder / 'own').exists()
    assert (folder / 'server.key').stat().st_mode & 0o777 == 0o600
    assert tls(root, 'ensure').returncode == 0  # a boot keeps it
    assert (folder / 'server.crt').read_bytes() == cert.read_bytes()
    back = tls(root, 'local')
    assert back.returncode == 0 and not (folder / 'own').exists()
    verify = subprocess.run(
        ['openssl', 'verify', '-CAfile', str(folder / 'ca.crt'), str(folder / 'server.crt')], capture_output=True
    )
    assert verify.returncode == 0


def test_an_unsound_certificate_is_refused_and_nothing_changes(root: Path, tmp_path: Path) -> None:
    folder = root / 'etc' / 'enclave' / 'tls'
    before = folder_digest(folder)
    cert, key = own_certificate(tmp_path)
    _other_cert, other_key = own_certificate(tmp_path, name='other')
    expired, expired_key = own_certificate(tmp_path, days=0, name='expired')
    garbage = tmp_path / 'garbage.pem'
    garbage.write_text('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n')
    link = tmp_path / 'link.pem'
    link.symlink_to(cert)
    huge = tmp_path / 'huge.pem'
    huge.write_bytes(cert.read_bytes() * 200)
    cases = {
        'does not belong': (cert, other_key),
        'has expired': (expired, expired_key),
        'not a PEM certificate': (garbage, key),
        'not an unencrypted PEM private key': (cert, garbage),
        'not a regular file': (link, key),
        'larger than 64 KiB': (huge, key),
    }
    for reason, (certificate, private) in cases.items():
        refused = tls(root, 'install', str(certificate), str(private))
        assert refused.returncode != 0 and reason in refused.stderr, (reason, refused.stderr)
        assert folder_digest(folder) == before, reason
    assert tls(root, 'install', str(cert)).returncode != 0
    assert tls(root, 'rotate').returncode != 0
