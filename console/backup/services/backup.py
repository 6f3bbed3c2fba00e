"""A backup and a restore drill, end to end: stage, back up with restic, restore into scratch, prove, clean up.

A backup holds the staged database copy and manifest, the blob store, the keys (without them encrypted fields
cannot be read) and the config file when there is one. Both operations take the maintenance lock.
The `*_unlocked` / `stage_and_back_up` forms do the work for a caller that already holds the lock
(console.runs, which records each run in the history; an upgrade, which backs up before it starts).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance import __version__
from appliance.config import Settings
from appliance.db import get_database, utcnow
from appliance.errors import N_
from appliance.modules import Registry
from console.backup.services.restic import BackupSummary, Progress, Repository, RepositoryDamaged, ResticError, Snapshot
from console.backup.services.snapshot import MANIFEST, Finding, Manifest, SnapshotError, stage, verify
from console.lock import maintenance_lock

TAG = 'enclave'
STAGING = 'backup-staging'


def backup_paths(settings: Settings, config_file: Path | None = None) -> list[Path]:
    """What goes into a backup: the staging folder, the blob store, the keys and the config file (see `excluded`)."""
    data = settings.data_dir
    paths = [data / STAGING, data / 'blobs', data / 'keys']
    if config_file is not None and config_file.is_file():
        paths.append(config_file)
    return [path for path in paths if path.exists()]


def excluded(settings: Settings) -> list[Path]:
    """What is left out: uploads still being written (`blobs/tmp`); no database row can name them yet."""
    return [settings.data_dir / 'blobs' / 'tmp']


def scratch_dir(settings: Settings) -> Path:
    """Where drills and restores unpack a snapshot: on the data volume (never a RAM-backed /tmp), outside the
    paths that are backed up."""
    path = settings.data_dir / 'scratch'
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def stage_and_back_up(
    *,
    settings: Settings,
    registry: Registry,
    repository: Repository,
    config_file: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Manifest, BackupSummary]:
    """Stage a consistent copy and back it up with restic. The caller holds the maintenance lock."""
    # Under our lock no other process of this box uses the repository: a lock of this box is a killed restic's.
    repository.unlock()
    staging = settings.data_dir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    (settings.data_dir / 'blobs').mkdir(exist_ok=True)
    before_copy(registry)
    manifest = stage(
        database=settings.data_dir / 'enclave.db',
        blob_root=settings.data_dir / 'blobs',
        staging=staging,
        registry=registry,
        app_version=__version__,
        created_at=utcnow().isoformat(),
        data_dir=str(settings.data_dir.resolve()),
        config_file=str(config_file.resolve()) if config_file is not None and config_file.is_file() else '',
        postgres=None if settings.is_sqlite else (get_database().engine, settings.sqlalchemy_url),
    )
    summary = repository.backup(
        backup_paths(settings, config_file), tags=[TAG], excludes=excluded(settings), on_progress=on_progress
    )
    return manifest, summary


def before_copy(registry: Registry) -> None:
    """The modules' before-backup hooks (e.g. flushing a cache into the database), before a backup or a snapshot
    copies the database."""
    for spec in registry.modules():
        if spec.backup_hooks and spec.backup_hooks.before_backup:
            with get_database().session(write=True) as session:
                spec.backup_hooks.before_backup(session=session)


def run_backup(
    *,
    settings: Settings,
    registry: Registry,
    repository: Repository,
    config_file: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Manifest, BackupSummary]:
    """Stage a consistent copy and back it up with restic, under the maintenance lock."""
    with maintenance_lock(settings.data_dir, N_('backup')):
        return stage_and_back_up(
            settings=settings,
            registry=registry,
            repository=repository,
            config_file=config_file,
            on_progress=on_progress,
        )


@dataclass(frozen=True)
class DrillResult:
    """The outcome of a restore drill: which snapshot, and what (if anything) did not match its manifest."""

    snapshot: str
    findings: tuple[Finding, ...]
    manifest: Manifest | None = None

    @property
    def proven(self) -> bool:
        """True when the restored copy matched its manifest in every respect."""
        return not self.findings


def find_data_root(restored: Path) -> Path:
    """The folder of a restored snapshot that holds the data dir (the one with the staged manifest)."""
    for manifest in sorted(restored.rglob(f'{STAGING}/{MANIFEST}')):
        return manifest.parent.parent
    raise SnapshotError(N_('The snapshot holds no Enclave backup (no manifest); it was not made by Enclave.'))


def latest_snapshot(repository: Repository, snapshot: str = 'latest') -> Snapshot:
    """The snapshot to restore: the newest Enclave snapshot, or the one whose id starts with `snapshot`.

    restic skips a snapshot file it cannot read (and says so only on stderr), so a damaged newest snapshot would
    silently make an older one "the latest": the files listed are compared with the snapshots read.
    """
    files = repository.snapshot_ids()
    readable = repository.snapshots()
    damaged = sorted(files - {item.id for item in readable})
    wanted = snapshot.strip().lower()
    # A restore of a named, readable snapshot may go ahead; 'latest' cannot be told while one is unreadable.
    if damaged and (snapshot == 'latest' or (len(wanted) >= 6 and any(item.startswith(wanted) for item in damaged))):
        raise RepositoryDamaged(
            N_(
                'The repository is damaged: {count} snapshot files cannot be read ({ids}). Do not rely on it: run '
                'a repository check, and make a new backup to another target.'
            ),
            count=len(damaged),
            ids=', '.join(item[:8] for item in damaged[:5]),
        )
    snapshots = [item for item in readable if TAG in item.tags]
    if not snapshots:
        raise ResticError(N_('There is no backup in this repository yet. Run a backup first.'))
    if snapshot == 'latest':
        return snapshots[-1]
    matches = [item for item in snapshots if len(wanted) >= 6 and item.id.startswith(wanted)]
    if len(matches) != 1:
        raise ResticError(
            N_('There is no Enclave snapshot "{snapshot}" in this repository; see "enclave backup list".'),
            snapshot=snapshot,
        )
    return matches[0]


def restore_and_prove(*, settings: Settings, repository: Repository, snapshot: Snapshot, target: Path) -> DrillResult:
    """Restore `snapshot` into the empty folder `target` and prove the copy against its manifest.

    Without restic's cache: the copy must come from the repository alone, as on a freshly installed box.
    """
    repository.uncached().restore(snapshot.id, target)
    data_root = find_data_root(target)
    manifest = Manifest.read(data_root / STAGING / MANIFEST)
    findings = verify(staging=data_root / STAGING, blob_root=data_root / 'blobs', database_url=settings.sqlalchemy_url)
    return DrillResult(snapshot=snapshot.short_id, findings=tuple(findings), manifest=manifest)


def drill_unlocked(*, settings: Settings, repository: Repository) -> DrillResult:
    """The drill's work; the caller holds the maintenance lock. It reads the repository without any cache."""
    repository = repository.uncached()
    repository.unlock()  # stale locks only, as before a backup
    snapshot = latest_snapshot(repository)
    scratch = Path(tempfile.mkdtemp(prefix='drill-', dir=scratch_dir(settings)))
    try:
        return restore_and_prove(settings=settings, repository=repository, snapshot=snapshot, target=scratch / 'r')
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def drill(*, settings: Settings, repository: Repository) -> DrillResult:
    """Restore the latest snapshot into a scratch folder, prove it against its manifest, delete the scratch copy.

    A repository that cannot be read or restored raises its ResticError; the caller records the drill as failed.
    """
    with maintenance_lock(settings.data_dir, N_('restore drill')):
        return drill_unlocked(settings=settings, repository=repository)
