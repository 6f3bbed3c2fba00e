"""Local snapshots: a consistent copy of the box's state on its own disk, taken in seconds, restored in a minute.

A snapshot is a folder `<data>/snapshots/<id>/` holding what a backup holds, laid out as a restored backup is:
- `backup-staging/`: the database copy (SQLite's online backup API, or a pg_dump archive), `blobs.txt` and
  `manifest.json`, made by the same `stage` as a backup's (console/backup/services/snapshot.py);
- `blobs/<aa>/<bb>/<sha256>`: a hard link to every blob the copy references. Blobs are immutable and
  content-addressed, so a link pins the file without copying it: when the blob store's collector later removes
  its own name for a blob, the snapshot's name keeps the bytes. Deleting a snapshot frees exactly its files
  whose link count is one (`freed_bytes`);
- `keys/` and `config.toml`: copies (a few kilobytes);
- `snapshot.json`: why, when, by whom and by which release it was taken, and whether it was proven.

Taking one holds the maintenance lock (never beside a backup, restore or upgrade) and the blob store's shared lock
from before the database copy until the last link (so the collector removes no file the copy references
meanwhile). It is built in `.partial-<id>/` and renamed into place once whole: a kill at any moment leaves either
nothing or a complete snapshot, and the next take removes what a killed one left. Deleting renames to
`.deleting-<id>/` first, for the same reason.

Free space is computed before anything is written (the database copy, the keys, the folders of the links) and a
snapshot that would take the volume below what uploads keep free is refused with a sentence.

Retention: the newest 7 daily snapshots, the newest 3 taken before upgrades and 3 before restores; snapshots taken
on demand stay until deleted. Retention never removes the only snapshot of a release still installed.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from appliance import __version__
from appliance.blobstore import BlobStore
from appliance.config import Settings, config_file
from appliance.db import get_database, utcnow
from appliance.diskspace import space
from appliance.errors import DISK_FULL_MESSAGE, N_, NP_, NotFound, ServiceError
from appliance.extensions import Status
from appliance.fsutil import atomic_write_bytes, format_size, fsync_dir
from appliance.i18n import format_datetime, gettext, translate_error
from appliance.modules import Registry
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.backup.services import backup
from console.backup.services.snapshot import BLOB_LIST, DATABASE, MANIFEST, Manifest, stage, verify
from console.backup.services.targets import PERMISSION
from console.lock import Busy, maintenance_lock
from console.models import Run

log = logging.getLogger('enclave.console')

SNAPSHOTS = 'snapshots'
INFO = 'snapshot.json'
PARTIAL = '.partial-'
DELETING = '.deleting-'
CONFIG_COPY = 'config.toml'
FAILURE = '.last-failure.json'
# Why a snapshot was taken, as the list shows it.
REASONS = {
    'scheduled': N_('Daily'),
    'manual': N_('On demand'),
    'upgrade': N_('Before an upgrade'),
    'restore': N_('Before a restore'),
}
# How many of each kind retention keeps (the newest); on-demand snapshots are kept until deleted.
KEEP = {'scheduled': 7, 'upgrade': 3, 'restore': 3}
SCHEDULE_EVERY = timedelta(hours=24)
# Where install.sh puts the releases; a release with a folder here is installed.
RELEASES = Path(os.environ.get('ENCLAVE_RELEASES', '/opt/enclave/releases'))
_DIR_BYTES = 4096
_SPACE_MARGIN = 1.05  # the copy may come out a little larger than the file it copies (free pages, a busy WAL)


class SnapshotRefused(ServiceError):
    """A snapshot could not be taken, restored or deleted; nothing was changed."""

    code = 'snapshot_refused'
    status = 409


@dataclass
class LocalSnapshot:
    """One snapshot, as `snapshot.json` describes it."""

    id: str
    reason: str
    created_at: str
    actor: str
    app_version: str
    schema_revision: str
    database_kind: str
    database_bytes: int
    blob_files: int
    blob_bytes: int
    took_seconds: float
    note: str = ''
    missing_blobs: int = 0
    proven_at: str = ''
    proof: str = ''  # '' not proven yet, 'ok', or 'failed' (see findings)
    findings: list[str] = field(default_factory=list)
    # Not stored: where it is, and what deleting it would free (read from the files' link counts).
    path: Path = field(default=Path(), compare=False, repr=False)
    freed_bytes: int = -1

    def to_json(self) -> bytes:
        """What snapshot.json holds."""
        data = asdict(self)
        data.pop('path')
        data.pop('freed_bytes')
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def read(cls, folder: Path) -> LocalSnapshot:
        """The snapshot in `folder`; OSError or ValueError when its description is missing or unreadable."""
        data: dict[str, Any] = json.loads((folder / INFO).read_text(encoding='utf-8'))
        known = set(cls.__dataclass_fields__) - {'path', 'freed_bytes'}
        snapshot = cls(**{key: value for key, value in data.items() if key in known})
        snapshot.path = folder
        return snapshot

    @property
    def created(self) -> datetime:
        """When it was taken (UTC)."""
        return datetime.fromisoformat(self.created_at)

    def as_dict(self) -> dict[str, Any]:
        """For `--json` and the API."""
        data = asdict(self)
        data['path'] = str(self.path)
        return data


def snapshots_root(settings: Settings) -> Path:
    """`<data>/snapshots`, made on first use (readable by the service user only)."""
    root = settings.data_dir / SNAPSHOTS
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def installed_versions() -> set[str]:
    """The releases installed side by side (install.sh's `releases/<version>`), and the running one."""
    found = {__version__}
    try:
        found.update(entry.name for entry in os.scandir(RELEASES) if entry.is_dir(follow_symlinks=False))
    except OSError:
        pass
    return found


# -- taking ----------------------------------------------------------------------------------------------------


def take(
    *, settings: Settings, registry: Registry, actor: Actor, reason: str = 'manual', note: str = ''
) -> LocalSnapshot:
    """Take a snapshot under the maintenance lock (refused, naming the holder, while another operation runs)."""
    require(actor, PERMISSION)
    with maintenance_lock(settings.data_dir, N_('snapshot')):
        return take_unlocked(settings=settings, registry=registry, actor=actor, reason=reason, note=note)


def take_before(*, settings: Settings, registry: Registry, actor: Actor, reason: str, note: str = '') -> None:
    """A snapshot before a restore or an upgrade, when one can be taken. The caller holds the maintenance lock.

    A restore must also work when no snapshot can be taken (a damaged database is a common reason to restore,
    and everything current is moved aside anyway), so a refusal is logged, not raised.
    """
    if not (settings.data_dir / DATABASE).exists() and settings.is_sqlite:
        return  # a freshly installed box: nothing to keep
    try:
        take_unlocked(settings=settings, registry=registry, actor=actor, reason=reason, note=note)
    except (ServiceError, OSError, sqlite3.Error) as error:
        log.warning('no snapshot before the %s: %s', reason, error)


def take_unlocked(
    *, settings: Settings, registry: Registry, actor: Actor, reason: str = 'manual', note: str = ''
) -> LocalSnapshot:
    """Take a snapshot; the caller holds the maintenance lock (see the module's docstring for what it holds)."""
    require(actor, PERMISSION)
    if reason not in REASONS:
        raise ValueError(f'unknown snapshot reason {reason!r}')
    root = snapshots_root(settings)
    _clear_leftovers(root)
    _refuse_short_space(settings, root)
    started = time.monotonic()
    created = utcnow()
    ident = _new_id(root, created, reason)
    partial = root / f'{PARTIAL}{ident}'
    partial.mkdir(mode=0o700)
    data_dir = settings.data_dir
    store = BlobStore(data_dir / 'blobs')
    config = config_file()
    try:
        backup.before_copy(registry)
        with store.no_removals():
            manifest = stage(
                database=data_dir / DATABASE,
                blob_root=store.root,
                staging=partial / backup.STAGING,
                registry=registry,
                app_version=__version__,
                created_at=created.isoformat(),
                data_dir=str(data_dir.resolve()),
                config_file=str(config.resolve()) if config.is_file() else '',
                postgres=None if settings.is_sqlite else (get_database().engine, settings.sqlalchemy_url),
            )
            missing = _link_blobs(store.root, partial / 'blobs', partial / backup.STAGING / BLOB_LIST)
        if (data_dir / 'keys').is_dir():
            shutil.copytree(data_dir / 'keys', partial / 'keys')
        if config.is_file():
            shutil.copy2(config, partial / CONFIG_COPY)
        copy = partial / backup.STAGING / (DATABASE if settings.is_sqlite else 'enclave.pgdump')
        snapshot = LocalSnapshot(
            id=ident,
            reason=reason,
            created_at=created.isoformat(),
            actor=actor.username,
            app_version=__version__,
            schema_revision=manifest.schema_revision,
            database_kind=manifest.database_kind,
            database_bytes=copy.stat().st_size,
            blob_files=manifest.blob_files,
            blob_bytes=manifest.blob_bytes,
            took_seconds=0.0,
            note=note,
            missing_blobs=missing,
        )
        snapshot.took_seconds = round(time.monotonic() - started, 3)
        atomic_write_bytes(partial / INFO, snapshot.to_json(), mode=0o600)
        _sync_tree(partial)
        os.rename(partial, root / ident)
        fsync_dir(root)
    except BaseException as error:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise SnapshotRefused(DISK_FULL_MESSAGE) from error
        raise
    snapshot.path = root / ident
    _audit(actor, 'console.snapshot', ident, {'reason': reason, 'version': __version__})
    log.info('snapshot %s taken in %.2f s (%s blobs pinned)', ident, snapshot.took_seconds, snapshot.blob_files)
    return snapshot


def _new_id(root: Path, created: datetime, reason: str) -> str:
    base = f'{created:%Y%m%d-%H%M%S}-{reason}'
    ident, n = base, 1
    while (root / ident).exists() or (root / f'{PARTIAL}{ident}').exists():
        n += 1
        ident = f'{base}-{n}'
    return ident


def _link_blobs(blob_root: Path, target: Path, listing: Path) -> int:
    """Hard-link every blob in `listing` from the blob store into `target`; return how many were missing."""
    target.mkdir(mode=0o700)
    made: set[str] = set()
    missing = 0
    with listing.open(encoding='ascii') as lines:
        for line in lines:
            sha = line.split(' ', 1)[0]
            folder = f'{sha[:2]}/{sha[2:4]}'
            if folder not in made:
                (target / sha[:2]).mkdir(mode=0o700, exist_ok=True)
                (target / folder).mkdir(mode=0o700, exist_ok=True)
                made.add(folder)
            try:
                os.link(blob_root / folder / sha, target / folder / sha)
            except FileNotFoundError:
                missing += 1  # the live store lacks a blob its database names: the proof will say so
            except OSError as error:
                if error.errno == errno.EXDEV:
                    raise SnapshotRefused(
                        N_(
                            'The blob store is on another file system than the data folder, so a snapshot cannot '
                            'pin its files. Keep {folder} on the data volume.'
                        ),
                        folder=str(blob_root),
                    ) from error
                raise
    if missing:
        log.error('snapshot: %s referenced blobs are missing from the blob store', missing)
    return missing


def _sync_tree(folder: Path) -> None:
    """Make the snapshot durable before it is renamed into place: the files written (the database copy, the
    descriptions, the keys) fsynced one by one, then the file system's metadata (the link folders) with one
    syncfs: an fsync per folder costs seconds on a store of many thousand folders."""
    for place in (folder, folder / backup.STAGING, folder / 'keys'):
        if not place.is_dir():
            continue
        with os.scandir(place) as entries:
            written = [entry.path for entry in entries if entry.is_file(follow_symlinks=False)]
        for path in written:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _syncfs(folder)


def _syncfs(path: Path) -> None:
    """syncfs(2) on the file system holding `path` (sync(2) where libc has none)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not hasattr(libc, 'syncfs') or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def needed_bytes(settings: Settings, folders: int | None = None) -> int:
    """What a snapshot writes: the database copy, the keys, the config and the folders that hold the links
    (`folders`: their count, when the caller has counted them already)."""
    data_dir = settings.data_dir
    if settings.is_sqlite:
        database = sum(_size(data_dir / name) for name in (DATABASE, f'{DATABASE}-wal'))
    else:
        with get_database().session(write=False) as session:
            database = int(session.execute(text('SELECT pg_database_size(current_database())')).scalar_one())
    keys = sum(_size(path) for path in (data_dir / 'keys').glob('*'))
    if folders is None:
        folders = _blob_folders(data_dir / 'blobs')
    return int(database * _SPACE_MARGIN) + keys + _size(config_file()) + (folders + 8) * _DIR_BYTES


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _blob_folders(blob_root: Path) -> int:
    count = 0
    try:
        with os.scandir(blob_root) as prefixes:
            for prefix in prefixes:
                if len(prefix.name) == 2 and prefix.is_dir(follow_symlinks=False):
                    count += 1 + sum(1 for _ in os.scandir(prefix.path))
    except OSError:
        return count
    return count


def _refuse_short_space(settings: Settings, root: Path) -> None:
    folders = _blob_folders(settings.data_dir / 'blobs')  # one walk of the store's folders for both checks
    need = needed_bytes(settings, folders)
    room = space(root)
    keep = 2 * room.reserve
    if room.free - need < keep:
        raise SnapshotRefused(
            N_(
                'A snapshot needs {need} on the data volume and {free} is free ({keep} of it stays free for '
                'deletes and clean-up), so none was taken and nothing changed. Delete old snapshots or free space.'
            ),
            need=format_size(need),
            free=format_size(room.free),
            keep=format_size(keep),
        )
    stats = os.statvfs(root)
    folders += 100
    if stats.f_files and stats.f_favail < folders:
        raise SnapshotRefused(
            N_(
                'A snapshot needs {need} free inodes on the data volume and {free} are left, so none was taken '
                'and nothing changed. Delete old snapshots.'
            ),
            need=folders,
            free=stats.f_favail,
        )


def _clear_leftovers(root: Path) -> None:
    """What a killed take or delete left (only ever called under the maintenance lock: nothing is in progress)."""
    for entry in os.scandir(root):
        if entry.name.startswith((PARTIAL, DELETING)) and entry.is_dir(follow_symlinks=False):
            log.warning('removing %s, left by an interrupted snapshot', entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)


# -- listing, proving, deleting ----------------------------------------------------------------------------------


def list_snapshots(*, settings: Settings, actor: Actor, sizes: bool = True) -> list[LocalSnapshot]:
    """The snapshots, newest first; with `sizes`, what deleting each would free (reads every link's count).

    Blocking (a walk of the pinned files): call it off the event loop.
    """
    require(actor, PERMISSION)
    return _snapshots(snapshots_root(settings), sizes=sizes)


def _snapshots(root: Path, *, sizes: bool = False) -> list[LocalSnapshot]:
    found: list[LocalSnapshot] = []
    for entry in os.scandir(root):
        if entry.name.startswith('.') or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            snapshot = LocalSnapshot.read(Path(entry.path))
        except (OSError, ValueError, TypeError):
            log.warning('%s is not a readable snapshot; left alone', entry.path)
            continue
        if sizes:
            snapshot.freed_bytes = _freed(snapshot.path)
        found.append(snapshot)
    return sorted(found, key=lambda item: item.created_at, reverse=True)


def _freed(folder: Path) -> int:
    """Bytes that deleting `folder` frees: its folders and its files no other name links to."""
    total = 0
    pending = [str(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                stat = entry.stat(follow_symlinks=False)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    total += stat.st_blocks * 512
                elif stat.st_nlink == 1:
                    total += stat.st_blocks * 512
    return total + os.stat(folder).st_blocks * 512


def get_snapshot(*, settings: Settings, actor: Actor, snapshot_id: str) -> LocalSnapshot:
    """One snapshot by id; NotFound with a sentence when there is none (ids are folder names: no paths)."""
    require(actor, PERMISSION)
    return _get(snapshots_root(settings), snapshot_id)


def _get(root: Path, snapshot_id: str) -> LocalSnapshot:
    if not snapshot_id or snapshot_id.startswith('.') or '/' in snapshot_id or '\0' in snapshot_id:
        raise NotFound(N_('There is no snapshot "{id}".'), id=snapshot_id[:80])
    try:
        return LocalSnapshot.read(root / snapshot_id)
    except (OSError, ValueError, TypeError):
        raise NotFound(N_('There is no snapshot "{id}".'), id=snapshot_id[:80]) from None


def prove(*, settings: Settings, actor: Actor, snapshot_id: str) -> LocalSnapshot:
    """Prove a snapshot as a backup is proven: the database's integrity, schema and row counts against the
    manifest, and every pinned blob present with the sha256 its name promises. Records the outcome."""
    require(actor, PERMISSION)
    with maintenance_lock(settings.data_dir, N_('snapshot proof')):
        snapshot = _get(snapshots_root(settings), snapshot_id)
        return _prove(settings, snapshot)


def _prove(settings: Settings, snapshot: LocalSnapshot) -> LocalSnapshot:
    findings = verify(
        staging=snapshot.path / backup.STAGING,
        blob_root=snapshot.path / 'blobs',
        check_blob_hashes=True,
        database_url=settings.sqlalchemy_url,
    )
    snapshot.proven_at = utcnow().isoformat()
    snapshot.proof = 'failed' if findings else 'ok'
    snapshot.findings = [f'{item.what}: expected {item.expected}, found {item.found}' for item in findings[:20]]
    atomic_write_bytes(snapshot.path / INFO, snapshot.to_json(), mode=0o600)
    if findings:
        log.error('snapshot %s does not match its manifest: %s', snapshot.id, '; '.join(snapshot.findings[:5]))
    return snapshot


def delete(*, settings: Settings, actor: Actor, snapshot_id: str) -> None:
    """Delete a snapshot (renamed aside first, so a kill midway never leaves half a snapshot in the list)."""
    require(actor, PERMISSION)
    with maintenance_lock(settings.data_dir, N_('snapshot')):
        root = snapshots_root(settings)
        snapshot = _get(root, snapshot_id)
        _remove(root, snapshot)
    _audit(actor, 'console.snapshot_deleted', snapshot_id, {'reason': snapshot.reason})


def _remove(root: Path, snapshot: LocalSnapshot) -> None:
    doomed = root / f'{DELETING}{snapshot.id}'
    os.rename(snapshot.path, doomed)
    fsync_dir(root)
    shutil.rmtree(doomed, ignore_errors=True)


def prune(*, settings: Settings) -> list[str]:
    """Apply retention (see the module's docstring); return the ids removed. The caller holds the maintenance lock."""
    root = snapshots_root(settings)
    every = _snapshots(root)
    kept: set[str] = {item.id for item in every if item.reason not in KEEP}
    for reason, count in KEEP.items():
        kept.update(item.id for item in [item for item in every if item.reason == reason][:count])
    installed = installed_versions()
    for version in installed:
        of_version = [item for item in every if item.app_version == version]
        if of_version and not any(item.id in kept for item in of_version):
            kept.add(of_version[0].id)  # the only snapshot left of a release still installed
    removed = []
    for item in every:
        if item.id not in kept:
            _remove(root, item)
            removed.append(item.id)
    if removed:
        log.info('snapshot retention removed %s', ', '.join(removed))
    return removed


def due(settings: Settings, now: datetime | None = None) -> bool:
    """True when the newest daily snapshot is a day old (or there is none)."""
    daily = [item for item in _snapshots(snapshots_root(settings)) if item.reason == 'scheduled']
    return not daily or (now or utcnow()) - daily[0].created >= SCHEDULE_EVERY - timedelta(minutes=5)


def scheduled(*, settings: Settings, registry: Registry, actor: Actor) -> LocalSnapshot | None:
    """The daily snapshot, when due: taken, proven and followed by retention, all under the maintenance lock.

    A failure is kept in `snapshots/.last-failure.json` for the health check until a daily snapshot succeeds.
    """
    if not due(settings):
        return None
    failure = snapshots_root(settings) / FAILURE
    try:
        with maintenance_lock(settings.data_dir, N_('snapshot')):
            if not due(settings):
                return None
            snapshot = take_unlocked(settings=settings, registry=registry, actor=actor, reason='scheduled')
            _prove(settings, snapshot)
            prune(settings=settings)
    except Busy:
        return None  # a backup, restore or upgrade runs: the next tick tries again
    except (ServiceError, OSError, sqlite3.Error) as error:
        message = translate_error(error) if isinstance(error, ServiceError) else str(error)
        record = {'at': utcnow().isoformat(), 'error': message}
        atomic_write_bytes(failure, json.dumps(record, ensure_ascii=False).encode(), mode=0o600)
        log.error('the daily snapshot failed: %s', message)
        return None
    failure.unlink(missing_ok=True)
    return snapshot


def health(now: datetime | None = None) -> tuple[Status, str]:
    """The daily snapshot: taken in the last two days, and the newest one proven."""
    from appliance.config import get_settings

    now = now or utcnow()
    root = snapshots_root(get_settings())
    try:
        failed = json.loads((root / FAILURE).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        failed = None
    if isinstance(failed, dict):
        return Status.RED, gettext(
            N_('The daily snapshot failed at {when}: {error}'),
            when=format_datetime(datetime.fromisoformat(str(failed.get('at')))),
            error=str(failed.get('error', '')),
        )
    every = _snapshots(root)
    daily = [item for item in every if item.reason == 'scheduled']
    newest = every[0] if every else None
    if newest is not None and newest.proof == 'failed':
        return Status.RED, gettext(
            N_('The snapshot of {when} does not match its manifest: {finding}'),
            when=format_datetime(newest.created),
            finding=(newest.findings or [''])[0],
        )
    if not daily:
        return Status.AMBER, gettext(N_('No daily snapshot yet: the first is taken within ten minutes of start-up.'))
    if now - daily[0].created > 2 * SCHEDULE_EVERY:
        return Status.AMBER, gettext(
            N_('The last daily snapshot is from {when}: look at the log for why none was taken since.'),
            when=format_datetime(daily[0].created),
        )
    return Status.GREEN, gettext(
        NP_(
            '{count} snapshot on this box; the newest is from {when}.',
            '{count} snapshots on this box; the newest is from {when}.',
            'count',
        ),
        count=len(every),
        when=format_datetime(newest.created if newest else daily[0].created),
    )


# -- restoring ---------------------------------------------------------------------------------------------------


def restore(*, settings: Settings, registry: Registry, actor: Actor, snapshot_id: str) -> LocalSnapshot:
    """Bring the box back to a snapshot, by the same path as a full restore (console.restores.swap_in): refused
    before anything changes when the snapshot is not whole or needs another release; then a snapshot of the
    present, maintenance mode, everything current moved aside (never deleted), the snapshot's copy moved in,
    everyone signed out. The snapshot itself stays."""
    from console.backup.services import restores  # restores takes snapshots before it restores: imported late

    require(actor, PERMISSION)
    with maintenance_lock(settings.data_dir, N_('restore')):
        root = snapshots_root(settings)
        snapshot = _get(root, snapshot_id)
        manifest = Manifest.read(snapshot.path / backup.STAGING / MANIFEST)
        _refuse_other_release(snapshot, manifest)
        findings = verify(
            staging=snapshot.path / backup.STAGING,
            blob_root=snapshot.path / 'blobs',
            check_blob_hashes=False,
            database_url=settings.sqlalchemy_url,
        )
        if findings:
            raise SnapshotRefused(
                N_(
                    'The snapshot {id} is not whole ({shown}), so it was not restored and nothing changed. '
                    'Restore another snapshot or a backup.'
                ),
                id=snapshot.id,
                shown='; '.join(f'{item.what}: expected {item.expected}, found {item.found}' for item in findings[:3]),
            )
        if (manifest.database_kind == 'postgresql') == settings.is_sqlite:
            raise SnapshotRefused(
                N_('The snapshot {id} holds another kind of database than this box uses. Nothing was changed.'),
                id=snapshot.id,
            )
        room = space(root)
        if room.free - int(snapshot.database_bytes * _SPACE_MARGIN) < 2 * room.reserve:
            raise SnapshotRefused(
                N_(
                    'Restoring needs {need} on the data volume for a working copy of the database and {free} is '
                    'free, so nothing changed. Delete old snapshots or free space.'
                ),
                need=format_size(snapshot.database_bytes),
                free=format_size(room.free),
            )
        take_before(settings=settings, registry=registry, actor=actor, reason='restore', note=snapshot.id)
        scratch = Path(tempfile.mkdtemp(prefix='snapshot-', dir=backup.scratch_dir(settings)))
        try:
            data_root = _working_copy(snapshot, scratch / 'r')

            def run_of(aside: Path, before: str) -> Run:
                return Run(
                    target_name=snapshot.id[:64],
                    kind='restore',
                    trigger='manual',
                    actor=actor.username,
                    status='ok',
                    finished_at=utcnow(),
                    snapshot_id=snapshot.id,
                    files_total=snapshot.blob_files,
                    bytes_total=snapshot.blob_bytes,
                    message=f'Restored the local snapshot of {snapshot.created_at}; the old data is in {aside.name}.',
                    details=json.dumps({'aside': str(aside), 'snapshot': snapshot.id, 'migrated_from': before}),
                )

            restores.swap_in(
                settings=settings,
                registry=registry,
                actor=actor,
                data_root=data_root,
                config_copy=snapshot.path / CONFIG_COPY if (snapshot.path / CONFIG_COPY).is_file() else None,
                run_of=run_of,
                action='console.snapshot_restore',
                details={'snapshot': snapshot.id},
                reason=N_('A snapshot is being restored. Enclave will be back in a minute.'),
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    log.warning('restored the local snapshot %s', snapshot.id)
    return snapshot


def _refuse_other_release(snapshot: LocalSnapshot, manifest: Manifest) -> None:
    """The data of a snapshot needs the schema it was taken with: this release's, or that release's code."""
    from alembic.script import ScriptDirectory

    from appliance.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config('sqlite://'))
    heads = set(script.get_heads())
    if manifest.schema_revision in heads:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if manifest.schema_revision not in known:
        raise SnapshotRefused(
            N_(
                'The snapshot {id} was taken by Enclave {version}, which is newer than this one ({mine}); its '
                'database cannot be opened here. Nothing was changed.'
            ),
            id=snapshot.id,
            version=snapshot.app_version,
            mine=__version__,
        )
    raise SnapshotRefused(
        N_(
            'The snapshot {id} was taken by Enclave {version}, before an upgrade changed the database; it can only '
            'be restored together with Enclave {version}, by rolling the upgrade back. Nothing was changed.'
        ),
        id=snapshot.id,
        version=snapshot.app_version,
    )


def _working_copy(snapshot: LocalSnapshot, target: Path) -> Path:
    """What a restore moves into place, made from the snapshot without changing it: a copy of the database (it
    will be written to), hard links to the blobs (never written to) and a copy of the keys."""
    staging = target / backup.STAGING
    staging.mkdir(parents=True, mode=0o700)
    for entry in os.scandir(snapshot.path / backup.STAGING):
        shutil.copyfile(entry.path, staging / entry.name)
    source = snapshot.path / 'blobs'
    for current, _folders, files in os.walk(source):
        relative = Path(current).relative_to(source)
        (target / 'blobs' / relative).mkdir(mode=0o700, exist_ok=True)
        for name in files:
            os.link(Path(current) / name, target / 'blobs' / relative / name)
    if (snapshot.path / 'keys').is_dir():
        shutil.copytree(snapshot.path / 'keys', target / 'keys')
    return target


def _audit(actor: Actor, action: str, target: str, details: dict[str, str]) -> None:
    with get_database().session(write=True) as session:
        audit.record(session=session, actor=actor, action=action, target=target, details=details)
