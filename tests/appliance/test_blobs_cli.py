"""`enclave blobs fsck` and `enclave blobs gc`: the file store checked and cleaned from the command line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from typer.testing import CliRunner, Result

from appliance.blobstore import BlobStore, get_blobstore
from appliance.cli import app
from appliance.db import get_database
from console.lock import maintenance_lock

HOUR = 3600


def enclave(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def stored(store: BlobStore, content: bytes, *, referenced: bool, owner_id: str = '1') -> str:
    digest, _ = store.write_bytes(content)
    if referenced:
        with get_database().session() as session:
            store.add_ref(session=session, sha256=digest, owner='tasks.attachment', owner_id=owner_id)
    return digest


def test_it_reports_a_sound_store_and_exits_0() -> None:
    store = get_blobstore()
    stored(store, b'minutes of the meeting', referenced=True)
    result = enclave('blobs', 'fsck')
    assert result.exit_code == 0, result.output
    assert '1 files, 22 B in' in result.stdout
    assert result.stdout.rstrip().endswith('file store OK')

    payload = json.loads(enclave('blobs', 'fsck', '--json').stdout)
    assert (payload['ok'], payload['blobs'], payload['missing'], payload['content_checked']) == (True, 1, [], True)


def test_it_names_a_missing_and_a_damaged_file_and_exits_1() -> None:
    store = get_blobstore()
    gone = stored(store, b'the contract', referenced=True, owner_id='1')
    damaged = stored(store, b'the budget', referenced=True, owner_id='2')
    store.path(gone).unlink()
    store.path(damaged).write_bytes(b'the budgeX')

    result = enclave('blobs', 'fsck')
    assert result.exit_code == 1
    assert f'missing (in the database, not on disk): {gone}' in result.stdout
    assert f'damaged (content does not match its name): {damaged}' in result.stdout
    assert 'restore missing or damaged files from a backup' in result.stderr

    as_json = enclave('blobs', 'fsck', '--json')
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert (payload['ok'], payload['missing'], payload['corrupt']) == (False, [gone], [damaged])
    quick = json.loads(enclave('blobs', 'fsck', '--quick', '--json').stdout)
    assert (quick['missing'], quick['corrupt'], quick['content_checked']) == ([gone], [], False)


def test_it_collects_garbage_and_says_what_it_freed() -> None:
    store = get_blobstore()
    kept = stored(store, b'in use', referenced=True)
    unused = stored(store, b'x' * 2048, referenced=False)
    age(store.path(unused), 2 * HOUR)
    store.tmp_dir.mkdir(exist_ok=True)
    part = store.tmp_dir / 'blob-cut-off.part'
    part.write_bytes(b'y' * 4096)
    age(part, 30 * HOUR)

    dry = enclave('blobs', 'gc', '--dry-run')
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.strip() == (
        'Would remove 1 unused files (2.0 KiB) and 1 interrupted uploads (4.0 KiB): 6.0 KiB to free.'
    )
    assert store.exists(unused) and part.exists()

    result = enclave('blobs', 'gc', '--json')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        'dry_run': False,
        'unused_files': 1,
        'unused_bytes': 2048,
        'interrupted_uploads': 1,
        'interrupted_bytes': 4096,
        'bytes': 6144,
    }
    assert store.exists(kept) and not store.exists(unused) and not part.exists()
    assert enclave('blobs', 'fsck').exit_code == 0


def test_it_refuses_to_collect_while_a_backup_runs(data_dir: Path) -> None:
    store = get_blobstore()
    unused = stored(store, b'deleted after the backup staged its database', referenced=False)
    age(store.path(unused), 2 * HOUR)
    with maintenance_lock(data_dir, 'backup'):
        result = enclave('blobs', 'gc')
    assert result.exit_code == 1
    assert 'A backup, drill or restore is running' in result.stderr
    assert store.exists(unused)
