"""A backup and a restore drill end to end, with real restic, real module data and real blobs."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from appliance.blobstore import get_blobstore
from appliance.config import get_settings, prepare_data_dir
from appliance.core_module import CORE
from appliance.modules import Registry, load_modules
from console.backup.services.backup import backup_paths, drill, run_backup
from console.backup.services.restic import Repository, ResticError
from console.lock import Busy, holder, maintenance_lock
from tests.modules.conftest import Team, make_project, make_task


def registry() -> Registry:
    fresh = Registry()
    fresh.register(CORE)
    load_modules(fresh, ['projects', 'tasks'])
    return fresh


def new_repository(tmp_path: Path) -> Repository:
    secret = tmp_path / 'repo.password'
    secret.write_text('a long generated password')
    secret.chmod(0o600)
    repository = Repository(location=str(tmp_path / 'repo'), password_file=secret, cache_dir=tmp_path / 'cache')
    repository.init()
    return repository


def arrange(team: Team) -> None:
    prepare_data_dir(get_settings())  # the keys, as at start-up
    project = make_project(owner=team.bob, members={team.bob.id: 'manager'})
    for n in range(20):
        make_task(project=project, title=f'备份 {n}')
    get_blobstore().write_bytes(b'minutes of the kick-off')


def test_it_backs_up_and_proves_the_backup_by_a_drill(team: Team, tmp_path: Path) -> None:
    arrange(team)
    settings = get_settings()
    repository = new_repository(tmp_path)
    manifest, summary = run_backup(settings=settings, registry=registry(), repository=repository)
    assert manifest.tables['tasks_tasks'] == 20 and summary.snapshot_id
    assert {p.name for p in backup_paths(settings)} >= {'backup-staging', 'blobs', 'keys'}

    result = drill(settings=settings, repository=repository)
    assert result.proven, result.findings
    assert result.snapshot == summary.snapshot_id[:8]
    assert (settings.data_dir / 'keys').is_dir()
    assert not list(tmp_path.glob('enclave-drill-*')), 'the scratch copy must be deleted'


def test_a_drill_reports_a_damaged_backup_and_never_passes_it(team: Team, tmp_path: Path) -> None:
    arrange(team)
    settings = get_settings()
    repository = new_repository(tmp_path)
    run_backup(settings=settings, registry=registry(), repository=repository)
    packs = [p for p in (Path(repository.location) / 'data').rglob('*') if p.is_file()]
    for pack in packs:
        raw = bytearray(pack.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        pack.chmod(0o600)
        pack.write_bytes(bytes(raw))
    with pytest.raises(ResticError):
        drill(settings=settings, repository=repository)


def test_a_drill_without_any_backup_says_so(team: Team, tmp_path: Path) -> None:
    with pytest.raises(ResticError) as error:
        drill(settings=get_settings(), repository=new_repository(tmp_path))
    assert 'Run a backup first' in error.value.message


def _hold_lock(data_dir: str, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    with maintenance_lock(Path(data_dir), 'backup'):
        ready.set()
        time.sleep(seconds)


def test_it_never_runs_two_maintenance_operations_at_once(data_dir: Path) -> None:
    context = multiprocessing.get_context('spawn')
    ready = context.Event()
    process = context.Process(target=_hold_lock, args=(str(data_dir), ready, 3.0))
    process.start()
    try:
        assert ready.wait(30)
        with pytest.raises(Busy) as error, maintenance_lock(data_dir, 'restore drill'):
            pass
        assert error.value.params['operation'] == 'backup'
        assert holder(data_dir)['operation'] == 'backup'
        with maintenance_lock(data_dir, 'restore drill', wait_seconds=30):
            assert holder(data_dir)['operation'] == 'restore drill'
    finally:
        process.join(30)


def test_a_killed_holder_leaves_no_stale_lock(data_dir: Path) -> None:
    context = multiprocessing.get_context('spawn')
    ready = context.Event()
    process = context.Process(target=_hold_lock, args=(str(data_dir), ready, 60.0))
    process.start()
    assert ready.wait(30)
    process.kill()
    process.join(30)
    with maintenance_lock(data_dir, 'backup'):
        pass
