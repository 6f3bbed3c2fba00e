"""Sealed fields: sensitive personnel data encrypted at rest, bound to where it is stored.

Each value is encrypted with AES-256-GCM under a key derived from the box's data key (HKDF-SHA256, its own `info`),
with `table|column|row id` as associated data: a ciphertext copied into another row or column fails to open. Beside
it, a keyed HMAC of the normalised value (another derived key) finds duplicates and enforces uniqueness without
decrypting anything, and a mask (`110***********1234`) is what lists show.

The stored form is text: `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = 'v1.'
NONCE_BYTES = 12


class SealBroken(ValueError):
    """A sealed value that does not open: damaged, moved to another row or column, or sealed under another key."""


def _derive(data_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)


@dataclass(frozen=True)
class Sealer:
    """Seals and opens values with keys derived from the data key."""

    seal_key: bytes
    lookup_key: bytes

    @classmethod
    def from_data_key(cls, data_key: bytes) -> Sealer:
        return cls(_derive(data_key, b'enclave people seal v1'), _derive(data_key, b'enclave people lookup v1'))

    @staticmethod
    def bound_to(table: str, column: str, row_id: int | str) -> bytes:
        return f'{table}|{column}|{row_id}'.encode()

    def seal(self, value: str, *, table: str, column: str, row_id: int | str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.seal_key).encrypt(nonce, value.encode(), self.bound_to(table, column, row_id))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, table: str, column: str, row_id: int | str) -> str:
        if not stored.startswith(PREFIX):
            raise SealBroken(f'{table}.{column} of #{row_id} is not a sealed value')
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
            opened = AESGCM(self.seal_key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], self.bound_to(table, column, row_id)
            )
        except (InvalidTag, ValueError) as error:
            raise SealBroken(f'{table}.{column} of #{row_id} does not open (damaged, moved or another key)') from error
        return opened.decode()

    def lookup(self, value: str, *, column: str) -> str:
        """A keyed fingerprint of the normalised value, the same in every row: for uniqueness and duplicates."""
        return hmac.new(self.lookup_key, f'{column}|{normalise(value)}'.encode(), hashlib.sha256).hexdigest()


def normalise(value: str) -> str:
    """What counts as the same value: NFKC, no spaces or dashes, upper case (`110101 1990-0307 123x`)."""
    folded = unicodedata.normalize('NFKC', value)
    return ''.join(ch for ch in folded if not ch.isspace() and ch not in '-_').upper()


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """`110***********1234`: the ends kept, the rest starred; short values are starred but for the last character."""
    text = normalise(value)
    if len(text) <= keep_start + keep_end:
        return '*' * max(len(text) - 1, 0) + text[-1:]
    return text[:keep_start] + '*' * (len(text) - keep_start - keep_end) + text[-keep_end:]


# Chinese resident identity card (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = '10X98765432'


def china_id_check(number: str) -> str | None:
    """None when `number` is a well-formed 18-character resident ID (digits, a valid birth date and check
    character), else the reason."""
    from datetime import date

    text = normalise(number)
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == 'X'):
        return 'length'
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return 'birth date'
    total = sum(int(digit) * weight for digit, weight in zip(text[:17], _WEIGHTS, strict=True))
    return None if _CHECK[total % 11] == text[17] else 'check digit'
