"""Content-addressed blob store: files named by the sha256 of their bytes, written crash-safely.

Layout under the root: `<aa>/<bb>/<sha256>` for blobs, `tmp/` for writes in progress (same filesystem, so the
final rename is atomic) and `.lock`, which orders the few steps where a writer and gc must not interleave.

Rules that keep the promise "nothing is lost":
- A blob file is visible only when complete: temp file, fsync, rename, fsync the folder.
- The file exists before any database row names it; a crash leaves at worst an unreferenced file for gc.
- A blob's mtime is the last time it was written or claimed (`add_ref`); gc removes unreferenced blobs only after
  `grace_seconds` of that, so an upload whose reference is not committed yet survives.
- The app collects every hour (`collect`: an hour's grace for blobs, a day for temp files, whose mtime every
  chunk of an upload in progress renews). Writes stop short of the data volume's last space (`diskspace`).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appliance import diskspace
from appliance.blobgc import (
    BLOB_GRACE_SECONDS,
    SHA256_RE,
    TEMP_GRACE_SECONDS,
    BlobMaintenance,
    FsckReport,
    GcReport,
)
from appliance.db import Base, utcnow
from appliance.errors import N_, DiskFull, NotFound, ValidationError
from appliance.fsutil import format_size, fsync_dir
from appliance.models import BlobRecord, BlobRef

__all__ = [
    'BLOB_GRACE_SECONDS',
    'CHUNK_SIZE',
    'TEMP_GRACE_SECONDS',
    'BlobStore',
    'FsckReport',
    'GcReport',
    'get_blobstore',
    'validate_sha256',
]

CHUNK_SIZE = 1024 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700


def validate_sha256(sha256: str) -> str:
    """Return `sha256` if it is 64 lowercase hex digits, else raise ValidationError (it becomes a path)."""
    if not isinstance(sha256, str) or not SHA256_RE.fullmatch(sha256):
        raise ValidationError(N_('This is not a valid file id.'), field='sha256')
    return sha256


class _Spool:
    """A temp file being filled; hashes and counts while writing and enforces the size limit.

    The lock lets an async writer discard the spool while a worker thread may still be writing a chunk.
    """

    def __init__(self, tmp_dir: Path, max_bytes: int | None) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError('max_bytes must not be negative')
        diskspace.ensure_room(tmp_dir)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix='blob-', suffix='.part')
        os.fchmod(fd, FILE_MODE)
        self.path = Path(name)
        self.size = 0
        self._file = os.fdopen(fd, 'wb')
        self._hash = hashlib.sha256()
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self._max_bytes is not None and self.size + len(chunk) > self._max_bytes:
                raise ValidationError(
                    N_(
                        'The file is larger than the limit of {limit}. Choose a smaller file or ask the admin to '
                        'raise the limit.'
                    ),
                    field='file',
                    limit=format_size(self._max_bytes),
                    max_bytes=self._max_bytes,
                )
            # Uploads stop short of the last space (twice the disk reserve), which deletes and cleanup need.
            diskspace.ensure_room(self.path.parent, len(chunk))
            self._hash.update(chunk)
            self._file.write(chunk)
            self.size += len(chunk)

    def seal(self) -> str:
        """Make the bytes durable and return their sha256."""
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            return self._hash.hexdigest()

    def discard(self) -> None:
        with self._lock:
            self._file.close()
            self.path.unlink(missing_ok=True)


class BlobStore(BlobMaintenance):
    """Content-addressed files under one root folder, with reference bookkeeping in the database."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / 'tmp'
        self._lock_path = self.root / '.lock'

    # -- writing ------------------------------------------------------------------------------------------------

    def write_stream(self, chunks: Iterable[bytes], *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store the concatenated chunks and return `(sha256, size)`; one chunk at a time is held in memory.

        Over `max_bytes` raises ValidationError; on any error nothing becomes visible and the temp file is removed.
        """
        spool = self._spool(max_bytes)
        try:
            for chunk in chunks:
                spool.write(chunk)
            return self._publish(spool)
        except OSError as error:
            spool.discard()
            if diskspace.is_full_error(error):
                raise self._full(error) from error
            raise
        except BaseException:
            spool.discard()
            raise

    async def write_async(self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None) -> tuple[str, int]:
        """Like `write_stream` for an async source (an HTTP body); file I/O and hashing run in worker threads."""
        # Created on the loop (a few syscalls) so that a cancellation can never strand an unknown temp file.
        spool = self._spool(max_bytes)
        writing: asyncio.Future[None] | None = None
        try:
            # A pipeline: while a thread hashes and writes one chunk, the loop receives the next.
            async for chunk in _coalesce(chunks, CHUNK_SIZE):
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(asyncio.to_thread(spool.write, chunk))
            if writing is not None:
                await writing
            return await asyncio.to_thread(self._publish, spool)
        except OSError as error:
            await _settled(writing)
            spool.discard()
            if diskspace.is_full_error(error):
                raise self._full(error) from error
            raise
        except BaseException:
            await _settled(writing)
            spool.discard()
            raise

    def write_file(self, path: Path | str, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store a copy of the file at `path` and return `(sha256, size)`."""
        with open(path, 'rb') as source:
            return self.write_stream(iter(lambda: source.read(CHUNK_SIZE), b''), max_bytes=max_bytes)

    def write_bytes(self, data: bytes, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store `data` and return `(sha256, size)`."""
        return self.write_stream([data], max_bytes=max_bytes)

    def _spool(self, max_bytes: int | None) -> _Spool:
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self.tmp_dir.mkdir(mode=DIR_MODE, exist_ok=True)
        return _Spool(self.tmp_dir, max_bytes)

    def _full(self, error: OSError) -> DiskFull:
        """The disk is full: release the data dir's reserve (so deletes can commit) and say so in a sentence."""
        diskspace.on_write_error(self.root.parent, error)
        return diskspace.full_error()

    def _publish(self, spool: _Spool) -> tuple[str, int]:
        sha256 = spool.seal()
        target = self._blob_path(sha256)
        self._make_dir(target.parent.parent)
        self._make_dir(target.parent)
        with self._locked(exclusive=False):
            try:
                existing_size: int | None = target.stat().st_size
            except FileNotFoundError:
                existing_size = None
            if existing_size == spool.size:
                # Same content already stored: keep it, and restart its grace period so gc cannot take it
                # before the caller's reference is committed.
                os.utime(target)
                spool.path.unlink(missing_ok=True)
            else:
                # New, or an existing copy of the wrong size (damaged): the fresh bytes win.
                os.replace(spool.path, target)
                fsync_dir(target.parent)
        return sha256, spool.size

    def _make_dir(self, path: Path) -> None:
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            return
        fsync_dir(path.parent)

    @contextmanager
    def no_removals(self) -> Iterator[None]:
        """While held, the collector removes no blob file (writers go on): a snapshot holds it from its database
        copy to its last link, so every blob the copy references is still there to be linked."""
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        with self._locked(exclusive=False):
            yield

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    # -- reading ------------------------------------------------------------------------------------------------

    def _blob_path(self, sha256: str) -> Path:
        validate_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path(self, sha256: str) -> Path:
        """The file of a blob; ValidationError for a malformed id, NotFound when it is not stored."""
        path = self._blob_path(sha256)
        if not path.is_file():
            raise _not_found(sha256)
        return path

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored (ValidationError for a malformed id)."""
        return self._blob_path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open a blob for reading in binary mode; the caller closes it."""
        try:
            return self._blob_path(sha256).open('rb')
        except FileNotFoundError:
            raise _not_found(sha256) from None

    # -- references ---------------------------------------------------------------------------------------------

    def add_ref(self, *, session: Session, sha256: str, owner: str, owner_id: str) -> None:
        """Record that `owner` #`owner_id` uses the blob (idempotent); the blob must already be written.

        Creates the blob's row if it is missing. Call it within the grace period after writing (or for a blob that
        is already referenced); it restarts that grace period, so gc keeps the file until the caller commits.
        """
        for name, value in (('owner', owner), ('owner_id', owner_id)):
            if not value or len(value) > 64:
                raise ValidationError(N_('The blob owner is invalid.'), field=name)
        path = self._blob_path(sha256)
        try:
            with self._locked(exclusive=False):
                os.utime(path)
                size = path.stat().st_size
        except FileNotFoundError:
            raise _not_found(sha256) from None
        _insert_ignore(session, BlobRecord, {'sha256': sha256, 'size': size, 'created_at': utcnow()})
        _insert_ignore(
            session, BlobRef, {'sha256': sha256, 'owner': owner, 'owner_id': owner_id, 'created_at': utcnow()}
        )

    def remove_ref(self, *, session: Session, sha256: str, owner: str, owner_id: str) -> bool:
        """Drop one use of a blob; True if it existed. The file stays until gc finds it unreferenced."""
        validate_sha256(sha256)
        removed = session.scalars(
            delete(BlobRef)
            .where(BlobRef.sha256 == sha256, BlobRef.owner == owner, BlobRef.owner_id == owner_id)
            .returning(BlobRef.id),
            execution_options={'synchronize_session': False},
        ).all()
        return bool(removed)

    def ref_count(self, *, session: Session, sha256: str) -> int:
        """How many uses the blob has."""
        validate_sha256(sha256)
        return session.scalar(select(func.count()).select_from(BlobRef).where(BlobRef.sha256 == sha256)) or 0


def _not_found(sha256: str) -> NotFound:
    return NotFound(
        N_('The file {sha256} is not in the blob store. Restore it from a backup or upload it again.'), sha256=sha256
    )


def _insert_ignore(session: Session, model: type[Base], values: dict[str, Any]) -> None:
    """INSERT unless a row with the same key exists, race-free (ON CONFLICT DO NOTHING)."""
    # Imported here: each dialect package costs ~0.1 s at start-up and a deployment uses one of them.
    dialect = session.get_bind().dialect.name
    if dialect == 'postgresql':
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(model).values(values).on_conflict_do_nothing())
    elif dialect == 'sqlite':
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(model).values(values).on_conflict_do_nothing())
    else:
        raise RuntimeError(f'The blob store supports SQLite and PostgreSQL, not {dialect}.')


async def _settled(writing: asyncio.Future[None] | None) -> None:
    """Let a chunk still being written finish before its file goes (never a write after the discard); its own
    error, if any, is the one already being raised or is of no interest then."""
    if writing is None:
        return
    if not writing.done():
        await asyncio.wait([writing])
    if not writing.cancelled():
        writing.exception()  # retrieved: no "exception was never retrieved" in the log


async def _coalesce(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Join small chunks (network reads are often a few KiB) so each worker-thread hop carries real work."""
    pending = bytearray()
    async for chunk in chunks:
        if not pending and len(chunk) >= size:
            yield chunk  # big enough already: no copy
            continue
        pending += chunk
        if len(pending) >= size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def get_blobstore() -> BlobStore:
    """The blob store of this installation: `<data_dir>/blobs`."""
    from appliance.config import get_settings

    return BlobStore(get_settings().data_dir / 'blobs')
