"""One lock for backup, restore, drill and upgrade: they never overlap, across processes (app, CLI, timers).

An advisory `flock` on `<data dir>/maintenance.lock`: the kernel drops it when its holder dies, even by kill -9,
so a crash never leaves a stale lock. The file names the holder, so a refused request can say who is running.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.db import utcnow
from appliance.errors import N_, Conflict

LOCK_FILE = 'maintenance.lock'


class Busy(Conflict):
    """Another maintenance operation holds the lock."""

    code = 'maintenance_busy'
    translated_params = ('operation',)  # the holder's operation is itself a message (N_('backup'), ...)


def holder(data_dir: Path) -> dict[str, str]:
    """What the lock file says about the current (or last) holder: operation, pid, since."""
    try:
        value = json.loads((data_dir / LOCK_FILE).read_text(encoding='utf-8') or '{}')
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


@contextmanager
def maintenance_lock(data_dir: Path, operation: str, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the maintenance lock for `operation`; wait up to `wait_seconds`, then raise Busy naming the holder."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    current = holder(data_dir)
                    raise Busy(
                        N_('A {operation} has been running since {since}. Wait for it to finish, then try again.'),
                        operation=current.get('operation', N_('maintenance task')),
                        since=current.get('since', '?'),
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, json.dumps({'operation': operation, 'pid': os.getpid(), 'since': utcnow().isoformat()}).encode(), 0
        )
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
