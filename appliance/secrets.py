"""Secrets generated on first start and kept in 0600 files under <data_dir>/keys. Never logged.

The data key encrypts fields in the database (two-factor secrets, relay and backup passwords). A new key would make
them unreadable, so it is made only for a database that holds no account yet; the database keeps a check value of
the key (an HMAC of a constant, which tells nothing about the key), and start-up refuses a key that does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from appliance.config import StartupError, keys_not_a_folder
from appliance.fsutil import atomic_write_bytes

DATA_KEY = 'data-key'
KEY_CHECK_SETTING = 'data_key_check'


def keys_dir(data_dir: Path) -> Path:
    """The folder holding the key files (mode 0700)."""
    path = data_dir / 'keys'
    if path.exists() and not path.is_dir():
        raise keys_not_a_folder(path)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as error:
        raise StartupError(f'Cannot prepare the keys folder {path}: {error.strerror}.') from error
    return path


def _read_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StartupError(
            f'Cannot read the key file {path}: {error.strerror}. Restore it from a backup (enclave restore).'
        ) from error
    if len(data) < 16:
        raise StartupError(f'Key file {path} is damaged (too short). Restore it from a backup (enclave restore).')
    return data


def get_or_create_secret(data_dir: Path, name: str, nbytes: int = 32) -> bytes:
    """Return the named secret, creating it atomically with mode 0600 the first time."""
    path = keys_dir(data_dir) / name
    if not path.exists():
        try:
            atomic_write_bytes(path, secrets.token_bytes(nbytes), mode=0o600, exclusive=True)
        except OSError as error:
            raise StartupError(f'Cannot write the key file {path}: {error.strerror}.') from error
    return _read_key(path)


def session_secret(data_dir: Path) -> str:
    """Secret used to sign NiceGUI's storage cookie."""
    return get_or_create_secret(data_dir, 'storage-secret').hex()


def data_encryption_key(data_dir: Path) -> bytes:
    """Key material for encrypting sensitive fields at rest (used by modules such as people)."""
    return get_or_create_secret(data_dir, DATA_KEY)


def key_check_value(key: bytes) -> str:
    """What the database keeps to recognise the data key: an HMAC of a constant under it."""
    return hmac.new(key, b'enclave data key check v1', hashlib.sha256).hexdigest()


def _holds_accounts(engine: Engine) -> bool:
    tables = inspect(engine).get_table_names()
    if 'core_users' not in tables:
        return False
    with engine.connect() as connection:
        return bool(connection.execute(text('SELECT 1 FROM core_users LIMIT 1')).first())


def _stored_check(engine: Engine) -> str | None:
    if 'core_settings' not in inspect(engine).get_table_names():
        return None
    with engine.connect() as connection:
        row = connection.execute(
            text('SELECT value FROM core_settings WHERE key = :key'), {'key': KEY_CHECK_SETTING}
        ).first()
    return str(row[0]) if row else None


def check_data_key(data_dir: Path, engine: Engine) -> None:
    """Make sure the data key is the one the database's encrypted fields were written with, before anything else.

    A missing key is made only while the database holds no account (a new install); otherwise, and for a key that
    does not match the database's check value, StartupError says which file and how to bring it back. Nothing is
    written on refusal.
    """
    path = data_dir / 'keys' / DATA_KEY
    if not data_dir.exists():  # a new install: the database (SQLite) goes into this folder
        try:
            data_dir.mkdir(mode=0o750, parents=True)
        except OSError as error:
            raise StartupError(f'Cannot create the data dir {data_dir}: {error.strerror}.') from error
    if not path.exists():
        if _holds_accounts(engine):
            raise StartupError(
                f'The data key {path} is missing, but the database holds accounts whose encrypted fields '
                '(two-factor secrets, e-mail relay and backup passwords) need it. Restore the keys folder from a '
                'backup (enclave restore, or copy keys/ from the backup your recovery kit opens) and start again; '
                'a new key would make those fields unreadable.'
            )
        data_encryption_key(data_dir)
    stored = _stored_check(engine)
    if stored is not None and not hmac.compare_digest(stored, key_check_value(_read_key(path))):
        raise StartupError(
            f'The data key {path} is not the one this database was written with (it was replaced). Put the '
            'original file back, or restore the keys folder from a backup of this database (enclave restore), '
            'and start again.'
        )


def record_key_check(data_dir: Path, engine: Engine) -> None:
    """Store the data key's check value once (new databases, and those from before there was one)."""
    from sqlalchemy.orm import Session

    from appliance.services import orgsettings

    if _stored_check(engine) is not None:
        return
    check = key_check_value(_read_key(keys_dir(data_dir) / DATA_KEY))
    with Session(engine) as session, session.begin():
        orgsettings.put(session, KEY_CHECK_SETTING, check)


def install_id(data_dir: Path) -> str:
    """This installation's id, e.g. `ENC-7Q2M-4KX9-T1BD`: shown to the vendor to bind a license, printed in the
    recovery kit. Made once from random bytes (not secret, but kept with the keys so a restore brings it back)."""
    raw = get_or_create_secret(data_dir, 'install-id', nbytes=16)
    alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'  # Crockford base32
    number = int.from_bytes(raw[:8], 'big')
    chars = ''.join(alphabet[(number >> (5 * i)) & 31] for i in range(12))
    return f'ENC-{chars[0:4]}-{chars[4:8]}-{chars[8:12]}'
