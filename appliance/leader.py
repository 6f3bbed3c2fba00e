"""One scheduler for all the workers: the process that holds the leader lock runs the jobs; the others wait.

Every worker starts its scheduler paused and tries for the lock every `RETRY_SECONDS`; the one that gets it resumes
its scheduler. The lock goes with its holder, however that ends, and another worker takes over at its next try:
- SQLite (one box): an flock on `<data_dir>/scheduler.lock`, which the kernel releases when the process dies;
- PostgreSQL (the first step to several boxes): a session advisory lock on a connection of its own, released by the
  server when that connection ends. The holder checks the connection at every turn and pauses its jobs when it is
  gone (the server restarted), so two schedulers never run at once for longer than one turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from appliance.db import Database

log = logging.getLogger('enclave.leader')

RETRY_SECONDS = 10.0
ADVISORY_KEY = 0x456E636C  # 'Encl': the scheduler's advisory lock on PostgreSQL


class Lock(Protocol):
    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


@dataclass
class FileLock:
    """An exclusive flock on a file: held until released or until this process ends."""

    path: Path
    _handle: IO[str] | None = None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = self.path.open('a')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f'{os.getpid()}\n')
        handle.flush()
        self._handle = handle
        return True

    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None


@dataclass
class AdvisoryLock:
    """PostgreSQL's session advisory lock, on a connection kept for it (outside the pool's turns)."""

    database: Database
    key: int = ADVISORY_KEY
    _connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return self.held()
        connection = self.database.engine.connect().execution_options(isolation_level='AUTOCOMMIT')
        try:
            got = bool(connection.execute(text('SELECT pg_try_advisory_lock(:key)'), {'key': self.key}).scalar())
        except SQLAlchemyError:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text('SELECT 1'))
        except SQLAlchemyError:
            log.warning('the connection holding the scheduler lock is gone: jobs paused here')
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a dead connection has released the lock already
                self._connection.execute(text('SELECT pg_advisory_unlock(:key)'), {'key': self.key})
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def lock_for(database: Database, data_dir: Path) -> Lock:
    """The leader lock that fits the database."""
    if database.engine.dialect.name == 'postgresql':
        return AdvisoryLock(database)
    return FileLock(data_dir / 'scheduler.lock')


@dataclass
class Leadership:
    """Runs `scheduler`'s jobs in this process while it holds `lock` (see the module's docstring)."""

    scheduler: BaseScheduler
    lock: Lock
    retry_seconds: float = RETRY_SECONDS
    _task: asyncio.Task[None] | None = None
    _leading: bool = False

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        """At the app's start (on the event loop): the scheduler paused, and the first try for the lock."""
        self.scheduler.start(paused=True)
        self._task = asyncio.get_running_loop().create_task(self._run(), name='enclave-leader')

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.turn)
            except Exception:
                log.exception('the scheduler lock could not be checked; trying again')
            await asyncio.sleep(self.retry_seconds)

    def turn(self) -> None:
        """Take the lead when the lock is free; give it up when the lock was lost. Blocking: off the loop."""
        if self._leading:
            if not self.lock.held():
                self._leading = False
                self.scheduler.pause()
                log.warning('scheduled jobs paused in process %d: it no longer holds the scheduler lock', os.getpid())
            return
        if self.lock.acquire():
            self._leading = True
            self.scheduler.resume()
            log.info('process %d runs the scheduled jobs', os.getpid())

    def stop(self) -> None:
        """At the app's stop: no more turns, the jobs stopped, the lock released for another worker."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._leading = False
        self.lock.release()
