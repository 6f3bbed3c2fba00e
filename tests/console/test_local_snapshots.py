"""Local snapshots on a real filesystem: take → change → restore gives every row and every blob back; a blob the
collector removed from the live store stays pinned; damaged, foreign-release and unknown snapshots are refused
with nothing changed; a full disk refuses before writing; a take killed with SIGKILL leaves nothing half made;
retention keeps what it promises; and the CLI does the same."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.db import get_database
from appliance.errors import NotFound
from appliance.models import AuditEvent, LoginSession
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import local_snapshots
from console.backup.services.local_snapshots import LocalSnapshot, SnapshotRefused
from console.backup.services.snapshot import MANIFEST
from console.models import Run
from modules.projects.models import Project
from tests.appliance.small_disk import fill, small_disk_fixture  # noqa: F401 - fixture
from tests.console.backup_support import CHANGED_BY_RESTORE, arrange, export
from tests.modules.conftest import Team

ACTOR = Operator()


def take(reason: str = 'manual') -> LocalSnapshot:
    return local_snapshots.take(settings=get_settings(), registry=current_registry(), actor=ACTOR, reason=reason)


def restore(snapshot_id: str) -> LocalSnapshot:
    return local_snapshots.restore(
        settings=get_settings(), registry=current_registry(), actor=ACTOR, snapshot_id=snapshot_id
    )


def listed() -> list[LocalSnapshot]:
    return local_snapshots.list_snapshots(settings=get_settings(), actor=ACTOR)


def kept_rows(state: dict[str, object]) -> dict[str, object]:
    rows = state['rows']
    assert isinstance(rows, dict)
    return {table: value for table, value in rows.items() if table not in CHANGED_BY_RESTORE}


def blob_files(state: dict[str, object]) -> dict[str, object]:
    blobs = state['blobs']
    assert isinstance(blobs, dict)
    return {name: sha for name, sha in blobs.items() if len(Path(name).name) == 64}  # the store's .lock comes back


def drop_project_and_a_file() -> str:
    """A user's mistake: the project is deleted, a file's reference is removed and the collector takes the file."""
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    store = get_blobstore()
    blob = next(p for p in store.root.rglob('*') if p.is_file() and len(p.name) == 64)
    with get_database().session() as session:
        for n in ('0', '1'):
            store.remove_ref(session=session, sha256=blob.name, owner='tests.file', owner_id=n)
    report = store.collect(get_database(), grace_seconds=0, temp_grace_seconds=0)
    assert report.blobs_removed >= 1 and not blob.exists()
    return blob.name


def test_a_restored_snapshot_gives_every_row_and_every_blob_back(team: Team) -> None:
    arrange(team)
    with get_database().session() as session:
        session.add(LoginSession(user_id=team.bob.id, token_hash='x' * 64, ip='10.0.0.9'))
    snapshot = take()
    before = export()
    gone = drop_project_and_a_file()
    assert export() != before
    # The collector removed its own name for the blob; the snapshot's link keeps the bytes, and proves them.
    pinned = snapshot.path / 'blobs' / gone[:2] / gone[2:4] / gone
    assert pinned.is_file()
    proven = local_snapshots.prove(settings=get_settings(), actor=ACTOR, snapshot_id=snapshot.id)
    assert proven.proof == 'ok', proven.findings

    restore(snapshot.id)

    after = export()
    assert kept_rows(after) == kept_rows(before)
    assert blob_files(after) == blob_files(before) and len(blob_files(after)) == 2
    with get_database().session() as session:
        assert session.scalars(select(Project)).one().name == '备份演练 Backup drill'
        assert session.scalars(select(LoginSession)).all() == []  # everyone signs in again
        run = session.scalars(select(Run).where(Run.kind == 'restore')).one()
        assert run.snapshot_id == snapshot.id and run.status == 'ok'
        actions = [event.action for event in session.scalars(select(AuditEvent))]
        assert actions[-1] == 'console.snapshot_restore'
    # The present was moved aside (not deleted) and snapshotted first; the restored snapshot is still there.
    data_dir = get_settings().data_dir
    aside = next(data_dir.glob('before-restore-*'))
    assert (aside / 'enclave.db').is_file() and (aside / 'blobs').is_dir()
    reasons = sorted(item.reason for item in listed())
    assert reasons == ['manual', 'restore']
    assert not any((data_dir / 'scratch').iterdir())


def test_what_deleting_a_snapshot_frees_is_what_only_it_holds(team: Team) -> None:
    arrange(team)
    snapshot = take()
    database_only = next(item for item in listed() if item.id == snapshot.id).freed_bytes
    assert database_only >= snapshot.database_bytes  # the blobs are still the live store's too
    gone = drop_project_and_a_file()
    size = (snapshot.path / 'blobs' / gone[:2] / gone[2:4] / gone).stat().st_blocks * 512
    assert next(item for item in listed() if item.id == snapshot.id).freed_bytes == database_only + size
    local_snapshots.delete(settings=get_settings(), actor=ACTOR, snapshot_id=snapshot.id)
    assert listed() == [] and not snapshot.path.exists()


def test_a_damaged_snapshot_is_refused_and_nothing_changes(team: Team) -> None:
    arrange(team)
    snapshot = take()
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    next(p for p in (snapshot.path / 'blobs').rglob('*') if p.is_file()).unlink()
    state = export()
    with pytest.raises(SnapshotRefused, match='not whole'):
        restore(snapshot.id)
    assert export() == state
    assert not list(get_settings().data_dir.glob('before-restore-*'))
    assert local_snapshots.prove(settings=get_settings(), actor=ACTOR, snapshot_id=snapshot.id).proof == 'failed'


def test_a_snapshot_of_another_schema_or_an_unknown_id_is_refused(team: Team) -> None:
    arrange(team)
    snapshot = take()
    manifest_path = snapshot.path / 'backup-staging' / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest['schema_revision'] = 'f00dfeedbeef'
    manifest_path.write_text(json.dumps(manifest))
    state = export()
    with pytest.raises(SnapshotRefused, match='newer than this one'):
        restore(snapshot.id)
    for bad in ('../enclave.db', '.partial-x', 'no-such-snapshot', ''):
        with pytest.raises(NotFound):
            restore(bad)
        with pytest.raises(NotFound):
            local_snapshots.delete(settings=get_settings(), actor=ACTOR, snapshot_id=bad)
    assert export() == state
    assert (get_settings().data_dir / 'enclave.db').is_file()


def test_a_member_may_not_take_list_or_restore(team: Team) -> None:
    arrange(team)
    from appliance.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        local_snapshots.take(settings=get_settings(), registry=current_registry(), actor=team.bob)
    with pytest.raises(PermissionDenied):
        local_snapshots.list_snapshots(settings=get_settings(), actor=team.bob)
    assert not (get_settings().data_dir / 'snapshots').exists() or not listed()


def test_retention_keeps_the_newest_of_each_kind_and_the_only_snapshot_of_an_installed_release(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrange(team, tasks=1)
    releases = tmp_path / 'releases'
    (releases / '0.9.0').mkdir(parents=True)
    monkeypatch.setattr(local_snapshots, 'RELEASES', releases)
    taken = {
        reason: [take(reason) for _ in range(count)]
        for reason, count in (('scheduled', 9), ('upgrade', 5), ('restore', 4), ('manual', 2))
    }
    # The oldest upgrade snapshot was taken by 0.9.0, still installed; another by 0.8.0, no longer installed.
    for item, version in ((taken['upgrade'][0], '0.9.0'), (taken['upgrade'][1], '0.8.0')):
        item.app_version = version
        (item.path / 'snapshot.json').write_bytes(item.to_json())
    removed = local_snapshots.prune(settings=get_settings())
    left = {item.id for item in listed()}
    expected = (
        {item.id for item in taken['scheduled'][-7:]}
        | {item.id for item in taken['upgrade'][-3:]}
        | {item.id for item in taken['restore'][-3:]}
        | {item.id for item in taken['manual']}
        | {taken['upgrade'][0].id}
    )
    assert left == expected
    assert set(removed) == {item.id for items in taken.values() for item in items} - expected


def test_scheduled_snapshots_are_taken_once_a_day_and_proven(team: Team) -> None:
    arrange(team, tasks=1)
    first = local_snapshots.scheduled(settings=get_settings(), registry=current_registry(), actor=ACTOR)
    assert first is not None and first.proof == 'ok'
    assert local_snapshots.scheduled(settings=get_settings(), registry=current_registry(), actor=ACTOR) is None
    assert not local_snapshots.due(get_settings())


def test_a_snapshot_killed_midway_leaves_nothing_half_made(team: Team) -> None:
    arrange(team, tasks=200)
    store = get_blobstore()
    with get_database().session() as session:
        for n in range(1500):
            digest = store.write_bytes(os.urandom(64))[0]
            store.add_ref(session=session, sha256=digest, owner='tests.file', owner_id=f'k{n}')
    get_database().dispose()
    env = {**os.environ, 'ENCLAVE_DATA_DIR': str(get_settings().data_dir)}
    root = get_settings().data_dir / 'snapshots'
    command = [sys.executable, '-m', 'appliance.cli', 'snapshot', 'take']
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)  # one whole snapshot
    rng = random.Random(7)
    partials = 0
    for attempt in range(5):
        before = {item.name for item in root.iterdir()}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for this take to begin (a new hidden folder appears: the last one's leftover is cleared first),
        # then kill it at once or a little later.
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if any(item.name.startswith('.partial-') and item.name not in before for item in root.iterdir()):
                break
            time.sleep(0.002)
        time.sleep(0 if attempt == 0 else rng.uniform(0, 0.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        partials += any(item.name.startswith('.partial-') and item.name not in before for item in root.iterdir())
        # Either a whole snapshot or a hidden partial one; never a listed one without its description.
        for item in root.iterdir():
            assert item.name.startswith('.partial-') or (item / 'snapshot.json').is_file()
    assert partials, 'no kill landed inside a take: the test did not test it'
    snapshot = take()
    assert not [item for item in root.iterdir() if item.name.startswith('.')]  # the next take cleared them
    for item in listed():
        assert local_snapshots.prove(settings=get_settings(), actor=ACTOR, snapshot_id=item.id).proof == 'ok'
    assert snapshot.blob_files >= 1500


def test_a_full_disk_refuses_a_snapshot_before_writing(team: Team, small_disk: Path) -> None:
    filler = fill(small_disk)
    os.truncate(filler, max(0, filler.stat().st_size - 300_000))  # some room, less than a database copy needs
    with pytest.raises(SnapshotRefused, match='needs'):
        take()
    assert not any((small_disk / 'snapshots').iterdir())


def test_the_cli_takes_lists_proves_and_deletes(team: Team) -> None:
    arrange(team, tasks=1)
    get_database().dispose()
    env = {**os.environ, 'ENCLAVE_DATA_DIR': str(get_settings().data_dir)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, '-m', 'appliance.cli', 'snapshot', *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = cli('take', '--json')
    assert made.returncode == 0, made.stderr
    ident = json.loads(made.stdout)['id']
    shown = cli('list')
    assert ident in shown.stdout and 'On demand' in shown.stdout
    proven = cli('prove', ident)
    assert proven.returncode == 0 and 'proven' in proven.stdout
    restored = cli('restore', ident, '--yes')
    assert restored.returncode == 0, restored.stderr
    wrong = cli('delete', 'nope', '--yes')
    assert wrong.returncode == 1 and 'There is no snapshot "nope"' in wrong.stderr
    gone = cli('delete', ident, '--yes')
    assert gone.returncode == 0 and ident not in cli('list').stdout


def test_the_cli_restores_a_snapshot_over_a_database_a_newer_release_migrated(team: Team) -> None:
    """The rollback of an upgrade whose migrations ran: the old release restores the snapshot taken before them,
    over a database at a schema revision it does not know."""
    arrange(team, tasks=1)
    before = kept_rows(export())
    made = take(reason='upgrade')
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    with sqlite3.connect(get_settings().data_dir / 'enclave.db') as connection:
        connection.execute("update alembic_version set version_num = 'a5e1c0de0111'")  # a newer release's head
        connection.execute('create table added_by_a_newer_release (id integer primary key)')
    get_database().dispose()
    env = {**os.environ, 'ENCLAVE_DATA_DIR': str(get_settings().data_dir)}
    stopped = subprocess.run(
        [sys.executable, '-m', 'appliance.cli', 'health'], env=env, capture_output=True, text=True, timeout=120
    )
    assert stopped.returncode != 0 and 'does not know' in stopped.stderr  # what the old release sees otherwise

    restored = subprocess.run(
        [sys.executable, '-m', 'appliance.cli', 'snapshot', 'restore', made.id, '--yes'],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert restored.returncode == 0, restored.stdout + restored.stderr
    get_database().dispose()
    assert kept_rows(export()) == before
    with sqlite3.connect(get_settings().data_dir / 'enclave.db') as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
    assert 'added_by_a_newer_release' not in tables
