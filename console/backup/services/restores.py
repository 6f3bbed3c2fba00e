"""Full restore: bring the box back to a snapshot, on this box or on a freshly installed one given the recovery kit.

In order, under the maintenance lock, and refusing before anything changes when something is wrong:
1. restore the snapshot into a scratch folder on the data volume and prove it against its manifest (a damaged
   backup is never restored); refuse a backup written by a newer version of Enclave;
2. switch the app to maintenance mode (every request gets a "restoring" page; scheduled jobs skip their turn)
   and close the database connections;
3. move the current database, blob store and keys aside into `<data>/before-restore-<time>/` (never deleted:
   the admin removes that folder once happy), then move the restored ones into place (renames on one volume);
4. migrate the restored database forward when it comes from an older version, run every module's after-restore
   hook (e.g. rebuild the search index), end every sign-in session, record the restore in the history and the
   audit log, leave maintenance mode and check health.
The backed-up config file is put into the aside folder for reference; the box keeps its own config, which says
where its data and database are. On PostgreSQL the database is swapped by console.pgdump.replace (the current
content dumped into the aside folder first) instead of by moving files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import delete

from appliance import __version__, workers
from appliance.config import Settings
from appliance.db import Database, get_database, init_database, utcnow
from appliance.errors import N_, Conflict, ServiceError
from appliance.migrate import alembic_config, schema_state, upgrade
from appliance.models import LoginSession, LoginTicket
from appliance.modules import Registry
from appliance.services import audit, mail, twofactor
from appliance.services.actors import Actor
from appliance.services.permissions import require
from appliance.web import maintenance
from console.backup.services import backup, local_snapshots, pgdump
from console.backup.services.restic import Repository, Snapshot
from console.backup.services.snapshot import DATABASE, Finding, Manifest
from console.backup.services.targets import PERMISSION
from console.health.services import Check, run_checks
from console.lock import maintenance_lock
from console.models import Run

log = logging.getLogger('enclave.console')

SWAPPED = ('enclave.db', 'enclave.db-wal', 'enclave.db-shm', 'blobs', 'keys')


class RestoreRefused(ServiceError):
    """The restore was refused before anything changed."""

    code = 'restore_refused'
    status = 409


@dataclass
class RestoreResult:
    """What a restore did: the snapshot, where the old data went, the migration, the health afterwards."""

    snapshot: str
    backup_created_at: str
    backup_version: str
    aside: Path
    migrated_from: str
    checks: list[Check] = field(default_factory=list)


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config('sqlite://'))
    return {rev.revision for rev in script.walk_revisions()}


def _refuse_unusable(manifest: Manifest, findings: tuple[Finding, ...]) -> None:
    if findings:
        shown = '; '.join(f'{item.what}: expected {item.expected}, found {item.found}' for item in findings[:5])
        raise RestoreRefused(
            N_(
                'The backup does not match its manifest ({count} differences), so it was not restored and nothing '
                'changed: {shown}. Check the repository, and restore an older snapshot.'
            ),
            count=len(findings),
            shown=shown,
        )
    if manifest.schema_revision not in _known_revisions():
        raise RestoreRefused(
            N_(
                'This backup was made by Enclave {version}, which is newer than this one ({mine}); its database '
                'cannot be opened here. Install Enclave {version} or newer, then restore. Nothing was changed.'
            ),
            version=manifest.app_version,
            mine=__version__,
        )


def _move_aside(data_dir: Path, stamp: str) -> Path:
    aside = data_dir / f'before-restore-{stamp}'
    aside.mkdir(mode=0o700)
    for name in SWAPPED:
        source = data_dir / name
        if source.exists():
            os.replace(source, aside / name)
    return aside


def _move_in(data_root: Path, data_dir: Path, *, database: bool) -> None:
    if database:
        os.replace(data_root / backup.STAGING / DATABASE, data_dir / DATABASE)
    for name in ('blobs', 'keys'):
        source = data_root / name
        if source.exists():
            os.replace(source, data_dir / name)
        else:
            (data_dir / name).mkdir(mode=0o700)


def restore_choices(*, actor: Actor, repository: Repository) -> list[Snapshot]:
    """The Enclave snapshots of `repository` a restore can choose from, oldest first.

    Stale locks of a killed restic of this box (e.g. a retention pass killed midway, whose exclusive lock would
    refuse every reader) are removed first; a live lock, of this or another computer, stays and is named.
    Blocking (restic subprocesses): call it off the event loop.
    """
    require(actor, PERMISSION)
    repository.unlock()
    return repository.snapshots(tag=backup.TAG)


def check_snapshot(*, actor: Actor, repository: Repository, snapshot: str = 'latest') -> Snapshot:
    """The snapshot a restore of `snapshot` would use, read as the restore reads it: without this box's cache (what
    a freshly installed box sees), after removing stale locks of a killed restic of this box (a live lock, of this
    or another computer, stays and is named). Raises the sentence a restore would refuse with (e.g. an unreadable
    snapshot file). Blocking (restic subprocesses): call it off the event loop.
    """
    require(actor, PERMISSION)
    repository = repository.uncached()
    repository.unlock()
    return backup.latest_snapshot(repository, snapshot)


def restore(
    *,
    settings: Settings,
    registry: Registry,
    actor: Actor,
    repository: Repository,
    snapshot: str = 'latest',
    target_name: str = '',
    trigger: str = 'manual',
    wait_seconds: float = 0.0,
) -> RestoreResult:
    """Replace this box's data with a snapshot (see the module's docstring for the steps)."""
    require(actor, PERMISSION)
    data_dir = settings.data_dir
    with maintenance_lock(data_dir, N_('restore'), wait_seconds=wait_seconds):
        repository = repository.uncached()
        chosen = check_snapshot(actor=actor, repository=repository, snapshot=snapshot)
        scratch = Path(tempfile.mkdtemp(prefix='restore-', dir=backup.scratch_dir(settings)))
        try:
            proof = backup.restore_and_prove(
                settings=settings, repository=repository, snapshot=chosen, target=scratch / 'r'
            )
            manifest = proof.manifest
            assert manifest is not None
            _refuse_unusable(manifest, proof.findings)
            _refuse_other_database(manifest, settings)
            data_root = backup.find_data_root(scratch / 'r')
            kept = scratch / 'r' / manifest.config_file.lstrip('/') if manifest.config_file else None
            if kept is not None and not kept.is_file():
                kept = None
            local_snapshots.take_before(settings=settings, registry=registry, actor=actor, reason='restore')

            def run_of(aside: Path, before: str) -> Run:
                return Run(
                    target_name=target_name,
                    kind='restore',
                    trigger=trigger,
                    actor=actor.username,
                    status='ok',
                    finished_at=utcnow(),
                    snapshot_id=chosen.short_id,
                    files_total=manifest.blob_files,
                    bytes_total=manifest.blob_bytes,
                    message=f'Restored the snapshot of {manifest.created_at}; the old data is in {aside.name}.',
                    details=json.dumps(
                        {
                            'aside': str(aside),
                            'backup_created_at': manifest.created_at,
                            'backup_version': manifest.app_version,
                            'migrated_from': before if before != manifest.schema_revision else '',
                        }
                    ),
                )

            aside, before = swap_in(
                settings=settings,
                registry=registry,
                actor=actor,
                data_root=data_root,
                config_copy=kept,
                run_of=run_of,
                action='console.restore',
                details={'snapshot': chosen.short_id},
                reason=N_('A backup is being restored. Enclave will be back in a few minutes.'),
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    log.warning('restored snapshot %s of %s; previous data kept in %s', chosen.short_id, manifest.created_at, aside)
    return RestoreResult(
        snapshot=chosen.short_id,
        backup_created_at=manifest.created_at,
        backup_version=manifest.app_version,
        aside=aside,
        migrated_from=before if before != schema_state(get_database().engine).head else '',
        checks=run_checks(data_dir=data_dir, registry=registry),
    )


def swap_in(
    *,
    settings: Settings,
    registry: Registry,
    actor: Actor,
    data_root: Path,
    config_copy: Path | None,
    run_of: Callable[[Path, str], Run],
    action: str,
    details: dict[str, str],
    reason: str,
) -> tuple[Path, str]:
    """Steps 2 to 4 of a restore, for a proven copy in `data_root` (`backup-staging/`, `blobs/`, `keys/`) on the data
    volume, whose pieces are moved into place. The caller holds the maintenance lock. Returns the aside folder and
    the schema revision the copy had before it was migrated.
    """
    data_dir = settings.data_dir
    stamp = utcnow().strftime('%Y%m%d-%H%M%S')
    with maintenance.during(reason) as mode:
        get_database().dispose()
        aside = _move_aside(data_dir, stamp)
        if config_copy is not None:
            shutil.copy2(config_copy, aside / 'restored-config.toml')
        try:
            _move_in(data_root, data_dir, database=settings.is_sqlite)
            if not settings.is_sqlite:
                pgdump.replace(
                    get_database().engine,
                    settings.sqlalchemy_url,
                    data_root / backup.STAGING / pgdump.DUMP,
                    aside,
                )
        except (OSError, ServiceError):
            _put_back(aside, data_dir)
            raise
        database = init_database(settings.sqlalchemy_url)
        before = schema_state(database.engine).current or ''
        upgrade(database.engine)
        _record_restore(
            database,
            registry=registry,
            actor=actor,
            run=run_of(aside, before),
            action=action,
            details={**details, 'aside': aside.name},
        )
        # The restored keys replace this box's: what was derived from the old ones is derived again.
        mail.forget_key()
        twofactor.forget_key()
        # Other workers still hold the old database open: the supervisor restarts them all, and lifts
        # maintenance mode once they have stopped.
        if workers.reopen_all_workers():
            mode.keep()
    return aside, before


def _refuse_other_database(manifest: Manifest, settings: Settings) -> None:
    """A backup of a SQLite box restores only on a SQLite box, a PostgreSQL one only on a PostgreSQL box."""
    if (manifest.database_kind == 'postgresql') == settings.is_sqlite:
        raise RestoreRefused(
            N_(
                'This backup holds a {kind} database and this box uses another kind; restore it on a box '
                'configured like the one that made it. Nothing was changed.'
            ),
            kind='PostgreSQL' if manifest.database_kind == 'postgresql' else 'SQLite',
        )


def _record_restore(
    database: Database, *, registry: Registry, actor: Actor, run: Run, action: str, details: dict[str, str]
) -> None:
    """In the restored database: the modules' after-restore hooks, everyone signed out, the run and the audit."""
    with database.session(write=True) as session:
        for spec in registry.modules():
            if spec.backup_hooks and spec.backup_hooks.after_restore:
                spec.backup_hooks.after_restore(session=session)
        # Sessions in the backup may have been ended since: everyone signs in again.
        session.execute(delete(LoginSession))
        session.execute(delete(LoginTicket))
        session.add(run)
        audit.record(session=session, actor=actor, action=action, target=run.target_name, details=details)


def _put_back(aside: Path, data_dir: Path) -> None:
    """Undo a half-done swap: the restored pieces go, the originals come back."""
    for name in SWAPPED:
        original = aside / name
        if original.exists():
            current = data_dir / name
            if current.is_dir():
                shutil.rmtree(current)
            else:
                current.unlink(missing_ok=True)
            os.replace(original, current)


def server_running(data_dir: Path) -> bool:
    """True when an `enclave serve` holds this data dir (see appliance.cli's server lock)."""
    import fcntl

    path = data_dir / 'server.lock'
    if not path.exists():
        return False
    with path.open('a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def refuse_while_serving(data_dir: Path) -> None:
    """The CLI restores only while the app is stopped (the console restores from inside the running app)."""
    if server_running(data_dir):
        raise Conflict(
            N_(
                'Enclave is running on this data folder. Stop it first (systemctl stop enclave), or restore from '
                'Maintenance → Backups in the browser.'
            )
        )
