"""Database engine, sessions and the declarative base shared by the core and every module."""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection, DateTime, Engine, MetaData, Table, create_engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger('enclave')

P = ParamSpec('P')
T = TypeVar('T')

BUSY_TIMEOUT_SECONDS = 10
"""How long a writer waits for the database's write lock before it gives up with "the database is busy"."""
DB_THREADS = 8
"""Threads that run database work for pages, UI events and async routes (FastAPI's sync routes use its own)."""

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


# ---- the write discipline (docs/adr/0005-database-writes.md) --------------------------------------------------

Intent = Literal['write', 'read', 'auto', 'plain']
INTENT = 'enclave_intent'
"""The execution option that says what a session's transaction is for (its bind is the engine with it set)."""


def _intent(connection: Connection) -> Intent:
    if connection.get_execution_options().get('isolation_level') == 'AUTOCOMMIT':
        return 'plain'
    intent: Intent = connection.get_execution_options().get(INTENT, 'plain')
    return intent


def session_intent(session: Session) -> Intent:
    """'write' or 'read' for sessions made by `Database`, else 'plain'."""
    intent: Intent = session.info.get(INTENT, 'plain')
    return intent


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling (a deferred BEGIN before the first write) is turned off: `_begin`
    # below says BEGIN itself, IMMEDIATE for writers, so that a writer takes the write lock before it reads.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute(f'PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}')
    # FULL: a commit survives a power cut, not just a process crash.
    cursor.execute('PRAGMA synchronous=FULL')
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Every SQLite transaction starts here: a writer's with BEGIN IMMEDIATE (the write lock now, or wait for it
    off the event loop), a reader's as a read-only snapshot (a write in it fails at once instead of upgrading the
    lock half-way, which WAL refuses without waiting when another writer committed in between)."""
    if connection.get_execution_options().get('isolation_level') == 'AUTOCOMMIT':
        return
    intent = _intent(connection)
    connection.exec_driver_sql(f'PRAGMA query_only={1 if intent == "read" else 0}')
    connection.exec_driver_sql('BEGIN IMMEDIATE' if intent == 'write' else 'BEGIN')


def _postgresql_begin(connection: Connection) -> None:
    if _intent(connection) == 'read':
        connection.exec_driver_sql('SET TRANSACTION READ ONLY')


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout, durable commits and explicit BEGINs."""
    if url.startswith('sqlite'):
        # Connections to a file are cheap: enough for FastAPI's thread pool and ours without waiting for one.
        pool = {} if url in ('sqlite://', 'sqlite:///:memory:') else {'pool_size': DB_THREADS, 'max_overflow': 48}
        engine = create_engine(url, connect_args={'check_same_thread': False, 'timeout': BUSY_TIMEOUT_SECONDS}, **pool)
        event.listen(engine, 'connect', _sqlite_pragmas)
        event.listen(engine, 'begin', _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, 'begin', _postgresql_begin)
    return engine


_INTENTS: dict[bool | None, Intent] = {True: 'write', False: 'read', None: 'auto'}


class DatabaseBusy(OperationalError):
    """Another writer held the database for longer than the busy timeout."""

    def __init__(self) -> None:
        super().__init__('BEGIN IMMEDIATE', None, sqlite3.OperationalError('database is locked'))


class ProcessWriteLock:
    """The write lock between this app's processes (workers, the command line): an flock on a file beside the
    SQLite database.

    SQLite's own lock still decides; this only lets a waiting process know the moment the lock is free. SQLite's
    busy handler polls with sleeps growing to 100 ms, so with two busy workers one of them kept the lock for
    itself while the other slept (measured: BEGIN IMMEDIATE's p95 wait 35-250 ms at 100 people). A blocked flock
    is woken by the kernel when the holder lets go. It is released by closing its file, so a process that dies
    holding it frees it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self, timeout: float) -> bool:
        """Take the lock within `timeout` seconds; False when another process held it all that time. Where the file
        cannot be opened (a read-only data dir), SQLite's lock alone orders the writers, as it did before."""
        try:
            fd = self._open()
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            waited = self._wait(timeout)
            if waited is None:
                return False
            fd = waited
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _wait(self, timeout: float) -> int | None:
        """A blocking flock cannot time out, so a short-lived thread blocks in it on a file of its own; when the
        waiter has given up by the time it gets the lock, it lets go at once."""
        got = threading.Event()
        mutex = threading.Lock()
        taken: list[int] = []
        abandoned = threading.Event()

        def block() -> None:
            try:
                fd = self._open()
            except OSError:
                got.set()
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                os.close(fd)
                got.set()
                return
            with mutex:
                if abandoned.is_set():
                    os.close(fd)
                    return
                taken.append(fd)
            got.set()

        threading.Thread(target=block, name='enclave-write-lock', daemon=True).start()
        got.wait(timeout)
        with mutex:
            abandoned.set()
            return taken[0] if taken else None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases its flock


class WriteGate:
    """One writer at a time in this process, in the order they came, and between processes without polling.

    A `threading.Lock` acquired with the busy timeout: the writers that do not come through the writer thread
    (scheduled jobs, the command line) wait here, off the event loop, and keep SQLite's lock uncontended inside
    the process. A second write transaction opened on a thread that already holds one would wait for itself: that
    is a bug and fails at once. Then, for a database file, the `ProcessWriteLock` shared with the other processes.
    """

    def __init__(self, timeout: float = BUSY_TIMEOUT_SECONDS, path: Path | None = None) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._held = threading.local()
        self._between = ProcessWriteLock(path) if path is not None else None

    def holding(self) -> bool:
        """Whether this thread is inside a write transaction."""
        return bool(getattr(self._held, 'value', False))

    @contextmanager
    def held(self) -> Iterator[None]:
        if self.holding():
            raise RuntimeError(
                'A write transaction was opened inside another on the same thread: it would wait for '
                'itself. Use Database.independently for a write that must outlive a rollback.'
            )
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise DatabaseBusy
        try:
            if self._between is not None and not self._between.acquire(max(0.0, deadline - time.monotonic())):
                raise DatabaseBusy
            self._held.value = True
            try:
                yield
            finally:
                self._held.value = False
                if self._between is not None:
                    self._between.release()
        finally:
            self._lock.release()


# ---- the event loop stays free -----------------------------------------------------------------------------------

LoopPolicy = Literal['raise', 'warn', 'off']
loop_policy: LoopPolicy = 'warn'
"""What happens when a session is opened on the event loop's thread while serving: tests raise, production logs."""
serving: contextvars.ContextVar[bool] = contextvars.ContextVar('enclave_serving', default=False)
"""True inside a request, a page, a UI event or a job (set by the outermost middleware and the scheduler)."""


class DatabaseOnEventLoop(RuntimeError):
    """A database session was used on the event loop's thread, where it would stall every user."""


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _check_thread() -> None:
    if loop_policy == 'off' or not serving.get() or not _on_event_loop():
        return
    message = 'A database session was opened on the event loop thread; use appliance.db.run_db (or an action).'
    if loop_policy == 'raise':
        raise DatabaseOnEventLoop(message)
    log.warning(message, stack_info=True)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _db_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix='enclave-db')
        return _executor


_writer: ThreadPoolExecutor | None = None


def _writer_executor() -> ThreadPoolExecutor:
    """SQLite: one thread, the writer. PostgreSQL writes concurrently: the database threads."""
    global _writer
    if get_database().gate is None:
        return _db_executor()
    with _executor_lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix='enclave-writer')
        return _writer


async def run_write(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` (which opens its own write transaction) on this process's writer thread and wait for it without
    holding the loop or a thread: writing API routes, the pages' actions and writing steps of async routes.

    On SQLite the writes of a process queue here as futures, first come first served, and the writer thread goes
    from one to the next without a trip through the event loop in between (a busy loop made each write's turn
    last three loop iterations). On PostgreSQL they run on the database threads, concurrently.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(_writer_executor(), call)


async def run_db(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` (which opens its own session) on a database thread and wait for it without holding the loop.

    The caller's context variables (language, time zone, client address) go along; the whole transaction,
    commit included, runs on that one thread.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(_db_executor(), call)


def _lock_path(engine: Engine) -> Path | None:
    """The file whose flock is the write lock between processes: beside a SQLite database file; none in memory."""
    database = engine.url.database
    if not database or database == ':memory:' or database.startswith('file:'):
        return None
    return Path(database).with_name(Path(database).name + '-write.lock')


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._makers = {
            intent: sessionmaker(
                self.engine.execution_options(**{INTENT: intent}), expire_on_commit=False, info={INTENT: intent}
            )
            for intent in ('write', 'read', 'auto')
        }
        self.gate = WriteGate(path=_lock_path(self.engine)) if self.engine.dialect.name == 'sqlite' else None
        self._later = threading.local()
        self._writing = threading.local()

    def new_session(self, *, write: bool | None = None) -> Session:
        """A session not yet begun; `transaction` runs it. (The API's request session: `appliance.api.deps`.)"""
        return self._makers[_INTENTS[write]]()

    @contextmanager
    def session(self, *, write: bool | None = None) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error: one transaction per use.

        Say what it is for. `write=True`: it holds the write lock from its start to its commit (SQLite: BEGIN
        IMMEDIATE behind this process's write gate), so its reads and writes cannot clash with another writer's.
        `write=False`: a read-only snapshot that runs alongside writers; any write in it fails at once. Left out
        (tests, one-off tools): SQLite's default, a deferred transaction that takes the lock at its first write
        and fails at once when another writer committed in between; the app's own code always says which
        (tests/tooling/test_write_discipline.py). Never on the event loop's thread while serving: pages, events and
        async routes go through `run_db`.
        """
        _check_thread()
        with self.new_session(write=write) as session, self.transaction(session):
            yield session

    @contextmanager
    def transaction(self, session: Session) -> Iterator[None]:
        """Run the block as `session`'s transaction on this thread, from the write gate (for a writer) to the commit
        (or the rollback on any error); then what `independently` left for after it."""
        write = session_intent(session) == 'write'
        outermost = write and not self._in_write()
        try:
            with self.gate.held() if write and self.gate is not None else _nothing():
                self._writing.value = self._in_write() or write
                try:
                    yield
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
                finally:
                    if outermost:
                        self._writing.value = False
        finally:
            if outermost:
                self._run_later()

    def independently(self, fn: Callable[[Session], object]) -> None:
        """Run `fn(session)` in a write transaction of its own, whatever becomes of the caller's.

        For records that must stay when the action around them rolls back (a refused permission, a failed
        sign-in). Outside a write transaction it runs now; inside one (which holds the write lock) it runs on
        this thread right after that transaction ends, committed or rolled back.
        """
        if self._in_write():
            self._later.__dict__.setdefault('calls', []).append(fn)
            return
        with self.session(write=True) as session:
            fn(session)

    def _in_write(self) -> bool:
        return bool(getattr(self._writing, 'value', False))

    def _run_later(self) -> None:
        calls: list[Callable[[Session], object]] = self._later.__dict__.pop('calls', [])
        for fn in calls:
            try:
                with self.session(write=True) as session:
                    fn(session)
            except Exception:  # the action's own outcome stands; a lost side record is logged, never raised
                log.exception('a record kept apart from a transaction could not be written')

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def checkpoint(self) -> None:
        """SQLite: merge the write-ahead log into the database file and empty it (TRUNCATE), so that enclave.db
        copied alone holds every commit. Nothing to do on other databases."""
        if self.engine.dialect.name != 'sqlite':
            return
        # On the driver's connection, outside any transaction (inside one SQLite refuses: "table is locked").
        connection = self.engine.raw_connection()
        try:
            connection.driver_connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')  # type: ignore[union-attr]
        finally:
            connection.close()

    def close(self) -> None:
        """At a clean stop: checkpoint, then close every pooled connection. Never raises (a stop must finish)."""
        try:
            self.checkpoint()
        except Exception:  # e.g. a full disk; SQLite merges the log at the next start anyway
            log.warning('could not merge the database write-ahead log at shutdown', exc_info=True)
        self.dispose()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def lock_for_write(session: Session, guard: Any = None, guard_id: Any = None) -> None:
    """Take the write lock now, before the reads a write depends on (a next number, a bottom position, "is this
    name taken?"), so that two writers cannot both read the same answer and then clash on a UNIQUE constraint.

    Call it in a service right after its permission checks. SQLite: a write session began with BEGIN IMMEDIATE
    and holds the lock already; in a read-only one this fails at once. PostgreSQL: the row `guard_id` of the model
    `guard` (usually the project) is locked with SELECT ... FOR UPDATE until the end of the transaction, which
    serialises every writer that locks the same row.
    """
    if session_intent(session) == 'read':
        raise RuntimeError('A write was attempted in a read-only session; open it with write=True.')
    connection = session.connection()
    if connection.dialect.name == 'sqlite':
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
