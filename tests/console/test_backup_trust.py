"""Backups a fresh box can trust, with real restic (issue 11, items 1-4): drills and restores read the repository
without this box's cache and name its damage; a backup taken while people upload drills and restores; a killed
backup's lock does not block later runs, while a live lock of another computer is named and left alone; and
`enclave restore` reports the restore by its exit status."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import backup, runs
from console.backup.services.restic import Repository, RepositoryDamaged, RepositoryLocked
from console.backup.services.restores import restore
from console.backup.services.snapshot import DATABASE
from console.models import Run
from tests.console.backup_support import add_target, arrange, export, locks, repository_of, run_cli
from tests.modules.conftest import Team


def back_up(**kwargs: object) -> runs.RunView:
    return runs.back_up(actor=Operator(), registry=current_registry(), **kwargs)  # type: ignore[arg-type]


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.chmod(0o600)
    path.write_bytes(bytes(raw))


def packs_holding(repository: Repository, kind: str) -> list[str]:
    """The packs whose blobs are all of `kind` ('tree' or 'data'), from the repository's own index."""
    fresh = repository.uncached()
    found = []
    for index in fresh.run(['list', 'index']).split():
        for pack in json.loads(fresh.run(['cat', 'index', index]))['packs']:
            if {blob['type'] for blob in pack['blobs']} == {kind}:
                found.append(pack['id'])
    return found


def damage(location: Path, repository: Repository, part: str) -> None:
    if part in ('tree', 'data'):
        packs = packs_holding(repository, part)
        assert packs, f'no {part} pack'
        for pack in packs:
            flip_a_byte(location / 'data' / pack[:2] / pack)
    else:
        folder = {'index': 'index', 'snapshot': 'snapshots'}[part]
        for path in (location / folder).iterdir():
            flip_a_byte(path)


@pytest.mark.parametrize('part', ['tree', 'data', 'index', 'snapshot'])
def test_it_fails_the_drill_and_refuses_the_restore_of_a_damaged_repository_that_the_cache_would_hide(
    team: Team, tmp_path: Path, part: str
) -> None:
    arrange(team, tasks=3)
    add_target(team.alice, tmp_path / 'usb')
    assert back_up(retention=False).status == 'ok'
    repository = repository_of()
    assert repository.cache_dir is not None and any(repository.cache_dir.rglob('*')), 'the backup filled the cache'
    damage(tmp_path / 'usb', repository, part)
    before = export()

    with pytest.raises(RepositoryDamaged) as drilled:
        runs.drill(actor=Operator())
    assert drilled.value.message.startswith('The repository is damaged')
    with get_database().session() as session:
        last = session.scalars(select(Run).where(Run.kind == 'drill')).one()
    assert last.status == 'failed' and 'The repository is damaged' in last.message

    with pytest.raises(RepositoryDamaged):
        restore(settings=get_settings(), registry=current_registry(), actor=Operator(), repository=repository)
    assert export() == before, 'a refused restore changes nothing'
    assert not list(get_settings().data_dir.glob('before-restore-*'))


# --- a backup while people upload -----------------------------------------------------------------------------


def referenced_blobs(database: Path) -> list[str]:
    connection = sqlite3.connect(f'file:{database}?mode=ro', uri=True)
    try:
        return [row[0] for row in connection.execute('SELECT DISTINCT sha256 FROM core_blob_refs')]
    finally:
        connection.close()


def assert_every_referenced_blob_is_intact(database: Path, blobs: Path) -> int:
    import hashlib

    shas = referenced_blobs(database)
    for sha in shas:
        path = blobs / sha[:2] / sha[2:4] / sha
        assert path.is_file(), f'blob {sha} missing'
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    return len(shas)


def test_it_drills_and_restores_every_backup_taken_while_people_upload(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=2)
    add_target(team.alice, tmp_path / 'usb')
    store = get_blobstore()
    stop = threading.Event()
    uploaded: list[int] = []
    errors: list[BaseException] = []

    def uploader() -> None:
        generator = random.Random(11)
        try:
            while not stop.is_set():
                data = generator.randbytes(generator.randint(100, 20_000))
                sha, _size = store.write_bytes(data)
                with get_database().session() as session:
                    store.add_ref(session=session, sha256=sha, owner='tests.upload', owner_id=str(len(uploaded)))
                uploaded.append(len(data))
                # A pause now and then, so that the writer does not starve restic on two cores.
                time.sleep(0.002)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=uploader)
    thread.start()
    snapshots = []
    try:
        for _ in range(3):
            view = back_up(retention=False)
            assert view.status == 'ok', view.text()
            drilled = runs.drill(actor=Operator())
            assert drilled.status == 'ok', drilled.details
            snapshots.append(view.snapshot_id)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert len(uploaded) > 20, 'the uploads went on during the backups'

    settings = get_settings()
    repository = repository_of()
    for snapshot_id in snapshots:
        chosen = backup.latest_snapshot(repository, snapshot_id)
        fresh = tmp_path / f'fresh-{snapshot_id}'
        proof = backup.restore_and_prove(settings=settings, repository=repository, snapshot=chosen, target=fresh)
        assert proof.proven, proof.findings
        root = backup.find_data_root(fresh)
        count = assert_every_referenced_blob_is_intact(root / backup.STAGING / DATABASE, root / 'blobs')
        assert proof.manifest is not None and proof.manifest.blob_files == count

    # And the real restore of the first of them, taken under load, brings back every blob its database needs.
    result = restore(
        settings=settings, registry=current_registry(), actor=Operator(), repository=repository, snapshot=snapshots[0]
    )
    assert result.snapshot == snapshots[0][:8]
    assert assert_every_referenced_blob_is_intact(settings.data_dir / DATABASE, settings.data_dir / 'blobs') >= 2


# --- locks left by a killed restic, and a live one of another computer ------------------------------------------


def hold_a_lock(argv_prefix: list[str], repository: Repository) -> subprocess.Popen[bytes]:
    """A real restic backup that reads stdin and holds its repository lock until stdin closes."""
    process = subprocess.Popen(
        [*argv_prefix, *repository.uncached()._argv(['backup', '--stdin', '--stdin-filename', 'upload.bin'])],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=repository._environment(),
    )
    assert process.stdin is not None
    process.stdin.write(b'half of an upload')
    process.stdin.flush()
    deadline = time.monotonic() + 20
    while not locks(repository):
        assert process.poll() is None, process.stderr.read() if process.stderr else b''
        assert time.monotonic() < deadline, 'restic took no lock'
        time.sleep(0.1)
    return process


def test_it_backs_up_and_applies_retention_after_a_backup_was_killed_midway(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert back_up().status == 'ok'
    repository = repository_of()
    killed = hold_a_lock([], repository)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert locks(repository), 'kill -9 left the lock behind'

    view = back_up()

    assert view.status == 'ok', view.text()
    with get_database().session() as session:
        items, _total = runs.history(session=session, actor=Operator(), limit=2)
    assert [(item.kind, item.status) for item in items] == [('forget', 'ok'), ('backup', 'ok')], items[0].text()
    assert runs.drill(actor=Operator()).status == 'ok'
    assert not locks(repository)


def test_it_names_a_live_lock_of_another_computer_and_leaves_it(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert back_up(retention=False).status == 'ok'
    repository = repository_of()
    unshare = shutil.which('unshare')
    probe = subprocess.run([unshare or 'unshare', '-u', 'true'], capture_output=True, check=False)
    if unshare is None or probe.returncode != 0:
        pytest.skip('needs `unshare -u` (root) to run restic under another host name')
    other = hold_a_lock([unshare, '-u', 'sh', '-c', 'hostname other-box && exec "$0" "$@"'], repository)
    try:
        with pytest.raises(RepositoryLocked) as refused:
            runs.apply_retention(actor=Operator(), target='usb')
        text = str(refused.value)
        assert 'other-box' in text and f'process {other.pid}' in text and 'left in place' in text, text
        assert len(locks(repository)) == 1, 'the live lock stays'
    finally:
        assert other.stdin is not None
        other.stdin.close()
        assert other.wait(timeout=60) == 0
    assert runs.apply_retention(actor=Operator(), target='usb').status == 'ok'


# --- the exit status of `enclave restore` ------------------------------------------------------------------------


def test_it_exits_0_after_a_restore_whose_data_carries_a_red_check_and_names_it(team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    target = add_target(team.alice, tmp_path / 'usb')
    with get_database().session() as session:
        # An earlier drill failed: the backed-up database carries it, so the drill check is red after the restore.
        session.add(
            Run(
                target_id=target.id,
                target_name='usb',
                kind='drill',
                trigger='schedule',
                actor='',
                status='failed',
                finished_at=utcnow(),
                message='The restored copy does not match its manifest (1 differences).',
            )
        )
    assert back_up(retention=False).status == 'ok'

    restored = run_cli('restore', '--target', 'usb', '--snapshot', 'latest', '--yes', env={**os.environ})

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert 'Restored snapshot' in restored.stdout
    assert '[red] console.restore_drill' in restored.stdout
    assert 'The restore itself succeeded' in restored.stdout and 'enclave health' in restored.stdout
