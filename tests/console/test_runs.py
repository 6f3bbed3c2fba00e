"""Recorded runs with real restic: backup and retention, checks and drills, the lock, and the faults the issue
names: a backup killed at any moment, a damaged repository, a full backup disk."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import get_settings
from appliance.db import get_database
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import checks as backup_checks
from console.backup.services import runs
from console.backup.services.backup import TAG
from console.backup.services.restic import NoSpace, ResticError
from console.lock import Busy, maintenance_lock
from console.models import Run
from tests.console.backup_support import add_target, arrange, repository_of
from tests.modules.conftest import Team


def back_up(**kwargs: object) -> runs.RunView:
    return runs.back_up(actor=Operator(), registry=current_registry(), **kwargs)  # type: ignore[arg-type]


def test_it_records_a_backup_and_its_retention_pass_in_the_history(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    seen: list[float] = []
    view = runs.back_up(
        actor=team.alice, registry=current_registry(), on_progress=lambda p: seen.append(p.percent_done)
    )
    assert view.status == 'ok'
    assert view.target == 'usb' and view.actor == 'alice' and view.trigger == 'manual'
    assert view.files_total >= 4 and view.bytes_added > 0 and view.bytes_total > 0
    assert view.finished_at is not None and view.seconds is not None
    assert view.details['manifest']['blob_files'] == 2
    assert len(view.snapshot_id) >= 8
    with get_database().session() as session:
        items, total = runs.history(session=session, actor=team.alice)
    assert [item.kind for item in items] == ['forget', 'backup']
    assert total == 2 and items[0].status == 'ok'
    snapshots = repository_of().snapshots(tag=TAG)
    assert len(snapshots) == 1 and snapshots[0].id.startswith(view.snapshot_id)


def test_it_keeps_only_what_the_retention_says(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    from console.backup.services.targets import update_target

    with get_database().session() as session:
        update_target(
            session=session, actor=team.alice, name='usb', values={'keep_daily': 1, 'keep_weekly': 0, 'keep_monthly': 0}
        )
    for _ in range(3):
        assert back_up().status == 'ok'
    assert len(repository_of().snapshots(tag=TAG)) == 1


def test_it_refuses_a_second_maintenance_task_naming_the_first(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    data_dir = get_settings().data_dir
    with maintenance_lock(data_dir, 'restore'):
        with pytest.raises(Busy, match='A restore has been running since'):
            back_up()
        with pytest.raises(Busy):
            runs.drill(actor=team.alice)
    with get_database().session() as session:
        assert session.query(Run).count() == 0  # a refused request leaves no trace in the history


def test_it_proves_a_backup_with_a_drill_and_reports_a_damaged_repository(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    assert back_up().status == 'ok'
    drilled = runs.drill(actor=team.alice)
    assert drilled.status == 'ok' and drilled.details['findings'] == []
    status, message = backup_checks.drills()
    assert status == 'green' and 'Last proven restore' in message
    assert runs.check(actor=team.alice).status == 'ok'
    # Flip bytes in the middle of every data pack.
    for pack in (tmp_path / 'usb' / 'data').rglob('*'):
        if pack.is_file():
            data = bytearray(pack.read_bytes())
            middle = len(data) // 2
            data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
            pack.write_bytes(bytes(data))
    with pytest.raises(ResticError):
        runs.check(actor=team.alice, read_data=True)
    with pytest.raises(ResticError):
        runs.drill(actor=team.alice)
    assert backup_checks.drills()[0] == 'red'
    assert backup_checks.repositories()[0] == 'red'
    with get_database().session() as session:
        items, _total = runs.history(session=session, actor=team.alice, limit=2)
    assert [(item.kind, item.status) for item in items] == [('drill', 'failed'), ('read_data', 'failed')]
    assert items[0].text()


def test_it_reports_a_deleted_index_by_check(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert back_up().status == 'ok'
    for index in (tmp_path / 'usb' / 'index').iterdir():
        index.unlink()
    for pack in list((tmp_path / 'usb' / 'data').rglob('*'))[:]:
        if pack.is_file():
            pack.unlink()
            break
    with pytest.raises(ResticError):
        runs.check(actor=team.alice)
    with pytest.raises(ResticError):
        runs.drill(actor=team.alice)


def test_it_says_the_backup_disk_is_full_and_turns_the_backup_check_red(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    small = tmp_path / 'small-disk'
    small.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(small)], capture_output=True)
    assert mounted.returncode == 0, f'this test mounts a 1 MiB tmpfs as a full disk and needs root: {mounted.stderr!r}'
    try:
        add_target(team.alice, small / 'repo')
        (small / 'filler').write_bytes(b'\0' * 200_000)
        from appliance.blobstore import get_blobstore

        get_blobstore().write_bytes(os.urandom(3_000_000))
        with pytest.raises(NoSpace, match='disk is full'):
            back_up()
        status, message = backup_checks.backups()
        assert status == 'red'
        assert 'disk is full' in message
    finally:
        subprocess.run(['umount', '-l', str(small)], check=False)


KILL_CHILD = """
import sys
from appliance.config import get_settings
from appliance.db import init_database
from appliance.modules import build_registry
from appliance.services.actors import Operator
from console.backup.services import runs
settings = get_settings()
init_database(settings.sqlalchemy_url)
registry = build_registry(settings.enabled_modules)
print('start', flush=True)
runs.back_up(actor=Operator(), registry=registry)
"""


def test_a_backup_killed_at_any_moment_leaves_a_valid_repository_and_the_next_backup_succeeds(
    team: Team, tmp_path: Path
) -> None:
    arrange(team)
    from appliance.blobstore import get_blobstore

    for n in range(40):
        get_blobstore().write_bytes(os.urandom(256 * 1024) + str(n).encode())
    add_target(team.alice, tmp_path / 'usb')
    rng = random.Random(4)
    env = {**os.environ}
    for _round in range(3):
        child = subprocess.Popen(
            [sys.executable, '-c', KILL_CHILD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b'start'
        time.sleep(rng.uniform(0.02, 1.0))  # before, during or after staging; mid-upload
        os.killpg(child.pid, signal.SIGKILL)  # the child and its restic, like a pulled power cord
        child.wait()
    view = back_up()
    assert view.status == 'ok'
    assert runs.check(actor=team.alice).status == 'ok'
    assert runs.drill(actor=team.alice).status == 'ok'
    with get_database().session() as session:
        statuses = {run.status for run in session.query(Run).all()}
    assert 'running' not in statuses  # the killed ones were marked interrupted when the lock was next taken


def test_it_marks_runs_of_a_dead_process_interrupted(team: Team) -> None:
    with get_database().session() as session:
        session.add(Run(target_name='usb', kind='backup', status='running'))
    assert runs.mark_interrupted(get_settings().data_dir) == 1
    with get_database().session() as session:
        run = session.query(Run).one()
        assert run.status == 'interrupted' and run.finished_at is not None


def test_the_busy_message_names_the_running_task_in_the_readers_language(team: Team, tmp_path: Path) -> None:
    from appliance import i18n

    add_target(team.alice, tmp_path / 'usb')
    with maintenance_lock(get_settings().data_dir, 'restore drill'):
        with pytest.raises(Busy) as caught:
            runs.check(actor=team.alice)
    token = i18n.current_language.set('zh_CN')
    try:
        text = i18n.translate_error(caught.value)
    finally:
        i18n.current_language.reset(token)
    assert '恢复演练' in text and 'restore drill' not in text
