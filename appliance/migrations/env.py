"""Alembic environment: one linear history for the core and every module."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from appliance.config import get_settings
from appliance.db import Base
from appliance.migrate import import_all_models, include_object

import_all_models()
config = context.config
url = config.get_main_option('sqlalchemy.url') or get_settings().sqlalchemy_url
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get('connection')
    if connectable is None:
        engine = engine_from_config({'sqlalchemy.url': url}, prefix='sqlalchemy.', poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our UTCDateTime as a plain timezone-aware DateTime so migrations import nothing from the app."""
    if type_ == 'type' and type(obj).__name__ == 'UTCDateTime':
        return 'sa.DateTime(timezone=True)'
    return False


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table inside the transaction.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
