"""Optional TOTP two-factor: enrolment with a locally rendered QR code, verification, replay protection."""

from __future__ import annotations

import base64
import io
import logging
from functools import lru_cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.errors import N_, Conflict, ServiceError, ValidationError
from appliance.models import User
from appliance.secrets import data_encryption_key
from appliance.services import audit, orgsettings

log = logging.getLogger('enclave')


class TwoFactorUnreadable(ServiceError):
    """The stored two-factor secret cannot be decrypted with this server's data key (the key was replaced)."""

    code = 'two_factor_unreadable'
    status = 503


@lru_cache(maxsize=4)
def _fernet(data_dir: str) -> Fernet:
    from pathlib import Path

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b'enclave totp').derive(
        data_encryption_key(Path(data_dir))
    )
    return Fernet(base64.urlsafe_b64encode(key))


def forget_key() -> None:
    """Derive the key again on next use (a restore brought the data key of the backup)."""
    _fernet.cache_clear()


def _cipher() -> Fernet:
    return _fernet(str(get_settings().data_dir))


def new_secret() -> str:
    """A fresh base32 TOTP secret for enrolment (not stored until confirmed)."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as an SVG string, rendered here (never by a web service)."""
    buffer = io.BytesIO()
    segno.make(uri, error='m').save(buffer, kind='svg', scale=5, border=2)
    return buffer.getvalue().decode()


def _matching_step(secret: str, code: str) -> int | None:
    code = code.strip().replace(' ', '')
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    import time

    now = int(time.time())
    for drift in (-1, 0, 1):  # one step either side for clock drift
        step = now // 30 + drift
        if pyotp.utils.strings_equal(totp.at(step * 30), code):
            return step
    return None


def enable(*, session: Session, actor: User, secret: str, code: str) -> None:
    """Turn on two-factor after the user proves their app shows the right code."""
    user = session.get(User, actor.id)
    assert user is not None
    if user.totp_enabled:
        raise Conflict(N_('Two-factor sign-in is already on.'))
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationError(N_('The code is wrong or expired.'), field='code')
    user.totp_secret = _cipher().encrypt(secret.encode()).decode()
    user.totp_enabled = True
    user.totp_last_step = step
    audit.record(session=session, actor=user, action='2fa.enable', target=f'user:{user.username}')


def disable(*, session: Session, actor: User, code: str) -> None:
    """Turn off two-factor (needs a current code); refused when the organisation requires it."""
    user = session.get(User, actor.id)
    assert user is not None
    if orgsettings.get(session, 'require_2fa') == '1':
        raise Conflict(N_('Your organisation requires two-factor sign-in.'))
    if not user.totp_enabled or not verify_login_code(session, user, code):
        raise ValidationError(N_('The code is wrong or expired.'), field='code')
    user.totp_secret = ''
    user.totp_enabled = False
    audit.record(session=session, actor=user, action='2fa.disable', target=f'user:{user.username}')


def verify_login_code(session: Session, user: User, code: str) -> bool:
    """True for a valid code not used before (a code cannot be replayed within its window)."""
    if not user.totp_enabled or not user.totp_secret:
        return False
    try:
        secret = _cipher().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken as error:
        # Start-up refuses a replaced data key; this is the last line if the key changed under a running server.
        log.error('the two-factor secret of %s cannot be decrypted: the data key does not match', user.username)
        raise TwoFactorUnreadable(
            N_(
                'Two-factor codes cannot be checked right now: the server cannot read its stored secrets. '
                'Ask your administrator to restore the data key.'
            )
        ) from error
    step = _matching_step(secret, code)
    if step is None or step <= user.totp_last_step:
        return False
    user.totp_last_step = step
    return True
