"""`make bench`, backup part: the speed figures of issue 4, each printed beside bare restic (or the idle server)
measured on the same data in the same run.

    python -m tests.bench.bench_backup [--backup-mib 1024] [--tasks 20000] [--projects 50] [--big 1000] [--runs 20]
                                       [--no-scheduled] [--no-upgrade]

The data: a migrated database seeded by tests/bench/seed.py, plus `--backup-mib` of task attachments written
through the blob store (a few large files of tens of MB, many 1 MB files, many files of a few KB; half of them
compressible text, half random bytes), recorded as attachments of the seeded tasks.

Figures:
- full backup: `console.runs.back_up` (maintenance lock, run rows, SQLite online-backup copy, manifest, restic)
  into a fresh local repository vs bare `restic backup` of the same paths (staging folder, blobs, keys) into
  another fresh repository with the same cache settings; throughput in MB/s, target app >= 90% of restic's;
- incremental backup after a 1% change (attachments replaced and added worth 1% of the bytes through the tasks
  services, 0.5% of the tasks edited): the app's second backup vs restic's second backup of the same paths;
  time, target app <= 2x restic's;
- page response p95 (GET /, /projects and the big project's board, signed in as an admin, against a live server
  on the same data dir) while a backup runs vs idle, target <= 2x idle: once while the app's scheduler backs up
  inside the server (its tick runs `runs.back_up` in the scheduler's thread pool, as "Back up now" runs it
  through `run.io_bound`; the server runs with its scheduler on, so this waits for the first tick, ~60 s), and
  once while `enclave backup run` backs up in its own process. Each is a full backup into a fresh repository,
  sampled from its run row saying 'running' until it finishes. `--no-scheduled` leaves the first one out.
- local snapshot vs SQLite's online backup plus a hard link per blob, target <= 1.5x and under 10 s;
- upgrade (tests/console/upgrade_support.py: the root helper with releases in a folder, a real server stopped and
  started): Enclave's downtime in an upgrade without a migration vs a bare restart, target under 30 s; and the
  automatic rollback after a failed migration (stop, switch back, restore the snapshot, start), target under 60 s.
Retention is left out of the backup figures (`retention=False`): two backups a few seconds apart make
`forget --prune` drop the first one, which a daily schedule never does; it is its own recorded run anyway.
Compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.orm import Session

from appliance.services.actors import Operator
from tests.bench.bench_tasks import percentile, prepare, sign_in
from tests.bench.seed import Seeded
from tests.livesrv import LiveServer

MIB = 1024 * 1024
# Bytes mapped onto a small alphabet: unique, text-like and about half compressible.
TEXT = bytes.maketrans(bytes(range(256)), (b'etaoinshrdlcumwf' * 15 + b' ' * 10 + b'\n' * 6))
PAGES = ('/', '/projects', '/projects/{big}/board')
BENCH = Operator(username='bench', display_name='Benchmark')


@dataclass(frozen=True)
class Figure:
    """One line of the table: the app's figure, its baseline, the ratio and the target."""

    name: str
    app: float
    base: float
    unit: str
    ratio: float
    target: str
    met: bool


@dataclass(frozen=True)
class Blobs:
    """What was written to the blob store."""

    files: int
    bytes: int


# --- the data set ------------------------------------------------------------------------------------------------


def disk_temp_root() -> Path:
    """A temp folder on disk: the system one unless it is RAM-backed, then /var/tmp."""
    root = Path(tempfile.gettempdir()).resolve()
    mounts = sorted(psutil.disk_partitions(all=True), key=lambda part: len(part.mountpoint), reverse=True)
    for part in mounts:
        if root == Path(part.mountpoint) or Path(part.mountpoint) in root.parents:
            return Path('/var/tmp') if part.fstype in {'tmpfs', 'ramfs'} else root
    return root


def blob_plan(total: int, rng: random.Random) -> list[tuple[int, bool]]:
    """(size, is_text) of each file: 25% of the bytes in large files, 70% around 1 MB, 5% of 1-8 KB."""
    large = max(2 * MIB, min(32 * MIB, total // 32))
    plan = [(large, i % 2 == 0) for i in range(max(1, round(total * 0.25 / large)))]
    medium = 0
    while medium < total * 0.70:
        size = rng.randint(3 * MIB // 4, 5 * MIB // 4)
        plan.append((size, rng.random() < 0.5))
        medium += size
    small = 0
    while small < total * 0.05:
        size = rng.randint(1024, 8 * 1024)
        plan.append((size, rng.random() < 0.5))
        small += size
    rng.shuffle(plan)
    return plan


def chunks(rng: random.Random, size: int, text: bool) -> Iterator[bytes]:
    """`size` fresh bytes, a MiB at a time."""
    while size > 0:
        piece = rng.randbytes(min(MIB, size))
        size -= len(piece)
        yield piece.translate(TEXT) if text else piece


def attach(session: Session, seeded: Seeded, plan: list[tuple[int, bool]], rng: random.Random) -> Blobs:
    """Write each planned file through the blob store and record it as an attachment of a seeded task (bulk rows,
    as seed.py does: the service would take minutes for ten thousand files)."""
    from sqlalchemy import insert, select

    from appliance.blobstore import get_blobstore
    from appliance.models import BlobRecord, BlobRef
    from modules.tasks.models import Attachment, Task
    from modules.tasks.services.attachments import BLOB_OWNER

    store = get_blobstore()
    task_ids = list(session.scalars(select(Task.id).where(Task.project_id == seeded.big_project_id)))
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total = 0
    for number, (size, text) in enumerate(plan):
        sha256, written = store.write_stream(chunks(rng, size, text))
        total += written
        records.append({'sha256': sha256, 'size': written})
        rows.append(
            {
                'task_id': task_ids[number % len(task_ids)],
                'sha256': sha256,
                'filename': f'file-{number}.{"txt" if text else "bin"}',
                'content_type': 'text/plain' if text else 'application/octet-stream',
                'size': written,
                'uploaded_by': seeded.reader_id,
            }
        )
    for start in range(0, len(rows), 2_000):
        session.execute(insert(BlobRecord), records[start : start + 2_000])
        session.execute(insert(Attachment), rows[start : start + 2_000])
    session.flush()
    shas = {row['sha256'] for row in rows}
    refs = [
        {'sha256': sha, 'owner': BLOB_OWNER, 'owner_id': str(aid)}
        for aid, sha in session.execute(select(Attachment.id, Attachment.sha256))
        if sha in shas
    ]
    for start in range(0, len(refs), 2_000):
        session.execute(insert(BlobRef), refs[start : start + 2_000])
    return Blobs(files=len(rows), bytes=total)


def seed_files(seeded: Seeded, total: int) -> Blobs:
    """`total` bytes of attachments, and the reader made an admin (the pages are measured as an admin)."""
    from appliance.db import get_database
    from appliance.models import UserRole

    rng = random.Random(4_2026)
    with get_database().session() as session:
        session.add(UserRole(user_id=seeded.reader_id, role='admin'))
        return attach(session, seeded, blob_plan(total, rng), rng)


def change_one_percent(seeded: Seeded, total: int) -> tuple[int, int]:
    """Replace attachments worth 0.5% of the bytes and add 0.5% more (through the tasks services), edit 0.5% of
    the tasks; (bytes written, tasks edited)."""
    from sqlalchemy import select

    from appliance.blobstore import get_blobstore
    from appliance.db import get_database
    from appliance.models import User
    from modules.tasks.models import Attachment, Task
    from modules.tasks.services import attachments, update_task

    rng = random.Random(1_2026)
    with get_database().session() as session:
        reader = session.get(User, seeded.reader_id)
        assert reader is not None
        removed = 0
        candidates = list(session.scalars(select(Attachment).where(Attachment.size < 2 * MIB).order_by(Attachment.id)))
        rng.shuffle(candidates)
        for row in candidates:
            if removed >= total // 200:
                break
            removed += row.size
            attachments.delete_attachment(session=session, actor=reader, attachment_id=row.id)
        written = 0
        task_ids = list(session.scalars(select(Task.id).where(Task.project_id == seeded.big_project_id)))
        while written < total // 100:
            size = rng.randint(1024, 8 * 1024) if rng.random() < 0.5 else rng.randint(3 * MIB // 4, 5 * MIB // 4)
            size = min(size, max(1024, total // 100 - written))
            text = rng.random() < 0.5
            sha256, size = get_blobstore().write_stream(chunks(rng, size, text))
            attachments.record_attachment(
                session=session,
                actor=reader,
                task_id=rng.choice(task_ids),
                sha256=sha256,
                size=size,
                filename=f'changed-{written}.{"txt" if text else "bin"}',
                content_type='text/plain' if text else 'application/octet-stream',
            )
            written += size
        edited = rng.sample(task_ids, max(1, seeded.tasks // 200))
        for task_id in edited:
            update_task(session=session, actor=reader, task_id=task_id, changes={'title': f'Edited {task_id}'})
    with get_database().session() as session:
        get_blobstore().gc(session=session, grace_seconds=0)  # the replaced files leave the store
    return written, len(edited)


def warm(paths: list[Path]) -> int:
    """Read every file once, so neither side of a comparison pays for cold reads; the bytes read."""
    total = 0
    for root in paths:
        for path in [root] if root.is_file() else root.rglob('*'):
            if path.is_file():
                with path.open('rb') as handle:
                    while chunk := handle.read(MIB):
                        total += len(chunk)
    return total


# --- the two sides ---------------------------------------------------------------------------------------------


def app_backup(target: str) -> tuple[float, Any]:
    """Seconds of `runs.back_up` to `target`, and its recorded run."""
    from appliance.modules import current_registry
    from console.backup.services import runs

    began = time.perf_counter()
    view = runs.back_up(actor=BENCH, registry=current_registry(), target=target, retention=False)
    seconds = time.perf_counter() - began
    assert view.status == 'ok', view.text()
    return seconds, view


@dataclass(frozen=True)
class BareRestic:
    """Bare restic with its own repository, password file and cache."""

    repo: Path
    password_file: Path
    cache: Path

    def run(self, *args: str) -> str:
        argv = [
            shutil.which('restic') or 'restic',
            '--repo',
            str(self.repo),
            '--password-file',
            str(self.password_file),
        ]
        env = {key: os.environ[key] for key in ('PATH', 'HOME', 'LANG') if key in os.environ}
        result = subprocess.run(
            [*argv, '--cache-dir', str(self.cache), *args],
            capture_output=True,
            text=True,
            timeout=6 * 3600,
            env={**env, 'RESTIC_PROGRESS_FPS': '2'},  # as console.restic runs it
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def backup(self, paths: list[Path]) -> tuple[float, dict[str, Any]]:
        """Seconds of `restic backup`, and its summary."""
        began = time.perf_counter()
        out = self.run('--json', 'backup', '--tag', 'enclave', *(str(path) for path in paths))
        seconds = time.perf_counter() - began
        summary = [line for line in map(json.loads, out.splitlines()) if line.get('message_type') == 'summary']
        assert summary, out[-2000:]
        return seconds, summary[-1]


def add_target(data_dir: Path, name: str, repo: Path, schedules: dict[str, Any] | None = None) -> None:
    """A backup target in a fresh repository, made by the console (generated password, restic init)."""
    from appliance.db import get_database
    from console.backup.services import targets

    with get_database().session() as session:
        targets.add_target(
            session=session, actor=BENCH, data_dir=data_dir, name=name, repository=str(repo), schedules=schedules
        )


def bench_backups(work: Path, data_dir: Path, seeded: Seeded, total: int) -> list[Figure]:
    """The full and the incremental backup, app vs bare restic."""
    from appliance.config import config_file, get_settings
    from console.backup.services.backup import backup_paths

    add_target(data_dir, 'bench', work / 'repo-app')
    bare = BareRestic(repo=work / 'repo-bare', password_file=work / 'bare.password', cache=work / 'cache-bare')
    bare.password_file.write_text('bench-password-for-bare-restic\n')
    bare.password_file.chmod(0o600)
    bare.run('init')
    warm([data_dir])

    app_full, view = app_backup('bench')
    paths = backup_paths(get_settings(), config_file())  # the same list the app just backed up
    warm(paths)
    bare_full, summary = bare.backup(paths)
    app_mbs = view.bytes_total / app_full / 1e6
    bare_mbs = int(summary['total_bytes_processed']) / bare_full / 1e6
    print(
        f'full backup: app {app_full:.2f} s for {view.bytes_total / 1e6:.0f} MB in {view.files_total:,} files '
        f'(restic reported {float(view.details.get("seconds", 0.0)):.2f} s of scanning and uploading); bare restic '
        f'{bare_full:.2f} s for {int(summary["total_bytes_processed"]) / 1e6:.0f} MB in '
        f'{int(summary["total_files_processed"]):,} files (restic reported {float(summary["total_duration"]):.2f} s)'
    )

    written, edited = change_one_percent(seeded, total)
    app_incr, view = app_backup('bench')
    bare_incr, summary = bare.backup(paths)
    print(
        f'1% change: {written / 1e6:.1f} MB of attachments written, {edited} tasks edited; incremental: app '
        f'{app_incr:.2f} s ({view.files_new} new, {view.files_changed} changed files, {view.bytes_added / 1e6:.1f} MB '
        f'added), bare restic {bare_incr:.2f} s ({summary["files_new"]} new, {summary["files_changed"]} changed, '
        f'{int(summary["data_added"]) / 1e6:.1f} MB added)'
    )
    return [
        Figure(
            'full backup throughput', app_mbs, bare_mbs, 'MB/s', app_mbs / bare_mbs, 'app >= 0.90x restic',
            app_mbs >= 0.9 * bare_mbs,
        ),
        Figure(
            'incremental backup after a 1% change', app_incr, bare_incr, 's', app_incr / bare_incr,
            'app <= 2x restic', app_incr <= 2 * bare_incr,
        ),
    ]  # fmt: skip


# --- pages while a backup runs -----------------------------------------------------------------------------------


def page_loop(base_url: str, cookie: str, seeded: Seeded, keep_going: Callable[[int], bool]) -> list[float]:
    """Seconds per GET of each page in turn, while keep_going(samples so far) says so."""
    from tests.livesrv import http_client

    urls = [page.format(big=seeded.big_project_id) for page in PAGES]
    samples: list[float] = []
    with http_client(base_url, timeout=60) as client:
        while keep_going(len(samples)):
            url = urls[len(samples) % len(urls)]
            began = time.perf_counter()
            response = client.get(url, headers={'cookie': cookie})
            samples.append(time.perf_counter() - began)
            assert response.status_code == 200, f'{url} answered {response.status_code}'
    return samples


def cli_backup(data_dir: Path, port: int, target: str) -> subprocess.Popen[str]:
    """`enclave backup run --target <target> --json` in its own process, on the server's data dir."""
    from tests.livesrv import REPO, server_env

    enclave = Path(sys.executable).parent / 'enclave'
    return subprocess.Popen(
        [str(enclave if enclave.exists() else shutil.which('enclave')), 'backup', 'run', '--target', target, '--json'],
        cwd=REPO,
        env=server_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def status_of(connection: sqlite3.Connection, target: str, kind: str) -> str:
    """The status of the newest run of a kind for `target` ('' before there is one)."""
    row = connection.execute(
        'SELECT status FROM console_runs WHERE kind = ? AND target_name = ? ORDER BY id DESC LIMIT 1', (kind, target)
    ).fetchone()
    return str(row[0]) if row else ''


def backup_status(connection: sqlite3.Connection, target: str) -> str:
    """The status of the newest backup run of `target`."""
    return status_of(connection, target, 'backup')


def scheduled_target(data_dir: Path, work: Path) -> None:
    """A target the scheduler's first tick finds due: backups every minute, added two minutes ago (its checks and
    drills not due for months)."""
    from sqlalchemy import update

    from appliance.db import get_database, utcnow
    from console.models import Target

    never = '0 0 1 1 *'
    add_target(
        data_dir,
        'scheduled',
        work / 'repo-scheduled',
        {'backup_cron': '* * * * *', 'check_cron': never, 'read_data_cron': never, 'drill_cron': never},
    )
    with get_database().session() as session:
        session.execute(
            update(Target).where(Target.name == 'scheduled').values(created_at=utcnow() - timedelta(minutes=2))
        )


def wait_for(what: str, ready: Callable[[], bool], server: LiveServer, timeout: float) -> None:
    """Poll `ready` until it holds; RuntimeError with the server's log after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f'{what} did not happen within {timeout:.0f} s.\n{server.log_text()[-4000:]}')
        time.sleep(0.01)


def bench_pages(work: Path, data_dir: Path, seeded: Seeded, runs: int, scheduled: bool) -> list[Figure]:
    """p95 of the pages idle, then while the scheduler backs up in the server (with `scheduled`), then while
    `enclave backup run` backs up in its own process; every backup a full one into a fresh repository."""
    from appliance.db import get_database
    from console.backup.services import targets
    from tests.livesrv import server_database, start_server

    if scheduled:
        scheduled_target(data_dir, work)
    server = start_server(data_dir, timeout=60, env={'ENCLAVE_SCHEDULER_ENABLED': 'true' if scheduled else 'false'})
    runs_db = sqlite3.connect(f'file:{data_dir / "enclave.db"}?mode=ro', uri=True, timeout=30)
    try:
        with server_database(data_dir):
            cookie, _token = sign_in(server.url, seeded.reader_username)

            def pages(keep_going: Callable[[int], bool]) -> list[float]:
                return page_loop(server.url, cookie, seeded, keep_going)

            def quiet(done: int) -> bool:  # idle: until enough samples, or the scheduler's backup starts
                return done < len(PAGES) * runs and backup_status(runs_db, 'scheduled') == ''

            pages(lambda done: done < len(PAGES))  # warm-up
            idle = pages(quiet)
            figures: list[Figure] = []
            notes = [f'{len(idle)} GETs idle']
            if scheduled:
                wait_for('The scheduled backup', lambda: backup_status(runs_db, 'scheduled') != '', server, 180)
                during = pages(lambda _done: backup_status(runs_db, 'scheduled') == 'running')
                with get_database().session() as session:
                    targets.update_target(session=session, actor=BENCH, name='scheduled', values={'enabled': False})
                wait_for('The scheduled backup', lambda: backup_status(runs_db, 'scheduled') != 'running', server, 60)
                assert backup_status(runs_db, 'scheduled') == 'ok', server.log_text()[-4000:]
                wait_for(  # the tick applies retention next, under the maintenance lock the CLI needs
                    'The retention pass after the scheduled backup',
                    lambda: status_of(runs_db, 'scheduled', 'forget') not in ('', 'running'),
                    server,
                    600,
                )
                figures.append(page_figure("the scheduler's backup", idle, during))
                notes.append(f'{len(during)} during the scheduled backup')
            during, backups = [], 0
            while len(during) < len(PAGES) * min(runs, 5) and backups < 5:
                backups += 1
                name = f'live-{backups}'
                add_target(data_dir, name, work / f'repo-{name}')
                during += during_cli_backup(server, runs_db, name, pages)
            figures.append(page_figure('`enclave backup run`', idle, during))
            notes.append(f'{len(during)} during {backups} `enclave backup run`')
        print(f'pages ({", ".join(PAGES)}): ' + ', '.join(notes) + ' (each while its run row said running)')
    finally:
        runs_db.close()
        server.stop()
    return figures


def during_cli_backup(
    server: LiveServer, runs_db: sqlite3.Connection, name: str, pages: Callable[[Callable[[int], bool]], list[float]]
) -> list[float]:
    """Page timings while `enclave backup run --target <name>` backs up (checked to succeed)."""
    process = cli_backup(server.data_dir, server.port, name)
    started = lambda: backup_status(runs_db, name) != '' or process.poll() is not None  # noqa: E731
    wait_for('`enclave backup run`', started, server, 300)
    during = pages(lambda _done: process.poll() is None and backup_status(runs_db, name) == 'running')
    out, err = process.communicate(timeout=6 * 3600)
    assert process.returncode == 0, out + err
    assert json.loads(out)['status'] == 'ok', out
    return during


def page_figure(during_what: str, idle: list[float], during: list[float]) -> Figure:
    """p95 during vs p95 idle, in ms."""
    idle_p95, during_p95 = percentile(idle, 95) * 1000, percentile(during, 95) * 1000
    return Figure(
        f'page p95 during {during_what} (vs idle)', during_p95, idle_p95, 'ms', during_p95 / idle_p95,
        '<= 2x idle', during_p95 <= 2 * idle_p95,
    )  # fmt: skip


# --- the table ---------------------------------------------------------------------------------------------------


def report(figures: list[Figure]) -> None:
    """Print the table of figures."""
    print()
    print(f'{"figure":52} {"app":>14} {"baseline":>14} {"ratio":>7}  {"target":22} met?')
    for item in figures:
        app, base = f'{item.app:.2f} {item.unit}', f'{item.base:.2f} {item.unit}'
        print(f'{item.name:52} {app:>14} {base:>14} {item.ratio:7.2f}  {item.target:22} {"yes" if item.met else "NO"}')
    print()


def bench_snapshot(work: Path, data_dir: Path) -> list[Figure]:
    """A local snapshot vs its parts done bare: SQLite's online backup of the database plus a hard link per blob."""
    import sqlite3

    from appliance.config import get_settings
    from appliance.modules import current_registry
    from console.backup.services import local_snapshots

    blob_root = data_dir / 'blobs'
    warm([data_dir / 'enclave.db'])
    began = time.perf_counter()
    source = sqlite3.connect(f'file:{data_dir / "enclave.db"}?mode=ro', uri=True)
    target = sqlite3.connect(work / 'bare-snapshot.db')
    source.backup(target, pages=4096)
    target.close()
    source.close()
    links = work / 'bare-links'
    for path in blob_root.rglob('*'):
        if path.is_file() and len(path.name) == 64:
            folder = links / path.parent.relative_to(blob_root)
            folder.mkdir(parents=True, exist_ok=True)
            os.link(path, folder / path.name)
    bare = time.perf_counter() - began
    shutil.rmtree(links)
    began = time.perf_counter()
    made = local_snapshots.take(settings=get_settings(), registry=current_registry(), actor=BENCH)
    app = time.perf_counter() - began
    began = time.perf_counter()
    proven = local_snapshots.prove(settings=get_settings(), actor=BENCH, snapshot_id=made.id)
    proof = time.perf_counter() - began
    assert proven.proof == 'ok', proven.findings
    print(
        f'snapshot: app {app:.2f} s ({made.blob_files:,} blobs pinned, {made.database_bytes / 1e6:.0f} MB database '
        f'copy), bare copy + links {bare:.2f} s; proving it (every blob hashed) {proof:.2f} s'
    )
    local_snapshots.delete(settings=get_settings(), actor=BENCH, snapshot_id=made.id)
    return [
        Figure('local snapshot', app, bare, 's', app / bare, 'app <= 1.5x copy + links', app <= 1.5 * bare),
        Figure('local snapshot, absolute', app, 10.0, 's', app / 10.0, 'under 10 s', app < 10.0),
    ]


def bench_upgrade(work: Path) -> list[Figure]:
    """The root helper's upgrade without a migration, and its rollback after a failed one, on the box as seeded, in
    a folder standing in for /opt/enclave (tests/console/upgrade_support.py); baseline: a bare restart of the app
    (stop, start, /healthz answers) in the same place."""
    from tests.console.upgrade_support import installed

    box = installed(work / 'upgrade-root', deadline_seconds=300)
    try:
        began = time.perf_counter()
        box.service('stop')
        box.service('start')
        while not box.answers():
            time.sleep(0.1)
        restart = time.perf_counter() - began
        box.ask(action='upgrade', bundle=box.bundle('0.2.0'), by='bench')
        began = time.perf_counter()
        box.helper()
        whole = time.perf_counter() - began
        upgraded = box.history()[-1]
        assert upgraded['state'] == 'done', upgraded
        box.ask(action='upgrade', bundle=box.bundle('0.3.0', broken=True), by='bench')
        box.helper()
        failed = box.history()[-1]
        assert failed['state'] == 'rolled_back', failed
    finally:
        box.service('stop')
    downtime, rollback = float(upgraded['downtime_seconds']), float(failed['rollback_seconds'])  # type: ignore[arg-type]
    print(
        f'upgrade: {whole:.1f} s in all, Enclave unavailable {downtime:.1f} s (a bare restart: {restart:.1f} s); '
        f'rollback after a failed migration {rollback:.1f} s'
    )
    return [
        Figure(
            'upgrade downtime, no migration', downtime, restart, 's', downtime / restart, 'under 30 s', downtime < 30
        ),
        Figure(
            'rollback after a failed migration', rollback, restart, 's', rollback / restart, 'under 60 s', rollback < 60
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--backup-mib', type=int, default=int(os.environ.get('ENCLAVE_BENCH_BACKUP_MIB', '1024')))
    parser.add_argument('--tasks', type=int, default=20_000)
    parser.add_argument('--projects', type=int, default=50)
    parser.add_argument('--big', type=int, default=1_000)
    parser.add_argument('--runs', type=int, default=20, help='idle GETs per page')
    parser.add_argument(
        '--no-scheduled',
        action='store_true',
        help="skip the page figure during the scheduler's backup (it waits for the scheduler's first tick, ~60 s)",
    )
    parser.add_argument('--no-upgrade', action='store_true', help='skip the upgrade and rollback figures')
    args = parser.parse_args()
    if shutil.which('restic') is None:
        sys.exit('restic is not installed: run `make test-system-deps` (Debian package "restic").')

    work = Path(tempfile.mkdtemp(prefix='enclave-bench-backup-', dir=disk_temp_root()))
    data_dir = work / 'data'
    data_dir.mkdir()
    try:
        began = time.perf_counter()
        seeded = prepare(data_dir, args.tasks, args.projects, args.big)
        blobs = seed_files(seeded, args.backup_mib * MIB)
        database = (data_dir / 'enclave.db').stat().st_size
        print(
            f'seeded {seeded.tasks:,} tasks ({database / 1e6:.0f} MB database) and {blobs.files:,} attachments '
            f'({blobs.bytes / 1e6:.0f} MB) in {time.perf_counter() - began:.1f} s under {work}'
        )
        figures = bench_backups(work, data_dir, seeded, blobs.bytes)
        figures += bench_snapshot(work, data_dir)
        figures += [] if args.no_upgrade else bench_upgrade(work)
        figures += bench_pages(work, data_dir, seeded, args.runs, scheduled=not args.no_scheduled)
        report(figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
