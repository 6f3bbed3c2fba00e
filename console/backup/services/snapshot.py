"""What a backup holds, made consistent while the app runs, and how a restored copy is proven against it.

`stage` writes into a staging folder: a copy of the SQLite database taken with SQLite's online backup API (a
consistent snapshot while the app keeps writing), `blobs.txt`: every blob that copy references (sha256 and size,
read from the copy itself), and `manifest.json`: app version, schema revision, row counts of every table the modules
declare in their BackupHooks, and the referenced blobs' count and bytes. restic then backs up the staging folder
together with the blob store, the keys and the config.
The blob store is content-addressed and append-only: a blob's file exists before any row names it and is never
changed, so every blob the copy references is still there when restic reads `blobs/` moments later. Blobs uploaded
in between are in the snapshot too, unreferenced and harmless (gc takes them after a restore).
`verify` opens a restored copy and proves it: SQLite's integrity check, the schema revision, the row counts, and
every referenced blob present with its size and the sha256 its name promises.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.errors import N_, ServiceError
from appliance.fsutil import atomic_write_bytes
from appliance.modules import Registry

if TYPE_CHECKING:
    from sqlalchemy import Engine

MANIFEST = 'manifest.json'
DATABASE = 'enclave.db'
BLOB_LIST = 'blobs.txt'
# 2: blob_files/blob_bytes count the blobs the database references, listed in blobs.txt (1: every file on disk).
FORMAT = 2
# The blobs a database references (a blob row without references is garbage that gc may remove at any time).
REFERENCED_BLOBS = (
    'SELECT b.sha256, b.size FROM core_blobs b WHERE b.sha256 IN (SELECT r.sha256 FROM core_blob_refs r) '
    'ORDER BY b.sha256'
)


class SnapshotError(ServiceError):
    """A backup could not be staged, or a restored copy does not match its manifest."""

    code = 'backup_invalid'
    status = 500


@dataclass
class Manifest:
    """The facts a restore is checked against."""

    format: int
    app_version: str
    schema_revision: str
    tables: dict[str, int]
    blob_files: int
    blob_bytes: int
    database_sha256: str
    created_at: str
    modules: list[str] = field(default_factory=list)
    # Where the data dir and the config file were on the box that made the backup (restic stores full paths).
    data_dir: str = ''
    config_file: str = ''
    # 'sqlite' (the database file is enclave.db) or 'postgresql' (a pg_dump archive, enclave.pgdump).
    database_kind: str = 'sqlite'
    # sha256 of blobs.txt (format 2).
    blob_list_sha256: str = ''

    def to_json(self) -> bytes:
        """The manifest as written into the backup."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read a manifest file; SnapshotError when it is missing or not one."""
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding='utf-8'))
            known = set(cls.__dataclass_fields__)
            return cls(**{key: value for key, value in data.items() if key in known})
        except (OSError, ValueError, TypeError) as error:
            raise SnapshotError(N_('The backup has no readable manifest; it was not made by Enclave.')) from error


@dataclass(frozen=True)
class Finding:
    """One way a restored copy differs from its manifest."""

    what: str
    expected: str
    found: str


def _tables(registry: Registry) -> list[str]:
    return [table for spec in registry.modules() if spec.backup_hooks for table in spec.backup_hooks.tables]


def _count_rows(connection: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        table: int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608 - declared names
        for table in tables
        if table in existing
    }


def _revision(connection: sqlite3.Connection) -> str:
    try:
        row = connection.execute('SELECT version_num FROM alembic_version').fetchone()
    except sqlite3.DatabaseError:
        return ''
    return str(row[0]) if row else ''


def _sha256(path: Path) -> str:
    with path.open('rb') as handle:
        return hashlib.file_digest(handle, 'sha256').hexdigest()


def _referenced(connection: sqlite3.Connection) -> list[tuple[str, int]]:
    try:
        return [(str(sha), int(size)) for sha, size in connection.execute(REFERENCED_BLOBS)]
    except sqlite3.OperationalError:
        return []  # no blob tables (a database before the core's first migration)


def blob_list(blobs: list[tuple[str, int]]) -> bytes:
    """The content of blobs.txt: one `<sha256> <size>` line per blob, sorted."""
    return ''.join(f'{sha} {size}\n' for sha, size in sorted(blobs)).encode()


def blob_totals(blob_root: Path) -> tuple[int, int]:
    """(files, bytes) of the blob store's content files (temporary files aside).

    os.scandir reuses what the directory listing says: about 4x faster than Path.rglob + stat, which matters
    because staging runs in the app's process, where a long pure-Python walk holds the GIL away from pages.
    """
    files = total = 0
    pending = [str(blob_root)] if blob_root.is_dir() else []
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif len(entry.name) == 64 and entry.is_file(follow_symlinks=False):
                    files += 1
                    total += entry.stat(follow_symlinks=False).st_size
    return files, total


def stage(
    *,
    database: Path,
    blob_root: Path,
    staging: Path,
    registry: Registry,
    app_version: str,
    created_at: str,
    data_dir: str = '',
    config_file: str = '',
    postgres: tuple[Engine, str] | None = None,
) -> Manifest:
    """Copy the live database consistently into `staging` and write the manifest beside it.

    With `postgres` (the app's engine and URL), the copy is a pg_dump archive taken on one snapshot.
    """
    staging.mkdir(parents=True, exist_ok=True)
    if postgres is not None:
        from console.backup.services import pgdump

        tables, revision, copy, blobs = pgdump.dump(postgres[0], postgres[1], staging, _tables(registry))
    else:
        copy = staging / DATABASE
        copy.unlink(missing_ok=True)
        source = sqlite3.connect(f'file:{database}?mode=ro', uri=True, timeout=30)
        target = sqlite3.connect(copy)
        try:
            # The online backup API copies a consistent snapshot while other connections keep writing.
            source.backup(target, pages=4096)
            tables = _count_rows(target, _tables(registry))
            revision = _revision(target)
            # From the copy, not the live database: exactly the blobs this copy will need after a restore.
            blobs = _referenced(target)
        finally:
            target.close()
            source.close()
    listing = blob_list(blobs)
    atomic_write_bytes(staging / BLOB_LIST, listing)
    manifest = Manifest(
        format=FORMAT,
        app_version=app_version,
        schema_revision=revision,
        tables=tables,
        blob_files=len(blobs),
        blob_bytes=sum(size for _sha, size in blobs),
        blob_list_sha256=hashlib.sha256(listing).hexdigest(),
        database_sha256=_sha256(copy),
        created_at=created_at,
        modules=[spec.name for spec in registry.modules()],
        data_dir=data_dir,
        config_file=config_file,
        database_kind='postgresql' if postgres is not None else 'sqlite',
    )
    atomic_write_bytes(staging / MANIFEST, manifest.to_json())
    return manifest


def verify(*, staging: Path, blob_root: Path, check_blob_hashes: bool = True, database_url: str = '') -> list[Finding]:
    """Everything in a restored copy that differs from its manifest (an empty list: the copy is proven).

    A PostgreSQL dump is proven by restoring it into a scratch database on the server at `database_url`.
    """
    manifest = Manifest.read(staging / MANIFEST)
    postgres = manifest.database_kind == 'postgresql'
    copy = staging / ('enclave.pgdump' if postgres else DATABASE)
    findings: list[Finding] = []
    if not copy.is_file():
        return [Finding('database', 'present', 'missing')]
    if _sha256(copy) != manifest.database_sha256:
        findings.append(Finding('database checksum', manifest.database_sha256, _sha256(copy)))
    if postgres:
        if not database_url.startswith('postgresql'):
            return [*findings, Finding('database', 'a PostgreSQL server to prove it on', 'this box uses SQLite')]
        from console.backup.services import pgdump

        findings += pgdump.prove(database_url, copy, manifest.tables, manifest.schema_revision)
        return findings + _blob_findings(manifest, staging, blob_root, check_blob_hashes)
    connection = sqlite3.connect(f'file:{copy}?mode=ro', uri=True)
    try:
        try:
            result = connection.execute('PRAGMA integrity_check').fetchone()[0]
        except sqlite3.DatabaseError as error:
            return [*findings, Finding('database integrity', 'ok', str(error))]
        if result != 'ok':
            findings.append(Finding('database integrity', 'ok', str(result)))
        if _revision(connection) != manifest.schema_revision:
            findings.append(Finding('schema revision', manifest.schema_revision, _revision(connection)))
        counts = _count_rows(connection, list(manifest.tables))
    finally:
        connection.close()
    for table, expected in manifest.tables.items():
        if counts.get(table) != expected:
            findings.append(Finding(f'rows in {table}', str(expected), str(counts.get(table, 'missing'))))
    return findings + _blob_findings(manifest, staging, blob_root, check_blob_hashes)


def _blob_findings(manifest: Manifest, staging: Path, blob_root: Path, check_blob_hashes: bool) -> list[Finding]:
    if manifest.format < 2:
        return _file_count_findings(manifest, blob_root, check_blob_hashes)
    try:
        listing = (staging / BLOB_LIST).read_bytes()
    except OSError:
        return [Finding('blob list', 'present', 'missing')]
    if hashlib.sha256(listing).hexdigest() != manifest.blob_list_sha256:
        return [Finding('blob list checksum', manifest.blob_list_sha256, hashlib.sha256(listing).hexdigest())]
    blobs = [(sha, int(size)) for sha, size in (line.split(' ') for line in listing.decode().splitlines())]
    findings: list[Finding] = []
    if (len(blobs), sum(size for _sha, size in blobs)) != (manifest.blob_files, manifest.blob_bytes):
        findings.append(
            Finding(
                'referenced blobs',
                f'{manifest.blob_files} files, {manifest.blob_bytes} bytes',
                f'{len(blobs)}, {sum(size for _sha, size in blobs)}',
            )
        )
    # Only the referenced blobs count: files that arrived after the database was staged are harmless extras.
    for sha, size in blobs:
        path = blob_root / sha[:2] / sha[2:4] / sha
        try:
            found = path.stat().st_size
        except OSError:
            findings.append(Finding(f'blob {sha[:12]}', 'present', 'missing'))
            continue
        if found != size:
            findings.append(Finding(f'blob {sha[:12]}', f'{size} bytes', f'{found} bytes'))
        elif check_blob_hashes and _sha256(path) != sha:
            findings.append(Finding(f'blob {sha[:12]}', 'content matching its name', 'altered'))
    return findings


def _file_count_findings(manifest: Manifest, blob_root: Path, check_blob_hashes: bool) -> list[Finding]:
    """A format-1 manifest counted every blob file on disk at staging time."""
    findings: list[Finding] = []
    files, size = blob_totals(blob_root)
    if (files, size) != (manifest.blob_files, manifest.blob_bytes):
        findings.append(
            Finding('blob store', f'{manifest.blob_files} files, {manifest.blob_bytes} bytes', f'{files}, {size}')
        )
    if check_blob_hashes and blob_root.is_dir():
        for path in blob_root.rglob('*'):
            if path.is_file() and len(path.name) == 64 and _sha256(path) != path.name:
                findings.append(Finding(f'blob {path.name[:12]}', 'content matching its name', 'altered'))
    return findings
