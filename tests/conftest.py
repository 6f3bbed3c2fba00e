"""Shared fixtures: a fresh data dir and database per test, and the people of every story.

alice is an admin (she owns the sample objects), bob a member with access to alice's objects, charlie a member
without access to them (the `people` fixture); erin is an account with no role (the `erin` fixture). They mean the
same in tests/modules/conftest.py. Factories take keyword defaults. Set ENCLAVE_TEST_DATABASE_URL to a PostgreSQL
URL to run the same tests against PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.orm import Session

from appliance import db as appliance_db
from appliance.config import get_settings
from appliance.db import Database, get_database, init_database
from appliance.migrate import upgrade
from appliance.models import User
from appliance.modules import current_registry, register_builtins, reset_registry
from appliance.secrets import data_encryption_key
from appliance.services import accounts, passwords, tokens
from appliance.services.touches import touches
from appliance.web import maintenance
from tests.support import markers

PASSWORD = 'Correct-Horse-Battery-42'
_template_dir = Path(tempfile.mkdtemp(prefix='enclave-template-'))
_template_db = _template_dir / 'enclave.db'
POSTGRES_URL = os.environ.get('ENCLAVE_TEST_DATABASE_URL', '')


def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    # A session opened on the event loop's thread while serving fails the test (production logs a warning).
    appliance_db.loop_policy = 'raise'


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ui, restic, system or e2e from what it uses (tests/support/markers.py)."""
    markers.apply(items)


def _migrated_template() -> Path:
    """Migrate one SQLite database per test session; each test copies it (much faster than migrating)."""
    if not _template_db.exists():
        database = Database(f'sqlite:///{_template_db}')
        upgrade(database.engine)
        database.checkpoint()
        database.dispose()
    return _template_db


def _reset_postgres(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text('DROP SCHEMA public CASCADE'))
        connection.execute(text('CREATE SCHEMA public'))
    upgrade(database.engine)
    database.dispose()


# argon2id with the smallest parameters: the same code path, a millisecond per hash instead of 200 ms.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hash passwords with cheap argon2id parameters for the length of one test."""
    monkeypatch.setattr(passwords, '_hasher', _CHEAP)
    monkeypatch.setattr(passwords, '_DUMMY_HASH', _CHEAP.hash('enclave-dummy-password-for-timing'))
    yield


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir with a migrated database; settings and registry reset for each test."""
    directory = tmp_path / 'data'
    directory.mkdir()
    monkeypatch.setenv('ENCLAVE_DATA_DIR', str(directory))
    monkeypatch.setenv('ENCLAVE_CONFIG', str(directory / 'enclave.toml'))
    monkeypatch.setenv('ENCLAVE_SCHEDULER_ENABLED', 'false')
    if POSTGRES_URL:
        monkeypatch.setenv('ENCLAVE_DATABASE_URL', POSTGRES_URL)
        _reset_postgres(POSTGRES_URL)
    else:
        shutil.copy(_migrated_template(), directory / 'enclave.db')
    # The data key, as a real install has it before its first account (start-up refuses to make one afterwards).
    data_encryption_key(directory)
    get_settings.cache_clear()
    init_database(get_settings().sqlalchemy_url)
    registry = reset_registry()
    register_builtins(registry)
    touches.clear()  # last-seen times noted by an earlier test's database
    # Maintenance mode's flag file goes in this test's data dir: not in the dir of an app an earlier test built (a
    # snapshot restored here would otherwise put a module-wide app, tests/test_contract.py's, in maintenance).
    maintenance.use_data_dir(directory)
    yield directory
    touches.clear()
    get_database().dispose()
    get_settings.cache_clear()
    # Each app build makes a 64 MiB disk reserve of real blocks; hundreds of kept test dirs would fill the disk.
    (directory / 'reserve').unlink(missing_ok=True)


@pytest.fixture
def db(data_dir: Path) -> Iterator[Session]:
    """A session for arranging and asserting; committed on exit."""
    with get_database().session() as session:
        yield session


def make_user(
    *,
    username: str,
    roles: list[str] | None = None,
    display_name: str = '',
    password: str = PASSWORD,
    active: bool = True,
    email: str = '',
    language: str = 'en',
) -> User:
    """Create a user straight in the database (no actor, no audit): a factory for arranging tests."""
    from appliance.models import UserRole
    from appliance.services.passwords import hash_password

    with get_database().session() as session:
        user = User(
            username=username,
            display_name=display_name or username.title(),
            email=email,
            language=language,
            password_hash=hash_password(password),
            is_active=active,
        )
        user.roles = [UserRole(role=role) for role in (roles if roles is not None else ['member'])]
        session.add(user)
    return user


def make_token(user: User, name: str = 'test') -> str:
    """A personal access token for `user`."""
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        return tokens.create_token(session=session, actor=actor, name=name)[1]


@dataclass
class People:
    """alice (admin), bob (member with access to alice's objects), charlie (member without access)."""

    alice: User
    bob: User
    charlie: User


@pytest.fixture
def people(data_dir: Path) -> People:
    """alice, bob and charlie, created fresh."""
    return People(
        alice=make_user(username='alice', roles=['admin'], display_name='Alice Admin'),
        bob=make_user(username='bob', roles=['member'], display_name='Bob 张伟'),
        charlie=make_user(username='charlie', roles=['member'], display_name='Charlie Outsider'),
    )


@pytest.fixture
def erin(people: People) -> User:
    """erin, an account with no role, beside the people (a fixture of her own: most tests count three users)."""
    return make_user(username='erin', roles=[], display_name='Erin Norole')


def reload_user(user_id: int) -> User:
    """Read a user again from the database."""
    with get_database().session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def setup_done(session: Session) -> bool:
    """True once the wizard ran (an admin exists)."""
    return not accounts.setup_required(session)


__all__ = ['PASSWORD', 'People', 'current_registry', 'make_token', 'make_user', 'reload_user']
