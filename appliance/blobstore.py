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
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appliance import diskspace
from appliance.db import Base, Database, utcnow
from appliance.errors import N_, DiskFull, NotFound, ValidationError
from appliance.fsutil import format_size, fsync_dir
from appliance.models import BlobRecord, BlobRef

CHUNK_SIZE = 1024 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700
_SHA256 = re.compile(r'[0-9a-f]{64}')
_BUCKET = re.compile(r'[0-9a-f]{2}')
_BATCH = 500
# The scheduled collection's grace periods: an upload's blob is referenced within seconds of being written, so an
# hour is ample; an interrupted upload's temp file is kept a day (a slow upload touches its file with every chunk).
BLOB_GRACE_SECONDS = 3600
TEMP_GRACE_SECONDS = 24 * 3600


@dataclass
class GcReport:
    """What a garbage collection removed (or, in a dry run, would remove)."""

    blobs_removed: int = 0
    bytes_freed: int = 0
    records_removed: int = 0
    temp_files_removed: int = 0
    blob_bytes_freed: int = 0
    temp_bytes_freed: int = 0
    dry_run: bool = False


@dataclass
class FsckReport:
    """How the files on disk and the database rows agree.

    `missing`, `corrupt` and `size_mismatches` are damage. `orphans` (files nobody references), `temp_files`
    (writes interrupted by a crash) and `strays` (files that do not belong in the layout) lose nothing; gc takes
    the first two, strays are left for a person to look at.
    """

    blobs: int = 0
    bytes: int = 0
    orphans: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    size_mismatches: list[str] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)
    strays: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no data is damaged: every referenced blob is present, intact and of its recorded size."""
        return not (self.missing or self.corrupt or self.size_mismatches)

    @property
    def clean(self) -> bool:
        """True when `ok` and nothing is left over either (no orphans, temp files or strays)."""
        return self.ok and not (self.orphans or self.temp_files or self.strays)


@dataclass(frozen=True)
class _DiskBlob:
    sha256: str
    path: Path
    size: int
    mtime: float


def validate_sha256(sha256: str) -> str:
    """Return `sha256` if it is 64 lowercase hex digits, else raise ValidationError (it becomes a path)."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
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


class BlobStore:
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
        try:
            async for chunk in _coalesce(chunks, CHUNK_SIZE):
                await asyncio.to_thread(spool.write, chunk)
            return await asyncio.to_thread(self._publish, spool)
        except OSError as error:
            spool.discard()
            if diskspace.is_full_error(error):
                raise self._full(error) from error
            raise
        except BaseException:
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

    def usage(self) -> tuple[int, int]:
        """`(count, bytes)` of the blobs on disk (temp files not included)."""
        count = size = 0
        for prefix in self._prefixes():
            blobs, _ = self._scan_prefix(prefix)
            count += len(blobs)
            size += sum(blob.size for blob in blobs.values())
        return count, size

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

    # -- maintenance --------------------------------------------------------------------------------------------

    def gc(
        self,
        *,
        session: Session,
        grace_seconds: float = 3600,
        temp_grace_seconds: float | None = None,
        dry_run: bool = False,
    ) -> GcReport:
        """Remove unreferenced blobs (files and rows) untouched for `grace_seconds`, and temp files untouched for
        `temp_grace_seconds` (default: the same). With `dry_run`, only count what would go.

        Rows are deleted in the caller's transaction before files are unlinked: if that transaction later rolls
        back, what remains is unreferenced rows without files, which the next gc removes.
        """
        report = GcReport(dry_run=dry_run)
        if not self.root.is_dir():
            return report
        cutoff = time.time() - grace_seconds
        for prefix in self._prefixes(session):
            self._gc_prefix(session, prefix, cutoff, report)
        self._gc_temp(time.time() - (grace_seconds if temp_grace_seconds is None else temp_grace_seconds), report)
        return report

    def collect(
        self,
        database: Database,
        *,
        grace_seconds: float = BLOB_GRACE_SECONDS,
        temp_grace_seconds: float = TEMP_GRACE_SECONDS,
        dry_run: bool = False,
    ) -> GcReport:
        """`gc` with one short transaction per prefix, so writers never wait for a walk of the whole store."""
        report = GcReport(dry_run=dry_run)
        if not self.root.is_dir():
            return report
        with database.session() as session:
            prefixes = self._prefixes(session)
        cutoff = time.time() - grace_seconds
        for prefix in prefixes:
            with database.session() as session:
                self._gc_prefix(session, prefix, cutoff, report)
        self._gc_temp(time.time() - temp_grace_seconds, report)
        return report

    def _gc_temp(self, cutoff: float, report: GcReport) -> None:
        # Age by mtime: an upload in progress writes its temp file with every chunk, so it is never this old.
        for path in self._temp_files():
            if path.is_dir():
                continue  # not ours: fsck lists it, a person decides
            freed = _size_if_older(path, cutoff) if report.dry_run else _unlink_if_older(path, cutoff)
            if freed is not None:
                report.temp_files_removed += 1
                report.temp_bytes_freed += freed
                report.bytes_freed += freed

    def _gc_prefix(self, session: Session, prefix: str, cutoff: float, report: GcReport) -> None:
        blobs, _ = self._scan_prefix(prefix)
        referenced = self._referenced(session, prefix)
        records = self._records(session, prefix)
        cutoff_at = datetime.fromtimestamp(cutoff, UTC)
        unreferenced = [sha for sha, blob in blobs.items() if sha not in referenced and blob.mtime <= cutoff]
        rowless = [
            sha for sha, (_, at) in records.items() if sha not in blobs and sha not in referenced and at <= cutoff_at
        ]
        if report.dry_run:
            report.records_removed += len([sha for sha in unreferenced if sha in records]) + len(rowless)
            report.blobs_removed += len(unreferenced)
            would_free = sum(blobs[sha].size for sha in unreferenced)
            report.blob_bytes_freed += would_free
            report.bytes_freed += would_free
            return
        deleted = _delete_unreferenced_records(session, [sha for sha in unreferenced if sha in records] + rowless)
        report.records_removed += len(deleted)
        with self._locked(exclusive=True):
            for sha in unreferenced:
                if sha in records and sha not in deleted:
                    continue  # a reference appeared since we looked
                freed = _unlink_if_older(blobs[sha].path, cutoff)
                if freed is not None:
                    report.blobs_removed += 1
                    report.blob_bytes_freed += freed
                    report.bytes_freed += freed

    def fsck(self, *, session: Session, verify_hashes: bool = False) -> FsckReport:
        """Compare the files with the database; with `verify_hashes`, read every blob and check its name."""
        report = FsckReport(temp_files=self._temp_files(), strays=self._root_strays())
        for prefix in self._prefixes(session):
            blobs, strays = self._scan_prefix(prefix)
            report.strays.extend(strays)
            referenced = self._referenced(session, prefix)
            records = self._records(session, prefix)
            for sha, blob in sorted(blobs.items()):
                report.blobs += 1
                report.bytes += blob.size
                if sha not in referenced:
                    report.orphans.append(sha)
                if sha in records and records[sha][0] != blob.size:
                    report.size_mismatches.append(sha)
                if verify_hashes and _hash_file(blob.path) != sha:
                    report.corrupt.append(sha)
            report.missing.extend(sorted((records.keys() | referenced) - blobs.keys()))
        return report

    def _prefixes(self, session: Session | None = None) -> list[str]:
        """The `<aa>` prefixes that have a folder on disk or a row in the database: the work to look at."""
        found = {entry.name for entry in _scandir(self.root) if _BUCKET.fullmatch(entry.name) and entry.is_dir()}
        if session is not None:
            # Every ref names a row (foreign key), so the rows' prefixes cover the refs too.
            found.update(session.scalars(select(func.substr(BlobRecord.sha256, 1, 2)).distinct()))
        return sorted(prefix for prefix in found if _BUCKET.fullmatch(prefix))

    def _records(self, session: Session, prefix: str) -> dict[str, tuple[int, datetime]]:
        query = select(BlobRecord.sha256, BlobRecord.size, BlobRecord.created_at)
        rows = session.execute(query.where(*_in_prefix(BlobRecord.sha256, prefix)))
        return {sha: (size, created_at) for sha, size, created_at in rows}

    def _referenced(self, session: Session, prefix: str) -> set[str]:
        query = select(BlobRef.sha256).where(*_in_prefix(BlobRef.sha256, prefix)).distinct()
        return set(session.scalars(query))

    def _scan_prefix(self, prefix: str) -> tuple[dict[str, _DiskBlob], list[Path]]:
        """The blobs under `<root>/<prefix>/`, and anything there that does not belong."""
        blobs: dict[str, _DiskBlob] = {}
        strays: list[Path] = []
        top = self.root / prefix
        if not top.is_dir():
            return blobs, strays
        for bucket in _scandir(top):
            if not (_BUCKET.fullmatch(bucket.name) and bucket.is_dir(follow_symlinks=False)):
                strays.append(Path(bucket.path))
                continue
            for entry in _scandir(Path(bucket.path)):
                name = entry.name
                if (
                    _SHA256.fullmatch(name)
                    and name[:2] == prefix
                    and name[2:4] == bucket.name
                    and entry.is_file(follow_symlinks=False)
                ):
                    stat = entry.stat(follow_symlinks=False)
                    blobs[name] = _DiskBlob(name, Path(entry.path), stat.st_size, stat.st_mtime)
                else:
                    strays.append(Path(entry.path))
        return blobs, strays

    def _root_strays(self) -> list[Path]:
        allowed = {self.tmp_dir.name, self._lock_path.name}
        return [
            Path(entry.path)
            for entry in _scandir(self.root)
            if not (entry.name in allowed or (_BUCKET.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)))
        ]

    def _temp_files(self) -> list[Path]:
        return sorted(Path(entry.path) for entry in _scandir(self.tmp_dir))


def _not_found(sha256: str) -> NotFound:
    return NotFound(
        N_('The file {sha256} is not in the blob store. Restore it from a backup or upload it again.'), sha256=sha256
    )


def _scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def _in_prefix(column: Any, prefix: str) -> tuple[Any, Any]:
    # A range, not LIKE, so the primary key / index is used; 'g' sorts after every hex digit.
    return column >= prefix, column < prefix + 'g'


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


def _delete_unreferenced_records(session: Session, shas: list[str]) -> set[str]:
    """Delete the rows of those blobs that still have no reference; return the shas whose rows were deleted."""
    deleted: set[str] = set()
    unreferenced = ~select(BlobRef.id).where(BlobRef.sha256 == BlobRecord.sha256).exists()
    for start in range(0, len(shas), _BATCH):
        batch = shas[start : start + _BATCH]
        deleted.update(
            session.scalars(
                delete(BlobRecord).where(BlobRecord.sha256.in_(batch), unreferenced).returning(BlobRecord.sha256),
                execution_options={'synchronize_session': False},
            )
        )
    return deleted


def _unlink_if_older(path: Path, cutoff: float) -> int | None:
    """Remove `path` if not modified since `cutoff` (checked again now: a writer may just have claimed it)."""
    try:
        stat = path.stat()
        if stat.st_mtime > cutoff:
            return None
        path.unlink()
    except FileNotFoundError:
        return None
    return stat.st_size


def _size_if_older(path: Path, cutoff: float) -> int | None:
    """The size of `path` if not modified since `cutoff` (what `_unlink_if_older` would free)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size if stat.st_mtime <= cutoff else None


def _hash_file(path: Path) -> str:
    with path.open('rb') as handle:
        return hashlib.file_digest(handle, 'sha256').hexdigest()


def get_blobstore() -> BlobStore:
    """The blob store of this installation: `<data_dir>/blobs`."""
    from appliance.config import get_settings

    return BlobStore(get_settings().data_dir / 'blobs')
