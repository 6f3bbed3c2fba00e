"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import N_, ValidationError

MAX_LENGTH = 256
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash('enclave-dummy-password-for-timing')


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lower case."""
    text = resources.files('appliance').joinpath('data/common-passwords.txt').read_text(encoding='utf-8')
    return frozenset(line for line in text.splitlines() if line and not line.startswith('#'))


def check_policy(password: str, *, min_length: int, username: str = '') -> None:
    """Raise ValidationError (field 'password') when the password is too weak; return None when it is fine."""
    if len(password) < min_length:
        raise ValidationError(N_('The password must be at least {n} characters long.'), field='password', n=min_length)
    if len(password) > MAX_LENGTH:
        raise ValidationError(N_('The password must be at most {n} characters long.'), field='password', n=MAX_LENGTH)
    lowered = password.lower()
    stem = lowered.rstrip('0123456789!.')
    # A common password with digits or '!' appended ('password123456', 'dragon2024!') is just as guessable.
    if lowered in common_passwords() or stem in common_passwords():
        raise ValidationError(
            N_('This password is one of the most common passwords. Choose another.'), field='password'
        )
    if username and username.lower() in lowered:
        raise ValidationError(N_('The password must not contain the username.'), field='password')
    if len(set(password)) < 4:
        raise ValidationError(N_('The password repeats too few characters. Choose another.'), field='password')


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same time when there is no hash to check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters."""
    return _hasher.check_needs_rehash(password_hash)
