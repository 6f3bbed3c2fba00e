"""Free space on the data volume, and the reserve that keeps deletes and cleanup possible when it runs out.

`<data_dir>/reserve` is a file of real, allocated blocks (64 MiB, or 1/32 of a small volume) made at start. When free
space drops below its size, or a database write fails because the disk is full, it is deleted: the space it held lets
SQLite commit the deletes people make to free space, lets gc run and the log say what happened. It is made again once
free space is back above three times its size (the job `core.disk_reserve` looks every minute).

New files stop earlier: a blob write refuses to take the volume below twice the reserve's size (`ensure_room`), so
uploads never spend the last space; they answer 507 with a sentence instead.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import DISK_FULL_MESSAGE, DiskFull
from appliance.fsutil import format_size

log = logging.getLogger('enclave.disk')

RESERVE_NAME = 'reserve'
RESERVE_BYTES = 64 * 2**20
RESERVE_SHARE = 32  # on a small volume the reserve is 1/32 of it, so it never takes a big part
_CHUNK = 2**20
# Shares of the data volume that must stay free: below AMBER_FREE it needs planning (90% used), below RED_FREE it needs
# action now (95% used), as do less than twice the reserve, where uploads stop.
AMBER_FREE = 0.10
RED_FREE = 0.05
_lock = threading.Lock()
_FULL_MESSAGES = ('database or disk is full', 'no space left on device')


@dataclass(frozen=True)
class Space:
    """Free and total bytes of the volume holding a path (free as an unprivileged process may use it)."""

    free: int
    total: int

    @property
    def reserve(self) -> int:
        """The reserve's size on this volume."""
        return reserve_size(self.total)


def grade(room: Space, *, amber: float = AMBER_FREE, red: float = RED_FREE) -> str:
    """'full' when under `red` of the volume (or under twice the reserve) is free, 'low' under `amber`, else 'ok'."""
    share = room.free / room.total if room.total else 0.0
    if share < red or room.free < 2 * room.reserve:
        return 'full'
    return 'low' if share < amber else 'ok'


def space(path: Path) -> Space:
    """The free and total bytes of the volume that holds `path`."""
    stats = os.statvfs(path)
    return Space(free=stats.f_bavail * stats.f_frsize, total=stats.f_blocks * stats.f_frsize)


def reserve_size(total: int) -> int:
    """64 MiB, or 1/32 of a volume smaller than 2 GiB."""
    return min(RESERVE_BYTES, total // RESERVE_SHARE)


def reserve_path(data_dir: Path) -> Path:
    """The reserve file of a data dir."""
    return data_dir / RESERVE_NAME


def _allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


@contextmanager
def _across_processes(data_dir: Path) -> Iterator[None]:
    """One process at a time (the workers of one box start together): an flock on the data dir itself."""
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def create_reserve(data_dir: Path) -> bool:
    """Make the reserve unless it exists or free space is short (below three times its size); True if it exists.

    The blocks are allocated for real (fallocate, or written where that is not supported): a sparse file would free
    nothing when deleted.
    """
    with _lock, _across_processes(data_dir):
        target = reserve_path(data_dir)
        room = space(data_dir)
        size = room.reserve
        if target.is_file() and _allocated(target) >= size:
            return True
        if room.free < 3 * size:
            return False
        partial = target.with_name(RESERVE_NAME + '.part')
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _fill(fd, size)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            log.warning('could not make the disk reserve %s: %s', target, error)
            return False
    log.info('disk reserve of %s made at %s', format_size(size), target)
    return True


def _fill(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    # Random bytes, not zeros: a compressing filesystem (btrfs, ZFS) would store zeros in no space at all.
    written = 0
    while written < size:
        written += os.write(fd, os.urandom(min(_CHUNK, size - written)))


def release_reserve(data_dir: Path, *, reason: str) -> int:
    """Delete the reserve (if there is one) so deletes and cleanup can write; return the bytes it held."""
    target = reserve_path(data_dir)
    with _lock:
        try:
            held = _allocated(target)
            target.unlink()
        except FileNotFoundError:
            return 0
    log.warning(
        'disk reserve released (%s): %s freed on the data volume so that deletes and cleanup keep working; '
        'free space now, it is made again once there is room',
        reason,
        format_size(held),
    )
    return held


def maintain(data_dir: Path) -> str:
    """Release the reserve when free space is below its size; make it again once there is room. Returns the state.

    'held' (the reserve exists), 'released' (just deleted), 'short' (no reserve and not enough room for one).
    """
    room = space(data_dir)
    if reserve_path(data_dir).is_file():
        if room.free < room.reserve:
            release_reserve(data_dir, reason=f'only {format_size(room.free)} free')
            return 'released'
        return 'held'
    return 'held' if create_reserve(data_dir) else 'short'


def is_full_error(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) says the disk is full: ENOSPC, or SQLite's 'database or disk is full'."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(current).lower() for text in _FULL_MESSAGES):
            return True
        current = getattr(current, 'orig', None) or current.__cause__ or current.__context__
    return False


def full_error() -> DiskFull:
    """The error a write gets when the data volume is full."""
    return DiskFull(DISK_FULL_MESSAGE)


def ensure_room(path: Path, incoming: int = 0) -> None:
    """Raise DiskFull if writing `incoming` more bytes would leave less than twice the reserve free at `path`."""
    room = space(path)
    if room.free - incoming < 2 * room.reserve:
        raise full_error()


def on_write_error(data_dir: Path, error: BaseException) -> None:
    """A write failed: if because the disk is full, release the reserve so the next delete can commit."""
    if is_full_error(error):
        release_reserve(data_dir, reason=f'a write failed: {str(error)[:200]}')


def watch_database(engine: Any, data_dir: Path) -> None:
    """Release the reserve when the SQLite database at `data_dir` reports a full disk."""
    from sqlalchemy import event

    if engine.dialect.name != 'sqlite':
        return  # PostgreSQL keeps its data elsewhere: our reserve would not help it

    def handle_error(context: Any) -> None:
        on_write_error(data_dir, context.original_exception)

    if not getattr(engine, '_enclave_disk_watch', False):
        event.listen(engine, 'handle_error', handle_error)
        engine._enclave_disk_watch = True


def run_reserve_job() -> None:
    """The scheduler's job: keep the reserve (release it on a full disk, make it again when there is room)."""
    from appliance.config import get_settings

    maintain(get_settings().data_dir)
