"""Database engine, sessions and the declarative base shared by the core and every module."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger('enclave')

NAMING = {
    'ix': 'ix_%(column_0_label)s',
    'uq': 'uq_%(table_name)s_%(column_0_name)s',
    'ck': 'ck_%(table_name)s_%(constraint_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError('naive datetime given; use appliance.db.utcnow()')
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == 'sqlite' else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base class of every model; tables are prefixed by their module's name."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA busy_timeout=10000')
    # FULL: a commit survives a power cut, not just a process crash.
    cursor.execute('PRAGMA synchronous=FULL')
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and durable commits."""
    if url.startswith('sqlite'):
        engine = create_engine(url, connect_args={'check_same_thread': False, 'timeout': 10})
        event.listen(engine, 'connect', _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error: one transaction per use."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def checkpoint(self) -> None:
        """SQLite: merge the write-ahead log into the database file and empty it (TRUNCATE), so that enclave.db
        copied alone holds every commit. Nothing to do on other databases."""
        if self.engine.dialect.name != 'sqlite':
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql('PRAGMA wal_checkpoint(TRUNCATE)')

    def close(self) -> None:
        """At a clean stop: checkpoint, then close every pooled connection. Never raises (a stop must finish)."""
        try:
            self.checkpoint()
        except Exception:  # e.g. a full disk; SQLite merges the log at the next start anyway
            log.warning('could not merge the database write-ahead log at shutdown', exc_info=True)
        self.dispose()


def lock_for_write(session: Session, guard: Any = None, guard_id: Any = None) -> None:
    """Take the write lock now, before the reads a write depends on (a next number, a bottom position, "is this
    name taken?"), so that two writers cannot both read the same answer and then clash on a UNIQUE constraint.

    Call it in a service right after its permission checks. SQLite: `BEGIN IMMEDIATE` on the session's connection
    (waiting up to the busy timeout for another writer); pysqlite opens a transaction only before its first
    INSERT/UPDATE/DELETE, so a connection already in one has written and holds the lock already. PostgreSQL: the
    row `guard_id` of the model `guard` (usually the project) is locked with SELECT ... FOR UPDATE until the end
    of the transaction, which serialises every writer that locks the same row.
    """
    connection = session.connection()
    if connection.dialect.name == 'sqlite':
        raw = connection.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql('BEGIN IMMEDIATE')
        return
    if guard is not None and guard_id is not None:
        session.execute(select(guard.id).where(guard.id == guard_id).with_for_update())


_database: Database | None = None


def init_database(url: str) -> Database:
    """Set the process-wide database (called once at start, and by each test)."""
    global _database
    if _database is not None:
        _database.dispose()
    _database = Database(url)
    return _database


def get_database() -> Database:
    """The process-wide database; fails loudly when start-up has not set it."""
    if _database is None:
        raise RuntimeError('The database is not initialised: call appliance.db.init_database first.')
    return _database


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the caller's transaction, as fast as the driver allows.

    On SQLite, one `executemany` on the driver with each column's own bind processor applied (SQLAlchemy's
    per-row statement machinery costs more than the insert itself for bulk imports); elsewhere a Core insert.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != 'sqlite':
        connection.execute(table.insert(), list(rows))
        return
    keys = list(rows[0])
    # Python-side column defaults, as a Core insert would apply them (a callable one is evaluated once per call).
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.key in keys or default is None or not (default.is_scalar or default.is_callable):
            continue
        defaults[column.key] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    if defaults:
        rows = [{**defaults, **row} for row in rows]
        keys += list(defaults)
    # dialect_impl: the dialect's own processor (SQLite writes datetimes as text with microseconds, as the ORM does).
    processors = [table.c[key].type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for key in keys]
    quote = connection.dialect.identifier_preparer.quote
    sql = (
        f'INSERT INTO {quote(table.name)} ({", ".join(quote(key) for key in keys)}) '  # noqa: S608 - names from code
        f'VALUES ({", ".join("?" for _ in keys)})'
    )
    connection.exec_driver_sql(
        sql,
        [
            tuple(
                row[key] if process is None else process(row[key])
                for key, process in zip(keys, processors, strict=True)
            )
            for row in rows
        ],
    )
