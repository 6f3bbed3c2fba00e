"""A backup and a restore drill, end to end: stage, back up with restic, restore into scratch, prove, clean up.

A backup holds the staged database copy and manifest, the blob store, the keys (without them encrypted fields
cannot be read) and the config file when there is one. Both operations take the maintenance lock.
Scheduling, targets kept in the database, history and the console pages come on top of these functions.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance import __version__
from appliance.config import Settings
from appliance.db import utcnow
from appliance.errors import N_
from appliance.modules import Registry
from console.lock import maintenance_lock
from console.restic import BackupSummary, Progress, Repository, ResticError
from console.snapshot import Finding, Manifest, stage, verify

TAG = 'enclave'
STAGING = 'backup-staging'


def backup_paths(settings: Settings, config_file: Path | None = None) -> list[Path]:
    """What goes into a backup: the staging folder, the blob store, the keys and the config file."""
    data = settings.data_dir
    paths = [data / STAGING, data / 'blobs', data / 'keys']
    if config_file is not None and config_file.is_file():
        paths.append(config_file)
    return [path for path in paths if path.exists()]


def run_backup(
    *,
    settings: Settings,
    registry: Registry,
    repository: Repository,
    config_file: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Manifest, BackupSummary]:
    """Stage a consistent copy and back it up with restic, under the maintenance lock."""
    with maintenance_lock(settings.data_dir, 'backup'):
        staging = settings.data_dir / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        (settings.data_dir / 'blobs').mkdir(exist_ok=True)
        manifest = stage(
            database=settings.data_dir / 'enclave.db',
            blob_root=settings.data_dir / 'blobs',
            staging=staging,
            registry=registry,
            app_version=__version__,
            created_at=utcnow().isoformat(),
        )
        summary = repository.backup(backup_paths(settings, config_file), tags=[TAG], on_progress=on_progress)
        return manifest, summary


@dataclass(frozen=True)
class DrillResult:
    """The outcome of a restore drill: which snapshot, and what (if anything) did not match its manifest."""

    snapshot: str
    findings: tuple[Finding, ...]

    @property
    def proven(self) -> bool:
        """True when the restored copy matched its manifest in every respect."""
        return not self.findings


def drill(*, settings: Settings, repository: Repository, scratch_root: Path | None = None) -> DrillResult:
    """Restore the latest snapshot into a scratch folder, prove it against its manifest, delete the scratch copy.

    A repository that cannot be read or restored raises its ResticError; the caller records the drill as failed.
    """
    with maintenance_lock(settings.data_dir, 'restore drill'):
        snapshots = repository.snapshots(tag=TAG)
        if not snapshots:
            raise ResticError(N_('There is no backup in this repository yet. Run a backup first.'))
        latest = snapshots[-1]
        scratch = Path(tempfile.mkdtemp(prefix='enclave-drill-', dir=scratch_root))
        try:
            target = scratch / 'restore'
            repository.restore(latest.id, target)
            restored_data = target / settings.data_dir.resolve().relative_to('/')
            findings = verify(staging=restored_data / STAGING, blob_root=restored_data / 'blobs')
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return DrillResult(snapshot=latest.short_id, findings=tuple(findings))
