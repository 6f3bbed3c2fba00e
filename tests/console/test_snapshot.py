"""A staged backup is consistent while the app writes, and a restored copy is proven against its manifest."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.core_module import CORE
from appliance.db import get_database
from appliance.modules import Registry, load_modules
from console.backup.services.snapshot import MANIFEST, Manifest, SnapshotError, stage, verify
from tests.modules.conftest import Team, make_project, make_task


def registry() -> Registry:
    fresh = Registry()
    fresh.register(CORE)
    load_modules(fresh, ['projects', 'tasks'])
    return fresh


def arrange(team: Team) -> None:
    project = make_project(owner=team.bob, members={team.bob.id: 'manager'})
    for n in range(30):
        make_task(project=project, title=f'任务 {n}')
    store = get_blobstore()
    with get_database().session() as session:
        for n, data in enumerate((b'an attachment', b'another one')):
            store.add_ref(session=session, sha256=store.write_bytes(data)[0], owner='tests.file', owner_id=str(n))


def staged(tmp_path: Path) -> tuple[Manifest, Path]:
    settings = get_settings()
    folder = tmp_path / 'staging'
    manifest = stage(
        database=settings.data_dir / 'enclave.db',
        blob_root=settings.data_dir / 'blobs',
        staging=folder,
        registry=registry(),
        app_version='0.1.0',
        created_at='2026-11-29T12:00:00Z',
    )
    return manifest, folder


def test_it_counts_every_declared_table_and_the_blobs(team: Team, tmp_path: Path) -> None:
    arrange(team)
    manifest, folder = staged(tmp_path)
    assert manifest.tables['tasks_tasks'] == 30 and manifest.tables['core_users'] == 5
    assert set(manifest.tables) >= {'projects_projects', 'core_audit', 'core_search_terms'}
    assert (manifest.blob_files, manifest.blob_bytes) == (2, len(b'an attachment') + len(b'another one'))
    assert manifest.schema_revision and manifest.modules == ['core', 'projects', 'tasks']
    assert Manifest.read(folder / MANIFEST) == manifest
    assert verify(staging=folder, blob_root=get_settings().data_dir / 'blobs') == []


def test_it_takes_a_consistent_copy_while_the_app_writes(team: Team, tmp_path: Path) -> None:
    arrange(team)
    project = make_project(key='BUSY', name='Busy', members={team.bob.id: 'member'})
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            make_task(project=project, title='written during the backup')

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifest, folder = staged(tmp_path)
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(folder / 'enclave.db')
    assert copy.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert copy.execute('SELECT count(*) FROM tasks_tasks').fetchone()[0] == manifest.tables['tasks_tasks']
    copy.close()
    with get_database().session():
        pass  # the live database is still usable


def test_it_finds_a_lost_row_an_altered_blob_and_a_missing_one(team: Team, tmp_path: Path) -> None:
    arrange(team)
    _manifest, folder = staged(tmp_path)
    copy = sqlite3.connect(folder / 'enclave.db')
    copy.execute("DELETE FROM tasks_tasks WHERE title = '任务 3'")
    copy.commit()
    copy.close()
    blobs = tmp_path / 'restored-blobs'
    shutil.copytree(get_settings().data_dir / 'blobs', blobs)
    files = sorted(p for p in blobs.rglob('*') if p.is_file() and len(p.name) == 64)
    files[0].write_bytes(b'AN ATTACHMENT')  # same size, other bytes
    findings = {finding.what for finding in verify(staging=folder, blob_root=blobs)}
    assert {'database checksum', 'rows in tasks_tasks', f'blob {files[0].name[:12]}'} <= findings
    files[1].unlink()
    assert f'blob {files[1].name[:12]}' in {finding.what for finding in verify(staging=folder, blob_root=blobs)}


def test_it_refuses_a_backup_without_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError):
        verify(staging=tmp_path, blob_root=tmp_path)
