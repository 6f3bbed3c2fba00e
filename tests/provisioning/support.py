"""Helpers shared by the provisioning tests and stories: the test-only release key."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEYS = Path(__file__).parent / 'keys'


def signing_key() -> Ed25519PrivateKey:
    """The test-only release key that signs bundles made for tests."""
    key = serialization.load_pem_private_key((KEYS / 'TEST-ONLY-release-private.pem').read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key
