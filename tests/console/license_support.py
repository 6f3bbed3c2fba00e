"""Helpers shared by the license tests: the test key, codes signed with it, and what the database holds.

Import `trust_test_key` into a test module to use it as a fixture there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import func, select

from appliance.db import get_database
from appliance.models import AuditEvent
from console.license.services import licensing
from console.license.services.codes import License, issue
from console.models import License as LicenseRow
from tests.conftest import make_user

KEYS = Path(__file__).parent / 'keys'
TODAY = date.today()


def signing_key() -> Ed25519PrivateKey:
    """The TEST-ONLY private key (never the vendor's)."""
    key = load_pem_private_key((KEYS / 'TEST-ONLY-license-private.pem').read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _test_public_key() -> Ed25519PublicKey:
    key = load_pem_public_key((KEYS / 'TEST-ONLY-license-public.pem').read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    return key


@pytest.fixture
def trust_test_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Accept codes signed with the test key (as production accepts the vendor's) for one test."""
    monkeypatch.setattr(licensing, 'public_key', _test_public_key)
    yield


def code_for(
    *,
    seats: int = 25,
    licensee: str = 'Acme 机器人有限公司',
    license_id: str = 'L-2026-0042',
    issued: date = TODAY,
    expires: date | None = None,
    install: str | None = None,
    key: Ed25519PrivateKey | None = None,
) -> str:
    """An activation code signed with the test key, bound to this installation unless `install` says otherwise."""
    lic = License(
        license_id=license_id,
        licensee=licensee,
        seats=seats,
        issued=issued.isoformat(),
        expires=expires.isoformat() if expires else '',
        install_id=licensing.install_id() if install is None else install,
    )
    return issue(lic, key or signing_key())


def stored() -> list[tuple[str, int]]:
    """(license id, seats) of every license row, oldest first."""
    with get_database().session() as session:
        return [(row.license_id, row.seats) for row in session.scalars(select(LicenseRow).order_by(LicenseRow.id))]


def install_audits() -> int:
    """How many license installs the audit log holds."""
    with get_database().session() as session:
        return (
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == 'license.install'))
            or 0
        )


def fill_active_users(count: int) -> None:
    """Active members until `count` accounts are active."""
    with get_database().session() as session:
        have = licensing.seats_used(session)
    for number in range(have, count):
        make_user(username=f'user{number:03d}')
