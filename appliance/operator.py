"""What every `enclave` command shares, the core's and the modules': the operator it acts as, the settings, a
database session on a current schema with the modules' registry built, and ending a command with a sentence.

The CLI acts as the machine operator: there is no signed-in user, so its changes are audited with the actor name
'cli'. Service errors are printed in English on stderr and end the command with exit code 1; a database or
configuration that does not fit this version ends it with exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from appliance.config import Settings, StartupError, check_data_dir, load_settings
from appliance.db import init_database
from appliance.errors import ServiceError
from appliance.migrate import SchemaError, ensure_current
from appliance.modules import ModuleError, build_registry
from appliance.secrets import check_data_key, record_key_check
from appliance.services.actors import Operator

ACTOR = 'cli'

OPERATOR = Operator(username=ACTOR)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` on stderr and end the command with `code`."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def cli_settings() -> Settings:
    """The settings, or the end of the command with a sentence when the configuration is invalid."""
    try:
        return load_settings()
    except StartupError as error:
        fail(f'Enclave cannot run this command: {error}', 2)


def unreachable(settings: Settings, error: OperationalError) -> NoReturn:
    """End the command: the database cannot be opened; say where it was looked for and what to check."""
    where = settings.redacted()['database_url'] or settings.sqlalchemy_url
    fail(
        f'Cannot open the database at {where}: {error.orig}\n'
        'Check data_dir and database_url in the configuration; on a new install run "enclave migrate" first.',
        2,
    )


def _load_registry(settings: Settings) -> None:
    """The same modules as the running app, so role names validate the same way."""
    build_registry(settings.enabled_modules)


def open_for_replacement() -> Settings:
    """The settings, with the database opened and the registry built but the schema left unchecked: for a command
    that replaces the database (a snapshot restored by an older release, rolling back an upgrade whose migrations
    ran, finds a schema it does not know, and must still put its own data back)."""
    settings = cli_settings()
    try:
        check_data_dir(settings)
        init_database(settings.sqlalchemy_url)
        _load_registry(settings)
    except (StartupError, ModuleError) as error:
        fail(f'Enclave cannot run this command: {error}', 2)
    return settings


@contextmanager
def operator_session() -> Iterator[Session]:
    """One transaction on a database whose schema is current; any error rolls it back and ends the command."""
    settings = cli_settings()
    try:
        check_data_dir(settings)
        database = init_database(settings.sqlalchemy_url)
        ensure_current(database.engine)
        check_data_key(settings.data_dir, database.engine)
        record_key_check(settings.data_dir, database.engine)
        _load_registry(settings)
    except (StartupError, SchemaError, ModuleError) as error:
        fail(f'Enclave cannot run this command: {error}', 2)
    except OperationalError as error:
        unreachable(settings, error)
    try:
        with database.session(write=True) as session:
            yield session
    except ServiceError as error:
        fail(str(error))
    finally:
        # The command's commits in enclave.db itself, not only in the write-ahead log.
        database.close()
