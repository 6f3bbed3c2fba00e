"""Migrations: an empty database reaches head, unknown revisions are refused, models and migrations agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from appliance.db import Base, Database, get_database
from appliance.migrate import (
    SchemaError,
    ensure_current,
    head_revision,
    import_all_models,
    include_object,
    schema_state,
    upgrade,
)


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Database]:
    database = Database(f'sqlite:///{tmp_path / "empty.db"}')
    yield database
    database.dispose()


def set_revision(database: Database, revision: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(text('UPDATE alembic_version SET version_num = :rev'), {'rev': revision})


def test_it_brings_an_empty_database_to_head(empty: Database) -> None:
    assert schema_state(empty.engine).current is None
    upgrade(empty.engine)
    state = schema_state(empty.engine)
    assert (state.current, state.up_to_date) == (head_revision(), True)
    assert {'core_users', 'core_sessions', 'core_api_tokens', 'core_audit'} <= set(
        inspect(empty.engine).get_table_names()
    )
    ensure_current(empty.engine)


def test_it_does_nothing_when_upgrading_a_current_database(empty: Database) -> None:
    upgrade(empty.engine)
    upgrade(empty.engine)
    assert schema_state(empty.engine).current == head_revision()


def test_it_refuses_to_start_on_an_empty_database(empty: Database) -> None:
    with pytest.raises(SchemaError, match=r'The database is empty\. Run "enclave migrate"'):
        ensure_current(empty.engine)


def test_it_refuses_a_revision_it_does_not_know(empty: Database) -> None:
    upgrade(empty.engine)
    set_revision(empty, 'f00dfeedbeef')
    with pytest.raises(SchemaError) as caught:
        ensure_current(empty.engine)
    message = str(caught.value)
    assert 'f00dfeedbeef' in message
    assert 'newer version' in message and 'restore' in message
    with pytest.raises(SchemaError, match='f00dfeedbeef'):
        upgrade(empty.engine)
    assert schema_state(empty.engine).current == 'f00dfeedbeef'


def test_it_knows_the_test_database_is_current() -> None:
    state = schema_state(get_database().engine)
    assert state.up_to_date
    assert state.message == f'The database schema is current ({head_revision()}).'


def test_it_has_migrations_that_match_the_models() -> None:
    import_all_models()
    with get_database().engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={'compare_type': True, 'include_object': include_object})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_directory_migration_keeps_every_account_and_what_refers_to_it(empty: Database) -> None:
    """The directory adds columns to core_users in place: a batch copy of the table would drop it, and with foreign
    keys on, the drop would delete every session, role and token of every account."""
    from alembic import command

    from appliance.migrate import alembic_config

    config = alembic_config(str(empty.engine.url))
    with empty.engine.begin() as connection:
        config.attributes['connection'] = connection
        command.upgrade(config, 'caa5e86d4a85')  # the revision before the directory
    with empty.engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO core_users (id, username, display_name, email, language, timezone, is_active, '
                'password_hash, password_changed_at, totp_secret, totp_enabled, totp_last_step, created_at) VALUES '
                "(1, 'wang', '王芳', '', 'zh_CN', 'UTC', 1, 'x', '2026-01-01', '', 0, 0, '2026-01-01')"
            )
        )
        connection.execute(text("INSERT INTO core_user_roles (user_id, role) VALUES (1, 'admin')"))
        connection.execute(
            text(
                'INSERT INTO core_sessions (id, token_hash, user_id, created_at, last_seen_at, ip, user_agent, '
                "end_reason) VALUES (1, 'h', 1, '2026-01-01', '2026-01-01', '', '', '')"
            )
        )
    upgrade(empty.engine)
    with empty.engine.connect() as connection:
        connection.exec_driver_sql('PRAGMA foreign_keys=ON')
        assert connection.execute(text('SELECT username, position, work_phone, manager_id FROM core_users')).all() == [
            ('wang', '', '', None)
        ]
        assert connection.execute(text('SELECT count(*) FROM core_user_roles')).scalar() == 1
        assert connection.execute(text('SELECT count(*) FROM core_sessions')).scalar() == 1
