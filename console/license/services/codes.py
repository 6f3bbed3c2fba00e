"""Offline activation codes: a signed payload (Ed25519) as text that survives copy and paste.

A code is `ENC1-` followed by groups of five Crockford base32 characters. Each group carries four data characters
and one check character, so a mistyped character is named ("group 7") before any signature is checked; Crockford's
alphabet has no I, L, O or U, and reads them as 1, 1, 0 and V. The data is the payload (compact JSON) followed by
its 64-byte Ed25519 signature. The vendor's public key ships in the code; the private key never does (tests use a
key pair under tests/).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.errors import N_, ValidationError

PREFIX = 'ENC1'
ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
VALUE = {char: index for index, char in enumerate(ALPHABET)} | {'I': 1, 'L': 1, 'O': 0, 'U': 27}
_CANONICAL = str.maketrans({'I': '1', 'L': '1', 'O': '0', 'U': 'V'})
DATA_PER_GROUP = 4
SIGNATURE_BYTES = 64
FREE_SEATS = 20

# The vendor's public key (Ed25519). Codes signed with its private key, which is kept off this repository, are
# the only ones accepted in production.
VENDOR_PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEATGdTts9wctqq835xmxeVSjnpF1C/bYLcwH6wH1hb3oM=
-----END PUBLIC KEY-----
"""


class LicenseError(ValidationError):
    """An activation code that cannot be used; the message says why and what to do."""

    code = 'license_invalid'


@dataclass(frozen=True)
class License:
    """What an activation code grants."""

    license_id: str
    licensee: str
    seats: int
    issued: str  # ISO date
    expires: str = ''  # ISO date, or '' for never
    install_id: str = ''  # binds the code to one installation, or '' for any

    def payload(self) -> bytes:
        """The signed bytes: compact JSON with sorted keys."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(',', ':')).encode()

    def expired(self, today: date) -> bool:
        """True from the day after `expires`."""
        return bool(self.expires) and today > date.fromisoformat(self.expires)


# --- base32 with a check character per group -----------------------------------------------------------------------


def _to_base32(data: bytes) -> str:
    bits = int.from_bytes(data, 'big') if data else 0
    count = (len(data) * 8 + 4) // 5
    return ''.join(ALPHABET[(bits << (count * 5 - len(data) * 8)) >> (5 * (count - 1 - i)) & 31] for i in range(count))


def _from_base32(text: str, length: int) -> bytes:
    bits = 0
    for char in text:
        bits = (bits << 5) | VALUE[char]
    extra = len(text) * 5 - length * 8
    if extra < 0 or extra >= 5 or bits & ((1 << extra) - 1):
        raise LicenseError(N_('The activation code is incomplete. Copy the whole code again.'), field='code')
    return (bits >> extra).to_bytes(length, 'big')


def _check_char(group: str, index: int) -> str:
    total = index * 7
    for position, char in enumerate(group, start=1):
        total += position * VALUE[char]
    return ALPHABET[total % 32]


def encode(data: bytes) -> str:
    """`ENC1-<length>-` and the data in checked groups."""
    text = _to_base32(data)
    groups = [text[i : i + DATA_PER_GROUP] for i in range(0, len(text), DATA_PER_GROUP)]
    checked = [group + _check_char(group, index) for index, group in enumerate(groups)]
    return '-'.join([PREFIX, _to_base32(len(data).to_bytes(2, 'big')), *checked])


def decode(code: str) -> bytes:
    """The data of a code; LicenseError naming the first mistyped group."""
    cleaned = ''.join(code.split()).upper()
    parts = [part for part in cleaned.split('-') if part]
    if len(parts) < 3 or parts[0] != PREFIX:
        raise LicenseError(N_('This is not an Enclave activation code. Codes start with ENC1-.'), field='code')
    if any(char not in VALUE for part in parts[1:] for char in part):
        raise LicenseError(N_('The activation code has characters that codes never contain.'), field='code')
    parts = [parts[0], *(part.translate(_CANONICAL) for part in parts[1:])]
    length = int.from_bytes(_from_base32(parts[1], 2), 'big')
    data = ''
    for index, group in enumerate(parts[2:]):
        if len(group) < 2 or _check_char(group[:-1], index) != group[-1]:
            raise LicenseError(
                N_('Group {n} of the activation code is mistyped. Compare it with the original.'),
                field='code',
                n=index + 1,
            )
        data += group[:-1]
    return _from_base32(data, length)


# --- signing and verifying -----------------------------------------------------------------------------------------


def issue(lic: License, private_key: Ed25519PrivateKey) -> str:
    """Sign a license into an activation code (vendor side)."""
    payload = lic.payload()
    return encode(payload + private_key.sign(payload))


def vendor_key() -> Ed25519PublicKey:
    """The vendor's public key that ships with the product."""
    key = load_pem_public_key(VENDOR_PUBLIC_KEY_PEM)
    assert isinstance(key, Ed25519PublicKey)
    return key


def verify(code: str, *, install_id: str, public_key: Ed25519PublicKey | None = None) -> License:
    """The license in a code, once its checks, signature, fields and installation binding are all right."""
    data = decode(code)
    if len(data) <= SIGNATURE_BYTES:
        raise LicenseError(N_('The activation code is incomplete. Copy the whole code again.'), field='code')
    payload, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    try:
        (public_key or vendor_key()).verify(signature, payload)
    except InvalidSignature:
        raise LicenseError(
            N_('The activation code is not valid: it was not issued by the vendor, or it was changed.'), field='code'
        ) from None
    try:
        fields = json.loads(payload)
        lic = License(**fields)
        if not (isinstance(lic.seats, int) and lic.seats > 0 and lic.license_id and lic.licensee):
            raise ValueError('fields')
        date.fromisoformat(lic.issued)
        if lic.expires:
            date.fromisoformat(lic.expires)
    except (ValueError, TypeError) as error:
        raise LicenseError(N_('The activation code is not valid: its contents are malformed.'), field='code') from error
    if lic.install_id and lic.install_id != install_id:
        raise LicenseError(
            N_('This activation code belongs to another installation (install id {id}).'),
            field='code',
            id=lic.install_id,
        )
    return lic


def seat_limit(lic: License | None, *, today: date) -> int:
    """Seats allowed today: the license's while it runs, else the free limit (never fewer than the free limit)."""
    if lic is None or lic.expired(today):
        return FREE_SEATS
    return max(lic.seats, FREE_SEATS)
