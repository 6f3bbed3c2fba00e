"""The HTTPS certificate nginx serves: what it is, and asking the root side for the admin's own one or the local one.

The app runs as `enclave` and never touches nginx's files. It checks the admin's certificate and key itself (so
that bad input is refused at once, with nothing changed), then leaves a request in `<data>/tls-request/`:
`cert.pem`, `key.pem` and, written last, `request` (`install` or `local`). `enclave-tls-request.path` sees the
request and starts `enclave-tls-request.service`, which runs `provisioning/tls.sh request` as root: it checks again,
installs, asks nginx, reloads it, writes `result` (`ok` or `error` and a sentence) and removes the request and the
key. That folder is the whole interface between the app and root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.orm import Session

from appliance.api.ca import fingerprint
from appliance.config import Settings
from appliance.errors import N_, Conflict, ValidationError
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require

MAX_PEM_BYTES = 64 * 1024
REQUEST_FOLDER = 'tls-request'


@dataclass(frozen=True)
class CertificateInfo:
    """nginx's certificate as the page shows it."""

    subject: str
    issuer: str
    names: list[str]
    not_after: datetime
    own: bool
    fingerprint: str


@dataclass(frozen=True)
class RequestState:
    """The last request to the root side: 'pending', 'ok' or 'error' with its sentence, or 'none'."""

    state: str
    message: str = ''


def managed(settings: Settings) -> bool:
    """True when nginx's certificate is Enclave's to manage (the appliance, or a bundle install)."""
    return bool(settings.server_certificate)


def current(settings: Settings) -> CertificateInfo | None:
    """The certificate nginx serves now, or None when there is none to read."""
    if not managed(settings):
        return None
    path = Path(settings.server_certificate)
    try:
        certificate = x509.load_pem_x509_certificates(path.read_bytes()[:MAX_PEM_BYTES])[0]
    except (OSError, ValueError, IndexError):
        return None
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(name.value) for name in extension]
    except x509.ExtensionNotFound:
        names = []
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        names=names,
        not_after=certificate.not_valid_after_utc,
        own=(path.parent / 'own').exists(),
        fingerprint=fingerprint(certificate),
    )


def _folder(settings: Settings) -> Path:
    return settings.data_dir / REQUEST_FOLDER


def state(settings: Settings) -> RequestState:
    """Where the last request stands."""
    folder = _folder(settings)
    if (folder / 'request').exists():
        return RequestState('pending')
    try:
        outcome, _, message = (folder / 'result').read_text()[:2000].partition('\n')
    except OSError:
        return RequestState('none')
    return RequestState('ok' if outcome.strip() == 'ok' else 'error', message.strip())


def check(cert_pem: str, key_pem: str, now: datetime | None = None) -> x509.Certificate:
    """The admin's certificate (PEM, the chain may follow) and unencrypted key, checked; refused with the reason."""
    if not cert_pem.strip() or not key_pem.strip():
        raise ValidationError(N_('Paste both the certificate and its private key.'))
    if len(cert_pem.encode()) > MAX_PEM_BYTES or len(key_pem.encode()) > MAX_PEM_BYTES:
        raise ValidationError(N_('A certificate or key is at most 64 KiB of PEM text.'))
    try:
        chain = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        raise ValidationError(
            N_('The certificate is not PEM text (-----BEGIN CERTIFICATE-----).'), field='certificate'
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        raise ValidationError(N_('The key is protected by a passphrase: export it without one.'), field='key') from None
    except ValueError:
        raise ValidationError(
            N_('The key is not a PEM private key (-----BEGIN PRIVATE KEY-----).'), field='key'
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValidationError(N_('Only RSA, EC and Ed25519 keys are supported.'), field='key')
    leaf = chain[0]
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != leaf.public_key().public_bytes(*raw):
        raise ValidationError(N_('The key does not belong to the certificate (the first one in the text).'))
    now = now or datetime.now(UTC)
    if leaf.not_valid_after_utc <= now:
        expired = leaf.not_valid_after_utc.date().isoformat()
        raise ValidationError(N_('The certificate expired on {date}.'), field='certificate', date=expired)
    if leaf.not_valid_before_utc > now:
        raise ValidationError(
            N_('The certificate is valid only from {date}.'), date=leaf.not_valid_before_utc.date().isoformat()
        )
    return leaf


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + '.partial')
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _ask(settings: Settings, action: str, files: dict[str, str]) -> None:
    if not managed(settings):
        raise Conflict(N_("This server's HTTPS is not run by Enclave's nginx: change the certificate where it is set."))
    if state(settings).state == 'pending':
        raise Conflict(N_('A certificate change is still being made; wait for its result.'))
    folder = _folder(settings)
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / 'result').unlink(missing_ok=True)
    for name, text in files.items():
        _write(folder / name, text)
    _write(folder / 'request', action + '\n')  # last: the root side starts when this appears


def request_own(*, session: Session, actor: Actor, settings: Settings, cert_pem: str, key_pem: str) -> None:
    """Ask for the admin's own certificate; checked here first, audited."""
    require(actor, 'console.manage', target='certificate')
    leaf = check(cert_pem, key_pem)
    _ask(settings, 'install', {'cert.pem': cert_pem.strip() + '\n', 'key.pem': key_pem.strip() + '\n'})
    audit.record(
        session=session,
        actor=actor,
        action='certificate.install',
        target='certificate:nginx',
        details={'subject': leaf.subject.rfc4514_string(), 'fingerprint': fingerprint(leaf)},
    )


def request_local(*, session: Session, actor: Actor, settings: Settings) -> None:
    """Ask for a certificate from the box's local CA again; audited."""
    require(actor, 'console.manage', target='certificate')
    _ask(settings, 'local', {})
    audit.record(session=session, actor=actor, action='certificate.local', target='certificate:nginx', details={})
