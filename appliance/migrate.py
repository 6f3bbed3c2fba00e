"""Schema migrations (Alembic) and the start-up guard against unknown or newer schema revisions."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / 'migrations'


class SchemaError(RuntimeError):
    """The database schema does not fit this version of Enclave; the message says what to do."""


def import_all_models() -> None:
    """Import the core's models and every installed module's models, so the metadata is complete."""
    from appliance.modules import module_packages  # the loader imports services, which import this module

    importlib.import_module('appliance.models')
    for package in module_packages():
        try:
            importlib.import_module(f'{package}.models')
        except ModuleNotFoundError as exc:
            if exc.name != f'{package}.models':
                raise


def version_locations() -> list[Path]:
    """The folders of the one linear history: the core's, then each installed module's `migrations/`."""
    from appliance.modules import module_packages

    folders = [MIGRATIONS / 'versions']
    for package in module_packages():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations))) / 'migrations'
        if folder.is_dir():
            folders.append(folder)
    return folders


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """For autogenerate and `alembic check`: leave out the full-text index (`*_fts*` tables on SQLite, the GIN
    expression index on PostgreSQL), which migrations make by hand."""
    by_hand = type_ in ('table', 'index') and reflected and compare_to is None and name is not None and '_fts' in name
    return not by_hand


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option('script_location', str(MIGRATIONS))
    # Joined with os.pathsep (path_separator = os), so a folder's path may hold a space.
    config.set_main_option('path_separator', 'os')
    config.set_main_option('version_locations', os.pathsep.join(str(folder) for folder in version_locations()))
    config.set_main_option('sqlalchemy.url', url.replace('%', '%%'))
    return config


def head_revision() -> str:
    """The newest revision this version of Enclave knows."""
    head = ScriptDirectory.from_config(alembic_config('sqlite://')).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine) -> None:
    """Migrate the database to the newest revision (no-op when current). Refuses a newer database."""
    state = schema_state(engine)
    if state.unknown:
        raise SchemaError(state.message)
    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        config.attributes['connection'] = connection
        command.upgrade(config, 'head')


@dataclass(frozen=True)
class SchemaState:
    """Where the database stands against this version's migrations."""

    current: str | None
    head: str
    unknown: bool

    @property
    def up_to_date(self) -> bool:
        """True when the database is at this version's newest revision."""
        return self.current == self.head

    @property
    def message(self) -> str:
        """A sentence for the admin."""
        if self.unknown:
            return (
                f'The database is at schema revision {self.current}, which this version of Enclave does not '
                f'know (it was probably written by a newer version). Start the newer version again, or restore '
                f'a backup made by this version.'
            )
        if self.current is None:
            return 'The database is empty. Run "enclave migrate" to create it.'
        if not self.up_to_date:
            return f'The database is at revision {self.current}; run "enclave migrate" to bring it to {self.head}.'
        return f'The database schema is current ({self.head}).'


@functools.lru_cache(maxsize=4)
def _scripts(locations: tuple[Path, ...]) -> tuple[str, frozenset[str]]:
    """(head, every revision) of the migration scripts in `locations`: read once per process, not per call (the
    scripts of a running release do not change; an upgrade starts a new process)."""
    script = ScriptDirectory.from_config(alembic_config('sqlite://'))
    head = script.get_current_head()
    assert head is not None
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def schema_state(engine: Engine) -> SchemaState:
    """Read the database's revision (one small query) and compare it with what this code knows."""
    head, known = _scripts(tuple(version_locations()))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(current=current, head=head, unknown=current is not None and current not in known)


def ensure_current(engine: Engine) -> None:
    """Refuse to start unless the schema is exactly this version's head."""
    state = schema_state(engine)
    if not state.up_to_date:
        raise SchemaError(state.message)
