"""The content-addressed blob store: streamed writes, ids, references, gc, fsck and kill -9 safety."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from appliance.blobstore import BlobStore
from appliance.db import Base, Database
from appliance.errors import NotFound, ValidationError
from appliance.models import BlobRecord, BlobRef

CHILD = Path(__file__).with_name('blob_crash_child.py')
HOUR = 3600


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / 'blobs')


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f'sqlite:///{tmp_path}/t.db')
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_files(store: BlobStore) -> dict[str, Path]:
    """Every file in the content area (everything but tmp/ and the lock), by name."""
    files = {}
    for path in store.root.rglob('*'):
        if path.is_file() and path.parent != store.tmp_dir and path.name != '.lock':
            files[path.name] = path
    return files


def temp_files(store: BlobStore) -> list[Path]:
    return sorted(store.tmp_dir.iterdir()) if store.tmp_dir.exists() else []


def make_old(path: Path, seconds: float = 2 * HOUR) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def add_ref(db: Database, store: BlobStore, digest: str, owner_id: str = '1', owner: str = 'tasks.attachment') -> None:
    with db.session() as session:
        store.add_ref(session=session, sha256=digest, owner=owner, owner_id=owner_id)


# -- writing --------------------------------------------------------------------------------------------------------


def test_it_round_trips_a_stream(store: BlobStore) -> None:
    digest, size = store.write_stream([b'hello ', b'', b'world'])

    assert (digest, size) == (sha(b'hello world'), 11)
    assert store.path(digest) == store.root / digest[:2] / digest[2:4] / digest
    with store.open(digest) as handle:
        assert handle.read() == b'hello world'
    assert store.exists(digest)
    assert temp_files(store) == []


def test_it_stores_identical_content_once(store: BlobStore) -> None:
    first = store.write_bytes(b'same bytes')
    second = store.write_stream([b'same ', b'bytes'])

    assert first == second == (sha(b'same bytes'), 10)
    assert list(blob_files(store)) == [first[0]]
    assert store.usage() == (1, 10)
    assert temp_files(store) == []


def test_it_copies_a_file_and_stores_empty_content(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / 'report.pdf'
    source.write_bytes(b'%PDF' * 1000)

    assert store.write_file(source) == (sha(b'%PDF' * 1000), 4000)
    assert store.write_bytes(b'') == (sha(b''), 0)
    assert store.usage() == (2, 4000)
    assert store.path(sha(b'')).read_bytes() == b''


def test_it_keeps_files_and_folders_private(store: BlobStore) -> None:
    digest, _ = store.write_bytes(b'payroll')
    path = store.path(digest)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (store.root, store.tmp_dir, path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_it_streams_a_large_blob_chunk_by_chunk(store: BlobStore) -> None:
    chunk = os.urandom(1024 * 1024)
    count = 50
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    on_disk_when_asked: list[int] = []

    def chunks() -> Iterator[bytes]:
        nonlocal peak
        for index in range(count):
            if index:
                # The previous chunk is already in the temp file before the next one is requested.
                on_disk_when_asked.append(temp_files(store)[0].stat().st_size)
            peak = max(peak, process.memory_info().rss)
            yield chunk

    digest, size = store.write_stream(chunks())

    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    assert (digest, size) == (expected.hexdigest(), count * len(chunk))
    assert on_disk_when_asked == [index * len(chunk) for index in range(1, count)]
    assert peak - baseline < 16 * 1024 * 1024
    assert store.path(digest).stat().st_size == size


def test_it_refuses_content_over_max_bytes_and_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(ValidationError) as refused:
        store.write_stream([b'x' * 600, b'x' * 600], max_bytes=1000)

    assert str(refused.value) == (
        'The file is larger than the limit of 1000 B. Choose a smaller file or ask the admin to raise the limit.'
    )
    assert refused.value.field == 'file'
    assert blob_files(store) == {}
    assert temp_files(store) == []
    assert store.write_bytes(b'x' * 1000, max_bytes=1000) == (sha(b'x' * 1000), 1000)


def test_it_states_large_limits_in_readable_units(store: BlobStore) -> None:
    with pytest.raises(ValidationError, match=r'limit of 1\.5 MiB\.'):
        store.write_bytes(b'x' * (1536 * 1024 + 1), max_bytes=1536 * 1024)


def test_it_removes_the_temp_file_when_the_source_fails(store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield b'first half'
        raise ConnectionResetError('client went away')

    with pytest.raises(ConnectionResetError):
        store.write_stream(failing())

    assert blob_files(store) == {}
    assert temp_files(store) == []


def test_it_replaces_a_damaged_copy_of_the_wrong_size(store: BlobStore) -> None:
    digest, _ = store.write_bytes(b'full content')
    store.path(digest).write_bytes(b'full')

    store.write_bytes(b'full content')

    assert store.path(digest).read_bytes() == b'full content'


# -- ids ------------------------------------------------------------------------------------------------------------

BAD_IDS = ['../../etc/passwd', 'A' * 64, 'ab' * 31, 'g' * 64, 'a' * 64 + '\n', '../' + 'a' * 61, '']


@pytest.mark.parametrize('bad_id', BAD_IDS)
def test_it_refuses_malformed_ids(store: BlobStore, db: Database, bad_id: str) -> None:
    store.write_bytes(b'something')
    with db.session() as session:
        for call in (
            lambda: store.open(bad_id),
            lambda: store.path(bad_id),
            lambda: store.exists(bad_id),
            lambda: store.ref_count(session=session, sha256=bad_id),
            lambda: store.add_ref(session=session, sha256=bad_id, owner='drive.file', owner_id='1'),
        ):
            with pytest.raises(ValidationError, match='not a valid file id'):
                call()
        assert session.scalars(select(BlobRecord)).all() == []


def test_it_reports_a_blob_that_is_not_stored_as_not_found(store: BlobStore, db: Database) -> None:
    absent = sha(b'never written')

    with pytest.raises(NotFound):
        store.open(absent)
    with pytest.raises(NotFound):
        store.path(absent)
    with pytest.raises(NotFound), db.session() as session:
        store.add_ref(session=session, sha256=absent, owner='drive.file', owner_id='1')
    assert not store.exists(absent)
    with db.session() as session:
        assert session.scalars(select(BlobRecord)).all() == []


# -- references -----------------------------------------------------------------------------------------------------


def test_it_counts_references_once_per_owner(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'attachment')
    add_ref(db, store, digest, owner_id='7')
    add_ref(db, store, digest, owner_id='7')
    add_ref(db, store, digest, owner='drive.file', owner_id='7')

    with db.session() as session:
        assert store.ref_count(session=session, sha256=digest) == 2
        record = session.get(BlobRecord, digest)
        assert record is not None and record.size == 10
        owners = session.scalars(select(BlobRef.owner).order_by(BlobRef.owner)).all()
        assert owners == ['drive.file', 'tasks.attachment']

        assert store.remove_ref(session=session, sha256=digest, owner='tasks.attachment', owner_id='7')
        assert not store.remove_ref(session=session, sha256=digest, owner='tasks.attachment', owner_id='7')
        assert store.ref_count(session=session, sha256=digest) == 1
    assert store.exists(digest)


def test_it_refuses_an_empty_owner(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'attachment')

    with pytest.raises(ValidationError), db.session() as session:
        store.add_ref(session=session, sha256=digest, owner='', owner_id='1')


def test_it_leaves_only_an_unreferenced_file_when_the_transaction_fails(store: BlobStore, db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        digest, _ = store.write_bytes(b'upload')
        store.add_ref(session=session, sha256=digest, owner='tasks.attachment', owner_id='1')
        raise RuntimeError('the task could not be saved')

    with db.session() as session:
        assert session.scalars(select(BlobRecord)).all() == []
        report = store.fsck(session=session)
    assert report.orphans == [digest]
    assert report.ok


# -- gc -------------------------------------------------------------------------------------------------------------


def test_it_collects_only_unreferenced_blobs_past_the_grace_period(store: BlobStore, db: Database) -> None:
    kept, _ = store.write_bytes(b'referenced')
    dropped, _ = store.write_bytes(b'no longer used')
    fresh, _ = store.write_bytes(b'just uploaded')
    add_ref(db, store, kept)
    add_ref(db, store, dropped, owner_id='2')
    with db.session() as session:
        store.remove_ref(session=session, sha256=dropped, owner='tasks.attachment', owner_id='2')
    for digest in (kept, dropped):
        make_old(store.path(digest))
    store.tmp_dir.joinpath('blob-crashed.part').write_bytes(b'12345')
    make_old(store.tmp_dir / 'blob-crashed.part')
    store.tmp_dir.joinpath('blob-uploading.part').write_bytes(b'123')

    with db.session() as session:
        report = store.gc(session=session)

    assert (report.blobs_removed, report.records_removed, report.temp_files_removed) == (1, 1, 1)
    assert report.bytes_freed == len(b'no longer used') + 5
    assert sorted(blob_files(store)) == sorted([kept, fresh])
    assert [path.name for path in temp_files(store)] == ['blob-uploading.part']
    with db.session() as session:
        assert session.scalars(select(BlobRecord.sha256)).all() == [kept]


def test_it_restarts_the_grace_period_when_content_is_written_again(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'orphan for hours')
    make_old(store.path(digest))

    store.write_bytes(b'orphan for hours')  # a new upload of the same file, whose ref is not committed yet
    with db.session() as session:
        report = store.gc(session=session)

    assert report.blobs_removed == 0
    assert store.exists(digest)


def test_it_restarts_the_grace_period_when_a_reference_is_added(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'shared')
    make_old(store.path(digest))

    with db.session() as session:
        store.add_ref(session=session, sha256=digest, owner='drive.file', owner_id='1')
        # A gc in another transaction does not see the uncommitted ref; the fresh mtime protects the file.
        with db.session() as other:
            assert store.gc(session=other).blobs_removed == 0

    assert store.exists(digest)


def test_it_removes_rows_left_without_a_file(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'row survives the file')
    add_ref(db, store, digest)
    with db.session() as session:
        store.remove_ref(session=session, sha256=digest, owner='tasks.attachment', owner_id='1')
        session.get_one(BlobRecord, digest).created_at -= timedelta(hours=2)
    store.path(digest).unlink()

    with db.session() as session:
        report = store.gc(session=session)
        assert session.scalars(select(BlobRecord)).all() == []
    assert report.records_removed == 1


# -- fsck -----------------------------------------------------------------------------------------------------------


def test_it_reports_a_healthy_store_as_ok(store: BlobStore, db: Database) -> None:
    digest, _ = store.write_bytes(b'fine')
    add_ref(db, store, digest)

    with db.session() as session:
        report = store.fsck(session=session, verify_hashes=True)

    assert report.ok and report.clean
    assert (report.blobs, report.bytes) == (1, 4)


def test_it_finds_orphans_missing_corrupt_and_leftover_files(store: BlobStore, db: Database) -> None:
    orphan, _ = store.write_bytes(b'nobody uses me')
    missing, _ = store.write_bytes(b'deleted behind our back')
    corrupt, _ = store.write_bytes(b'bit rot')
    resized, _ = store.write_bytes(b'truncated later')
    for digest in (missing, corrupt, resized):
        add_ref(db, store, digest)
    shutil.rmtree(store.root / missing[:2])  # the whole prefix folder: fsck must still look for it
    store.path(corrupt).write_bytes(b'bit ROT')
    store.path(resized).write_bytes(b'truncated')
    store.tmp_dir.joinpath('blob-leftover.part').write_bytes(b'half')
    (store.root / 'notes.txt').write_text('put here by hand')

    with db.session() as session:
        quick = store.fsck(session=session)
        full = store.fsck(session=session, verify_hashes=True)

    assert quick.orphans == [orphan]
    assert quick.missing == [missing]
    assert quick.corrupt == []
    assert quick.size_mismatches == [resized]
    assert quick.temp_files == [store.tmp_dir / 'blob-leftover.part']
    assert quick.strays == [store.root / 'notes.txt']
    assert not quick.ok
    assert sorted(full.corrupt) == sorted([corrupt, resized])


def test_it_reports_leftovers_without_calling_the_data_damaged(store: BlobStore, db: Database) -> None:
    store.write_bytes(b'orphan')
    store.tmp_dir.joinpath('blob-leftover.part').write_bytes(b'half')

    with db.session() as session:
        report = store.fsck(session=session)

    assert report.ok
    assert not report.clean


# -- async ----------------------------------------------------------------------------------------------------------


async def agen(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


@pytest.mark.asyncio
async def test_it_writes_an_async_stream(store: BlobStore) -> None:
    digest, size = await store.write_async(agen(b'a' * 10, b'b' * 3_000_000, b'c'))

    assert (digest, size) == (sha(b'a' * 10 + b'b' * 3_000_000 + b'c'), 3_000_011)
    assert store.path(digest).stat().st_size == size
    assert temp_files(store) == []


@pytest.mark.asyncio
async def test_it_refuses_an_async_stream_over_max_bytes(store: BlobStore) -> None:
    with pytest.raises(ValidationError, match='larger than the limit'):
        await store.write_async(agen(b'x' * 700_000, b'x' * 700_000), max_bytes=1_000_000)

    assert blob_files(store) == {}
    assert temp_files(store) == []


@pytest.mark.asyncio
async def test_it_removes_the_temp_file_when_an_async_write_is_cancelled(store: BlobStore) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b'x' * (2 * 1024 * 1024)
        started.set()
        await asyncio.Event().wait()
        yield b'never'

    task = asyncio.create_task(store.write_async(stalled()))
    await started.wait()
    assert len(temp_files(store)) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert blob_files(store) == {}
    assert temp_files(store) == []


@pytest.mark.asyncio
async def test_it_keeps_the_event_loop_free_during_an_async_write(store: BlobStore) -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    async def big() -> AsyncIterator[bytes]:
        chunk = b'z' * (1024 * 1024)
        for _ in range(20):
            yield chunk  # no await here: only the store's worker threads give the loop a turn

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await store.write_async(big())
    during = ticks - before
    done = True
    await ticking

    assert during >= 20


# -- kill -9 --------------------------------------------------------------------------------------------------------


def child_content() -> Iterator[bytes]:
    """The bytes the child writes (with its default arguments), from its own generator."""
    spec = importlib.util.spec_from_file_location('blob_crash_child', CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    content: Iterator[bytes] = module.content_chunks(40, 256 * 1024)
    return content


def child_sha() -> str:
    digest = hashlib.sha256()
    for chunk in child_content():
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Crash:
    """One child killed at one moment: its store and what it printed before dying."""

    store: BlobStore
    output: str
    delay: float


def run_child_and_kill(root: Path, *, marker: str, delay: float = 0.0, options: tuple[str, ...] = ()) -> Crash:
    """Start the child, wait for `marker` and then `delay` seconds, and SIGKILL it."""
    argv = [sys.executable, str(CHILD), str(root), *options]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            output.append(line)
            if line.strip() == marker:
                break
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        stdout, stderr = child.communicate(timeout=30)
    assert child.returncode in (0, -signal.SIGKILL), stderr
    return Crash(BlobStore(root), ''.join(output) + stdout, delay)


@pytest.fixture(scope='module')
def crashes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Crash]:
    """Every kill scenario, run at once: each child spends ~1 s importing, so in series they would be slow."""
    # After the `writing` marker the child needs ~0.4 s more; random delays land mid-write or just after.
    scenarios = {
        # Slower chunks here, so the kill surely lands mid-write even on a busy machine.
        'writing': partial(run_child_and_kill, marker='writing', options=('--delay', '0.05')),
        'renaming': partial(run_child_and_kill, marker='renaming', options=('--pause-before-rename',)),
        **{
            f'random{index}': partial(run_child_and_kill, marker='writing', delay=random.uniform(0, 0.6))
            for index in range(3)
        },
    }
    root = tmp_path_factory.mktemp('crashes')
    with ThreadPoolExecutor(len(scenarios)) as pool:
        futures = {name: pool.submit(kill, root / name) for name, kill in scenarios.items()}
        return {name: future.result() for name, future in futures.items()}


def assert_recovers(store: BlobStore, db: Database, expected: str) -> None:
    """After a kill: nothing partial is visible, fsck names the leftover, gc clears it, a rewrite works."""
    visible = blob_files(store)
    assert set(visible) <= {expected}
    for name, path in visible.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == name
    leftovers = temp_files(store)
    assert len(leftovers) <= 1

    with db.session() as session:
        report = store.fsck(session=session, verify_hashes=True)
        assert report.ok
        assert report.temp_files == leftovers
        assert report.orphans == sorted(visible)
        assert store.gc(session=session, grace_seconds=0).temp_files_removed == len(leftovers)
    assert temp_files(store) == []

    assert store.write_stream(child_content()) == (expected, 40 * 256 * 1024)
    assert hashlib.sha256(store.path(expected).read_bytes()).hexdigest() == expected


def test_it_shows_nothing_partial_when_killed_mid_write(crashes: dict[str, Crash], db: Database) -> None:
    crash = crashes['writing']

    assert 'done' not in crash.output
    assert blob_files(crash.store) == {}
    [leftover] = temp_files(crash.store)
    assert 0 < leftover.stat().st_size < 40 * 256 * 1024
    assert_recovers(crash.store, db, child_sha())


def test_it_shows_nothing_when_killed_just_before_the_rename(crashes: dict[str, Crash], db: Database) -> None:
    crash = crashes['renaming']
    expected = child_sha()

    assert 'done' not in crash.output
    assert blob_files(crash.store) == {}
    [leftover] = temp_files(crash.store)
    assert hashlib.sha256(leftover.read_bytes()).hexdigest() == expected  # complete and fsynced, just not named
    assert_recovers(crash.store, db, expected)


@pytest.mark.parametrize('name', ['random0', 'random1', 'random2'])
def test_it_survives_a_kill_at_a_random_moment(crashes: dict[str, Crash], db: Database, name: str) -> None:
    crash = crashes[name]
    expected = child_sha()

    if f'done {expected}' in crash.output:
        assert list(blob_files(crash.store)) == [expected], crash.delay
    assert_recovers(crash.store, db, expected)


# ---- scheduled collection (issue 11, item 12) --------------------------------------------------------------


def interrupted_upload(store: BlobStore, size: int, age: float) -> Path:
    """A temp file as an upload cut off after `size` bytes leaves it, last written `age` seconds ago."""
    store.tmp_dir.mkdir(parents=True, exist_ok=True)
    part = store.tmp_dir / f'blob-{size}-{int(age)}.part'
    part.write_bytes(os.urandom(size))
    make_old(part, age)
    return part


def test_it_removes_a_stale_upload_part_and_keeps_one_still_being_written(store: BlobStore, db: Database) -> None:
    stale = interrupted_upload(store, 300_000, age=25 * HOUR)
    # Older than the blobs' grace but inside the day a part is kept: a slow upload may still be writing it.
    paused = interrupted_upload(store, 1000, age=2 * HOUR)
    fresh = interrupted_upload(store, 10, age=0)

    report = store.collect(db)

    assert (report.temp_files_removed, report.temp_bytes_freed) == (1, 300_000)
    assert not stale.exists()
    assert paused.exists() and fresh.exists()


def test_it_collects_an_old_unreferenced_blob_and_keeps_referenced_and_recent_ones(
    store: BlobStore, db: Database
) -> None:
    referenced, _ = store.write_bytes(b'an attachment still in use')
    deleted, _ = store.write_bytes(b'an attachment deleted yesterday' * 100)
    just_written, _ = store.write_bytes(b'an upload whose reference is being committed')
    add_ref(db, store, referenced)
    add_ref(db, store, deleted, owner_id='2')
    with db.session() as session:
        store.remove_ref(session=session, sha256=deleted, owner='tasks.attachment', owner_id='2')
    for digest in (referenced, deleted):
        make_old(blob_files(store)[digest])

    preview = store.collect(db, dry_run=True)
    assert (preview.blobs_removed, preview.blob_bytes_freed, preview.dry_run) == (1, 3100, True)
    assert set(blob_files(store)) == {referenced, deleted, just_written}  # a dry run removes nothing

    report = store.collect(db)

    assert (report.blobs_removed, report.blob_bytes_freed, report.records_removed) == (1, 3100, 1)
    assert set(blob_files(store)) == {referenced, just_written}
    with db.session() as session:
        assert set(session.scalars(select(BlobRecord.sha256))) == {referenced}
        assert store.ref_count(session=session, sha256=referenced) == 1


def test_the_scheduler_runs_the_collection_and_the_disk_reserve(data_dir: Path) -> None:
    from appliance.modules import current_registry
    from appliance.scheduler import create_scheduler

    jobs = {job.id: job for job in create_scheduler(current_registry()).get_jobs()}
    assert str(jobs['core.blobs_gc'].trigger) == 'interval[1:00:00]'
    assert str(jobs['core.disk_reserve'].trigger) == 'interval[0:01:00]'


def test_the_scheduled_collection_waits_while_a_backup_reads_the_store(data_dir: Path) -> None:
    from appliance.blobstore import get_blobstore
    from appliance.scheduler import collect_blobs
    from console.lock import maintenance_lock

    store = get_blobstore()
    part = interrupted_upload(store, 100, age=25 * HOUR)
    with maintenance_lock(data_dir, 'backup'):
        collect_blobs()
        assert part.exists()
    collect_blobs()
    assert not part.exists()
