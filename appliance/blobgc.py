"""The blob store's maintenance: garbage collection of unreferenced blobs and temp files, and fsck.

`BlobStore` (appliance/blobstore.py) inherits these methods; they share its layout (`<aa>/<bb>/<sha256>`, `tmp/`,
`.lock`) and its rules: rows are deleted before files, files only after their grace period, under the store's
exclusive lock, and a reference that appears meanwhile wins.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appliance.db import Database
from appliance.models import BlobRecord, BlobRef

SHA256_RE = re.compile(r'[0-9a-f]{64}')
BUCKET_RE = re.compile(r'[0-9a-f]{2}')
_SHA256 = SHA256_RE
_BUCKET = BUCKET_RE
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


class BlobMaintenance:
    """gc, collect, fsck and usage of a blob store; mixed into `BlobStore`, which provides the layout and lock."""

    root: Path
    tmp_dir: Path
    _lock_path: Path
    _locked: Callable[..., AbstractContextManager[None]]  # BlobStore's lock: `with self._locked(exclusive=True)`

    def usage(self) -> tuple[int, int]:
        """`(count, bytes)` of the blobs on disk (temp files not included)."""
        count = size = 0
        for prefix in self._prefixes():
            blobs, _ = self._scan_prefix(prefix)
            count += len(blobs)
            size += sum(blob.size for blob in blobs.values())
        return count, size

    # -- collection --------------------------------------------------------------------------------------------

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
        with database.session(write=False) as session:
            prefixes = self._prefixes(session)
        cutoff = time.time() - grace_seconds
        for prefix in prefixes:
            with database.session(write=True) as session:
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


def _scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def _in_prefix(column: Any, prefix: str) -> tuple[Any, Any]:
    # A range, not LIKE, so the primary key / index is used; 'g' sorts after every hex digit.
    return column >= prefix, column < prefix + 'g'


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
