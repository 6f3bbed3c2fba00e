"""Secrets generated on first start and kept in 0600 files under <data_dir>/keys. Never logged."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from appliance.fsutil import atomic_write_bytes


def keys_dir(data_dir: Path) -> Path:
    """The folder holding the key files (mode 0700)."""
    path = data_dir / 'keys'
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def get_or_create_secret(data_dir: Path, name: str, nbytes: int = 32) -> bytes:
    """Return the named secret, creating it atomically with mode 0600 the first time."""
    path = keys_dir(data_dir) / name
    if not path.exists():
        atomic_write_bytes(path, secrets.token_bytes(nbytes), mode=0o600, exclusive=True)
    data = path.read_bytes()
    if len(data) < 16:
        raise RuntimeError(f'Key file {path} is damaged (too short). Restore it from a backup.')
    return data


def session_secret(data_dir: Path) -> str:
    """Secret used to sign NiceGUI's storage cookie."""
    return get_or_create_secret(data_dir, 'storage-secret').hex()


def data_encryption_key(data_dir: Path) -> bytes:
    """Key material for encrypting sensitive fields at rest (used by modules such as people)."""
    return get_or_create_secret(data_dir, 'data-key')


def install_id(data_dir: Path) -> str:
    """This installation's id, e.g. `ENC-7Q2M-4KX9-T1BD`: shown to the vendor to bind a license, printed in the
    recovery kit. Made once from random bytes (not secret, but kept with the keys so a restore brings it back)."""
    raw = get_or_create_secret(data_dir, 'install-id', nbytes=16)
    alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'  # Crockford base32
    number = int.from_bytes(raw[:8], 'big')
    chars = ''.join(alphabet[(number >> (5 * i)) & 31] for i in range(12))
    return f'ENC-{chars[0:4]}-{chars[4:8]}-{chars[8:12]}'
