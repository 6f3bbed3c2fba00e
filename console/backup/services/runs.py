"""Maintenance runs, recorded: back up, apply retention, check a repository, drill a restore; and their history.

Every run takes the one maintenance lock (a second request waits `wait_seconds`, then is refused naming the run
in progress), writes a `console_runs` row when it starts and completes it when it ends, in its own short
transactions, so the history shows a run while it is going and keeps it if the process dies ('interrupted').
The functions block: pages call them through `run.io_bound`, the scheduler from its thread pool.
A running backup's latest progress line is kept in `PROGRESS` for the console to poll, and in
`<data_dir>/run-progress/<run id>.json` (written at most once a second) for the other workers: a scheduled backup
runs in the worker that leads the scheduler, and the page asking may be in another.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from appliance.config import Settings, config_file, get_settings
from appliance.db import get_database, utcnow
from appliance.errors import N_, ServiceError
from appliance.i18n import gettext
from appliance.modules import Registry
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.backup.services import backup
from console.backup.services.restic import Progress, Repository
from console.backup.services.targets import PERMISSION, open_repository
from console.lock import LOCK_FILE, maintenance_lock
from console.models import Run, Target

log = logging.getLogger('enclave.console')

KINDS = ('backup', 'forget', 'check', 'read_data', 'drill', 'restore')
PROGRESS: dict[int, Progress] = {}
_progress_lock = threading.Lock()
PROGRESS_DIR = 'run-progress'
PROGRESS_EVERY_SECONDS = 1.0


def _progress_file(run_id: int) -> Path:
    return get_settings().data_dir / PROGRESS_DIR / f'{run_id}.json'


def _share_progress(run_id: int, line: Progress) -> None:
    """Write the line where other workers read it (atomically; a failure only costs them the progress bar)."""
    path = _progress_file(run_id)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        temporary = path.with_suffix('.new')
        temporary.write_text(json.dumps(asdict(line)))
        os.replace(temporary, path)
    except OSError as error:
        log.debug('backup progress not shared: %s', error)


@dataclass(frozen=True)
class RunView:
    """A run as the pages and the CLI show it."""

    id: int
    target: str
    kind: str
    trigger: str
    actor: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    snapshot_id: str
    files_new: int
    files_changed: int
    files_total: int
    bytes_added: int
    bytes_total: int
    message: str
    details: dict[str, Any]

    @property
    def seconds(self) -> float | None:
        """How long the run took (None while it runs)."""
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    def text(self) -> str:
        """The run's error or note in the reader's language."""
        error = self.details.get('error')
        if isinstance(error, dict) and error.get('message'):
            return gettext(str(error['message']), **dict(error.get('params') or {}))
        return self.message

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for `--json` and the API)."""
        value = asdict(self)
        value['started_at'] = self.started_at.isoformat()
        value['finished_at'] = self.finished_at.isoformat() if self.finished_at else None
        value['seconds'] = self.seconds
        return value


def _view(run: Run) -> RunView:
    try:
        details = json.loads(run.details or '{}')
    except ValueError:
        details = {}
    return RunView(
        id=run.id,
        target=run.target_name,
        kind=run.kind,
        trigger=run.trigger,
        actor=run.actor,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        snapshot_id=run.snapshot_id,
        files_new=run.files_new,
        files_changed=run.files_changed,
        files_total=run.files_total,
        bytes_added=run.bytes_added,
        bytes_total=run.bytes_total,
        message=run.message,
        details=details if isinstance(details, dict) else {},
    )


# --- recording ------------------------------------------------------------------------------------------------


def _start(*, target: Target | None, kind: str, trigger: str, actor: str) -> int:
    with get_database().session(write=True) as session:
        run = Run(
            target_id=target.id if target else None,
            target_name=target.name if target else '',
            kind=kind,
            trigger=trigger,
            actor=actor,
        )
        session.add(run)
        session.flush()
        return run.id


def _finish(run_id: int, *, status: str, error: ServiceError | None = None, **values: Any) -> None:
    details = values.pop('details', {})
    if error is not None:
        details['error'] = {
            'code': error.code,
            'message': error.message,
            'params': {key: str(value) for key, value in error.params.items()},
            'detail': getattr(error, 'detail', ''),
        }
        values['message'] = str(error)
    with get_database().session(write=True) as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status=status, finished_at=utcnow(), details=json.dumps(details, ensure_ascii=False), **values)
        )
    with _progress_lock:
        PROGRESS.pop(run_id, None)
    _progress_file(run_id).unlink(missing_ok=True)


def mark_interrupted(data_dir: Path) -> int:
    """Runs still 'running' while nobody holds the maintenance lock died with their process: say so."""
    try:
        with maintenance_lock(data_dir, N_('maintenance task')):
            return _interrupt_dead_runs()
    except ServiceError:
        return 0


@contextmanager
def _recorded(
    *, settings: Settings, target: Target | None, kind: str, trigger: str, actor: Actor, wait_seconds: float
) -> Iterator[dict[str, Any]]:
    """Hold the lock, record the run; the body fills the dict with the columns to store. A ServiceError fails it."""
    with maintenance_lock(settings.data_dir, _OPERATIONS[kind], wait_seconds=wait_seconds):
        _interrupt_dead_runs()
        run_id = _start(target=target, kind=kind, trigger=trigger, actor=actor.username)
        if trigger != 'schedule':
            audit.record_now(actor=actor, action=f'console.{kind}', target=target.name if target else '')
        result: dict[str, Any] = {'run_id': run_id}
        try:
            yield result
        except ServiceError as error:
            log.error('%s of target %s failed: %s', kind, target.name if target else '-', error)
            _finish(run_id, status='failed', error=error)
            raise
        except BaseException as error:
            log.exception('%s of target %s crashed', kind, target.name if target else '-')
            _finish(run_id, status='failed', message=f'{type(error).__name__}: {error}'[:2000])
            raise
        result.pop('run_id')
        status = result.pop('status', 'ok')
        _finish(run_id, status=status, **result)
        log.info('%s of target %s: %s', kind, target.name if target else '-', status)
        result['run_id'] = run_id
        result['status'] = status


def _interrupt_dead_runs() -> int:
    """With the lock held nothing else can be running, so a 'running' row belongs to a dead process."""
    with get_database().session(write=True) as session:
        result = session.execute(
            update(Run)
            .where(Run.status == 'running')
            .values(
                status='interrupted',
                finished_at=utcnow(),
                message='The run was interrupted (the process stopped before it finished).',
            )
        )
        return int(getattr(result, 'rowcount', 0) or 0)


_OPERATIONS = {
    'backup': N_('backup'),
    'forget': N_('retention pass'),
    'check': N_('repository check'),
    'read_data': N_('repository check'),
    'drill': N_('restore drill'),
    'restore': N_('restore'),
}


def choose_target(session: Session, actor: Actor, name: str | None) -> Target:
    """The named target, or the first enabled one."""
    from console.backup.services.targets import get_target, list_targets

    if name:
        return get_target(session=session, actor=actor, name=name)
    targets = [target for target in list_targets(session=session, actor=actor) if target.enabled]
    if not targets:
        raise ServiceError(
            N_('There is no backup target yet. Add one in Maintenance → Backups (or: enclave backup target add).')
        )
    return targets[0]


def _prepare(actor: Actor, name: str | None) -> tuple[Settings, Target, Repository]:
    """The permission check, the settings, and the chosen target (detached) with its repository."""
    require(actor, PERMISSION)
    settings = get_settings()
    with get_database().session(write=False) as session:
        target = choose_target(session, actor, name)
        session.expunge(target)
    return settings, target, open_repository(settings.data_dir, target)


# --- operations -------------------------------------------------------------------------------------------------


def back_up(
    *,
    actor: Actor,
    registry: Registry,
    target: str | None = None,
    trigger: str = 'manual',
    wait_seconds: float = 0.0,
    on_progress: Callable[[Progress], None] | None = None,
    retention: bool = True,
) -> RunView:
    """Back up to a target (the first enabled one when none is named), then apply its retention."""
    settings, chosen, repository = _prepare(actor, target)
    with _recorded(
        settings=settings, target=chosen, kind='backup', trigger=trigger, actor=actor, wait_seconds=wait_seconds
    ) as result:
        run_id = result['run_id']

        shared = [0.0]

        def progress(line: Progress) -> None:
            with _progress_lock:
                PROGRESS[run_id] = line
            if time.monotonic() - shared[0] >= PROGRESS_EVERY_SECONDS:
                shared[0] = time.monotonic()
                _share_progress(run_id, line)
            if on_progress is not None:
                on_progress(line)

        manifest, summary = backup.stage_and_back_up(
            settings=settings,
            registry=registry,
            repository=repository,
            config_file=config_file(),
            on_progress=progress,
        )
        result.update(
            snapshot_id=summary.snapshot_id[:16],
            files_new=summary.files_new,
            files_changed=summary.files_changed,
            files_total=summary.total_files_processed,
            bytes_added=summary.data_added,
            bytes_total=summary.total_bytes_processed,
            details={
                'seconds': summary.total_duration,
                'manifest': {
                    'app_version': manifest.app_version,
                    'schema_revision': manifest.schema_revision,
                    'rows': sum(manifest.tables.values()),
                    'blob_files': manifest.blob_files,
                    'blob_bytes': manifest.blob_bytes,
                },
            },
        )
        done = result['run_id']
    view = get_run(done)
    if retention:
        try:
            apply_retention(actor=actor, target=chosen.name, trigger=trigger)
        except ServiceError:
            pass  # recorded as a failed retention run; the backup itself is done
    return view


def apply_retention(*, actor: Actor, target: str, trigger: str = 'manual', wait_seconds: float = 0.0) -> RunView:
    """`restic forget --prune` with the target's keep-daily/weekly/monthly numbers."""
    settings, chosen, repository = _prepare(actor, target)
    with _recorded(
        settings=settings, target=chosen, kind='forget', trigger=trigger, actor=actor, wait_seconds=wait_seconds
    ) as result:
        repository.unlock()  # stale locks only: a killed backup's lock would block `forget` for good
        repository.forget(
            keep_daily=chosen.keep_daily, keep_weekly=chosen.keep_weekly, keep_monthly=chosen.keep_monthly
        )
        result['details'] = {'kept': len(repository.snapshots(tag=backup.TAG))}
    return get_run(result['run_id'])


def check(
    *,
    actor: Actor,
    target: str | None = None,
    read_data: bool = False,
    trigger: str = 'manual',
    wait_seconds: float = 0.0,
) -> RunView:
    """`restic check`, and with `read_data` also `--read-data-subset <the target's share>`."""
    settings, chosen, repository = _prepare(actor, target)
    kind = 'read_data' if read_data else 'check'
    with _recorded(
        settings=settings, target=chosen, kind=kind, trigger=trigger, actor=actor, wait_seconds=wait_seconds
    ) as result:
        repository.unlock()  # stale locks only (nothing else of ours runs: we hold the maintenance lock)
        repository.check(read_data_subset=chosen.read_data_subset if read_data else '')
        result['details'] = {'read_data_subset': chosen.read_data_subset if read_data else ''}
    return get_run(result['run_id'])


def drill(*, actor: Actor, target: str | None = None, trigger: str = 'manual', wait_seconds: float = 0.0) -> RunView:
    """Restore the latest snapshot into scratch, prove it against its manifest, delete it; failed on any finding."""
    settings, chosen, repository = _prepare(actor, target)
    with _recorded(
        settings=settings, target=chosen, kind='drill', trigger=trigger, actor=actor, wait_seconds=wait_seconds
    ) as result:
        outcome = backup.drill_unlocked(settings=settings, repository=repository)
        findings = [asdict(finding) for finding in outcome.findings]
        result['snapshot_id'] = outcome.snapshot
        result['details'] = {'findings': findings}
        if outcome.manifest is not None:
            result['files_total'] = outcome.manifest.blob_files
            result['bytes_total'] = outcome.manifest.blob_bytes
        if findings:
            result['status'] = 'failed'
            result['message'] = (
                f'The restored copy does not match its manifest ({len(findings)} differences): '
                'do not rely on this backup.'
            )
            result['details']['error'] = {
                'message': N_(
                    'The restored copy does not match its manifest ({count} differences): do not rely on this '
                    'backup; run a new backup and check the repository.'
                ),
                'params': {'count': str(len(findings))},
            }
    return get_run(result['run_id'])


# --- reading ----------------------------------------------------------------------------------------------------


def get_run(run_id: int) -> RunView:
    """One run by id."""
    with get_database().session(write=False) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise ServiceError(N_('There is no run #{id}.'), id=run_id)
        return _view(run)


def history(
    *, session: Session, actor: Actor, target: str = '', kind: str = '', offset: int = 0, limit: int = 50
) -> tuple[list[RunView], int]:
    """Runs, newest first, optionally of one target and one kind; with the total count."""
    require(actor, PERMISSION)
    query = select(Run)
    if target:
        query = query.where(Run.target_name == target)
    if kind:
        query = query.where(Run.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Run.started_at.desc(), Run.id.desc()).offset(max(0, offset)).limit(min(500, max(1, limit)))
    )
    return [_view(run) for run in rows], int(total)


def last_run(session: Session, *, target_id: int | None, kind: str, status: str | None = None) -> RunView | None:
    """The newest run of a kind for a target (any target when None), optionally with a given status."""
    query = select(Run).where(Run.kind == kind)
    if target_id is not None:
        query = query.where(Run.target_id == target_id)
    if status is not None:
        query = query.where(Run.status == status)
    run = session.scalars(query.order_by(Run.started_at.desc(), Run.id.desc()).limit(1)).first()
    return _view(run) if run is not None else None


def progress_of(run_id: int) -> Progress | None:
    """The latest progress line of a running backup: this process's, else the one another worker shared."""
    with _progress_lock:
        line = PROGRESS.get(run_id)
    if line is not None:
        return line
    try:
        return Progress(**json.loads(_progress_file(run_id).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running() -> RunView | None:
    """The run in progress, if any (from any process)."""
    with get_database().session(write=False) as session:
        run = session.scalars(select(Run).where(Run.status == 'running').order_by(Run.id.desc()).limit(1)).first()
        return _view(run) if run is not None else None


__all__ = ['KINDS', 'LOCK_FILE', 'RunView', 'apply_retention', 'back_up', 'check', 'drill', 'history', 'last_run']
