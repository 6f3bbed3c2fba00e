"""Several app processes (issue 13, item 4): the supervisor under `enclave serve`, the scheduler's one leader,
maintenance mode and the log file shared by the workers. Real processes, real sockets, real files."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from typer.testing import CliRunner

from appliance import leader, logs, workers
from appliance.cli import app as cli
from appliance.config import Settings
from appliance.web import maintenance
from tests.conftest import PASSWORD
from tests.livesrv import HOST, complete_setup, create_api_token, free_port, http_client, start_server


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


# ---- addresses and nginx's upstream block ------------------------------------------------------------------------


def test_one_worker_listens_where_the_settings_say(tmp_path: Path) -> None:
    [only] = workers.addresses(settings(tmp_path, socket='/run/enclave/app.sock', workers=1))
    assert (only.socket, only.index) == ('/run/enclave/app.sock', 1)
    [tcp] = workers.addresses(settings(tmp_path, port=8080, workers=1))
    assert (tcp.socket, tcp.port) == ('', 8080)


def test_more_workers_get_numbered_sockets_or_the_next_ports(tmp_path: Path) -> None:
    found = workers.addresses(settings(tmp_path, socket='/run/enclave/app.sock', workers=3))
    assert [a.socket for a in found] == [f'/run/enclave/app-{n}.sock' for n in (1, 2, 3)]
    assert [a.port for a in workers.addresses(settings(tmp_path, port=9000, workers=2))] == [9000, 9001]


def test_automatic_means_a_worker_per_core_behind_the_proxy_and_one_on_a_bare_port(tmp_path: Path) -> None:
    assert settings(tmp_path, socket='/run/enclave/app.sock').worker_count == (os.cpu_count() or 1)
    assert settings(tmp_path).worker_count == 1
    assert settings(tmp_path, workers=3).worker_count == 3


@pytest.mark.parametrize('value', ['-1', '65', 'two'])
def test_a_bad_worker_count_is_refused_with_the_setting_named(tmp_path: Path, value: str) -> None:
    result = subprocess.run(
        [sys.executable, '-m', 'appliance.cli', 'proxy-config'],
        env={**os.environ, 'ENCLAVE_CONFIG': '/dev/null', 'ENCLAVE_WORKERS': value, 'ENCLAVE_DATA_DIR': str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert 'workers' in result.stderr and 'Traceback' not in result.stderr


def test_the_upstream_block_lists_every_worker_and_hashes_the_route_cookie(tmp_path: Path) -> None:
    block = workers.proxy_upstream(settings(tmp_path, socket='/run/enclave/app.sock', workers=2))
    assert 'upstream enclave_app {' in block
    assert 'hash $uid_got$uid_set consistent;' in block
    assert 'server unix:/run/enclave/app-1.sock max_fails=0;' in block
    assert 'server unix:/run/enclave/app-2.sock max_fails=0;' in block


def test_proxy_config_writes_the_file_only_when_it_changed_and_then_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.config import get_settings

    monkeypatch.setenv('ENCLAVE_CONFIG', '/dev/null')
    monkeypatch.setenv('ENCLAVE_SOCKET', '/run/enclave/app.sock')
    monkeypatch.setenv('ENCLAVE_WORKERS', '2')
    get_settings.cache_clear()
    target, reloads = tmp_path / 'upstream.conf', tmp_path / 'reloads'
    reload = f'sh -c "echo reloaded >> {reloads}"'
    runner = CliRunner()
    try:
        first = runner.invoke(cli, ['proxy-config', '--write', str(target), '--reload', reload])
        assert first.exit_code == 0, first.output
        assert 'app-2.sock' in target.read_text() and reloads.read_text() == 'reloaded\n'
        again = runner.invoke(cli, ['proxy-config', '--write', str(target), '--reload', reload])
        assert again.exit_code == 0 and reloads.read_text() == 'reloaded\n'  # unchanged: nginx left alone
        assert oct(target.stat().st_mode & 0o777) == '0o644'
        monkeypatch.setenv('ENCLAVE_WORKERS', '3')
        get_settings.cache_clear()
        runner.invoke(cli, ['proxy-config', '--write', str(target), '--reload', reload])
        assert 'app-3.sock' in target.read_text() and reloads.read_text() == 'reloaded\nreloaded\n'
        failed = runner.invoke(cli, ['proxy-config', '--write', str(tmp_path / 'other.conf'), '--reload', 'false'])
        assert failed.exit_code == 1 and 'false failed' in failed.output
    finally:
        get_settings.cache_clear()


# ---- the supervisor, with real processes -------------------------------------------------------------------------

SLEEPER = (
    'import os, signal, socket, sys, time\n'
    'path = os.environ["ENCLAVE_SOCKET"]\n'
    'listener = socket.socket(socket.AF_UNIX); listener.bind(path); listener.listen()\n'
    'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n'
    'open(path + ".pid", "w").write(str(os.getpid()))\n'
    'while True: time.sleep(0.1)\n'
)


class Running:
    """A Supervisor in a thread of this test, its workers small real processes that listen on their sockets."""

    def __init__(self, tmp_path: Path, command: list[str], count: int = 2) -> None:
        self.settings = settings(tmp_path, socket=str(tmp_path / 'app.sock'), workers=count)
        self.supervisor = workers.Supervisor(self.settings, command)
        self.status: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()

    def _run(self) -> None:
        self.status.append(self.supervisor.run(on_ready=self.ready.set))

    def pids(self) -> list[int]:
        return [w.process.pid if w.process is not None else 0 for w in self.supervisor.workers]

    def alive(self) -> list[bool]:
        return [w.process is not None and w.process.poll() is None for w in self.supervisor.workers]


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    # Signals go to the main thread only: the supervisor's handlers are called directly here.
    monkeypatch.setattr(signal, 'signal', lambda *_args: None)
    box = Running(tmp_path, [sys.executable, '-c', SLEEPER])
    box.thread.start()
    assert box.ready.wait(30), 'the workers did not listen'
    yield box
    box.supervisor._on_signal(signal.SIGTERM, None)
    box.thread.join(40)
    assert not box.thread.is_alive()


def wait_for(condition: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError('condition not met in time')


def test_it_starts_every_worker_on_its_socket(running: Running, tmp_path: Path) -> None:
    assert all(running.alive())
    assert all(address.accepts() for address in workers.addresses(running.settings))
    assert sorted(p.name for p in tmp_path.glob('app-*.sock')) == ['app-1.sock', 'app-2.sock']


def test_a_worker_that_dies_is_started_again_and_the_others_carry_on(running: Running) -> None:
    first, second = running.pids()
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: running.pids()[0] not in (0, first) and all(running.alive()))
    assert running.pids()[1] == second
    wait_for(lambda: workers.addresses(running.settings)[0].accepts())


def test_reload_restarts_every_worker_one_after_the_other(running: Running) -> None:
    before = running.pids()
    running.supervisor._on_signal(signal.SIGHUP, None)
    wait_for(lambda: all(new not in before for new in running.pids()) and all(running.alive()))


def test_after_a_restore_the_other_workers_restart_and_maintenance_ends_once_they_stopped(
    running: Running, tmp_path: Path
) -> None:
    restorer, other = running.pids()
    # What worker 1 leaves behind when it restored: the flag, handed over (maintenance.during → keep).
    (tmp_path / maintenance.FLAG_NAME).write_text(f'{restorer}\nA backup is being restored.')
    maintenance.use_data_dir(tmp_path)
    try:
        assert maintenance.active() == 'A backup is being restored.'  # in every other process
        running.supervisor._on_signal(signal.SIGUSR1, None)
        wait_for(lambda: running.pids()[1] != other and all(running.alive()))
        assert running.pids()[0] == restorer  # it reopened the data itself and served on
        assert not (tmp_path / maintenance.FLAG_NAME).exists()
    finally:
        maintenance._flag.clear()


def test_the_process_that_switched_maintenance_on_serves_once_it_handed_the_flag_over(tmp_path: Path) -> None:
    maintenance.use_data_dir(tmp_path)
    try:
        with maintenance.during('A backup is being restored.') as mode:
            assert maintenance.active() == 'A backup is being restored.'
            mode.keep()
        assert maintenance.read_flag(tmp_path / maintenance.FLAG_NAME) == (os.getpid(), 'A backup is being restored.')
        assert maintenance.active() == ''
    finally:
        maintenance._flag.clear()


def test_stop_ends_every_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signal, 'signal', lambda *_args: None)
    box = Running(tmp_path, [sys.executable, '-c', SLEEPER])
    box.thread.start()
    assert box.ready.wait(30)
    processes = [w.process for w in box.supervisor.workers]
    box.supervisor._on_signal(signal.SIGTERM, None)
    box.thread.join(40)
    assert box.status == [0]
    assert all(p is not None and p.poll() is not None for p in processes)


def test_it_gives_up_on_a_worker_that_dies_each_time_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signal, 'signal', lambda *_args: None)
    monkeypatch.setattr(workers, 'GIVE_UP_AFTER', 3)
    box = Running(tmp_path, [sys.executable, '-c', 'raise SystemExit(3)'], count=2)
    box.thread.start()
    box.thread.join(60)
    assert box.status == [1]


def test_a_worker_ends_when_its_supervisor_is_killed(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: no orphan keeps the socket (and the old code) after the supervisor dies."""
    script = (
        'import sys\n'
        'from appliance import workers\n'
        'from appliance.config import Settings\n'
        f's = Settings(data_dir={str(tmp_path)!r}, socket={str(tmp_path / "app.sock")!r}, workers=2)\n'
        f'sys.exit(workers.Supervisor(s, [sys.executable, "-c", {SLEEPER!r}]).run())\n'
    )
    supervisor = subprocess.Popen([sys.executable, '-c', script], cwd=Path(__file__).parents[2])
    try:
        pid_files = [tmp_path / 'app-1.sock.pid', tmp_path / 'app-2.sock.pid']
        wait_for(lambda: all(path.exists() and path.read_text() for path in pid_files), 30)
        children = [int(path.read_text()) for path in pid_files]
        supervisor.kill()
        supervisor.wait(10)

        def gone(pid: int) -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            # A zombie until init reaps it: dead all the same.
            return Path(f'/proc/{pid}/stat').read_text().split(')')[1].split()[0] == 'Z'

        wait_for(lambda: all(gone(pid) for pid in children), 10)
    finally:
        supervisor.kill()


# ---- one scheduler leader ----------------------------------------------------------------------------------------


def scheduler_with_a_job(runs: list[str], name: str) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone='UTC')
    scheduler.add_job(lambda: runs.append(name), 'interval', seconds=0.05, id='tick')
    return scheduler


def only_the_second_runs_jobs_now(second: leader.Leadership, runs: list[str]) -> None:
    second.turn()
    assert second.leading
    runs.clear()
    time.sleep(0.5)
    assert set(runs) == {'second'}


def test_only_the_holder_of_the_lock_runs_the_jobs_and_another_takes_over_when_it_goes(tmp_path: Path) -> None:
    runs: list[str] = []
    first = leader.Leadership(scheduler_with_a_job(runs, 'first'), leader.FileLock(tmp_path / 'scheduler.lock'))
    second = leader.Leadership(scheduler_with_a_job(runs, 'second'), leader.FileLock(tmp_path / 'scheduler.lock'))
    for one in (first, second):
        one.scheduler.start(paused=True)
    try:
        first.turn()
        second.turn()
        assert (first.leading, second.leading) == (True, False)
        time.sleep(0.5)
        assert 'first' in runs and 'second' not in runs
        first.stop()  # as when its process ends: the lock goes with it
        only_the_second_runs_jobs_now(second, runs)
    finally:
        first.stop()
        second.stop()


def test_a_dead_process_releases_the_file_lock(tmp_path: Path) -> None:
    path = tmp_path / 'scheduler.lock'
    holder = subprocess.Popen(
        [
            sys.executable,
            '-c',
            f'import fcntl, time; f = open({str(path)!r}, "a"); fcntl.flock(f, fcntl.LOCK_EX); '
            'print("held", flush=True); time.sleep(60)',
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b'held\n'
        lock = leader.FileLock(path)
        assert not lock.acquire()
        holder.kill()
        holder.wait(10)
        assert lock.acquire() and lock.held()
        assert path.read_text() == f'{os.getpid()}\n'
        lock.release()
    finally:
        holder.kill()


def test_the_lock_fits_the_database(tmp_path: Path) -> None:
    from appliance.db import get_database

    lock = leader.lock_for(get_database(), tmp_path)
    kind = get_database().engine.dialect.name
    assert isinstance(lock, leader.AdvisoryLock if kind == 'postgresql' else leader.FileLock)
    other = leader.lock_for(get_database(), tmp_path)
    try:
        assert lock.acquire() and lock.held()
        assert not other.acquire()  # a second process (or box) waits its turn
        lock.release()
        assert other.acquire()
    finally:
        lock.release()
        other.release()


# ---- maintenance mode and the log, shared by the workers ---------------------------------------------------------

HOLD_MAINTENANCE = (
    'import sys, time\n'
    'from pathlib import Path\n'
    'from appliance.web import maintenance\n'
    'maintenance.use_data_dir(Path(sys.argv[1]))\n'
    'with maintenance.during("Restoring."):\n'
    '    print("on", flush=True); sys.stdin.readline()\n'
)


def test_maintenance_switched_on_in_one_process_is_on_in_the_others(tmp_path: Path) -> None:
    maintenance.use_data_dir(tmp_path)
    other = subprocess.Popen(
        [sys.executable, '-c', HOLD_MAINTENANCE, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == b'on\n'
        assert maintenance.active() == 'Restoring.'
        assert other.stdin is not None
        other.stdin.write(b'\n')
        other.stdin.flush()
        assert other.wait(10) == 0
        assert maintenance.active() == ''
    finally:
        other.kill()
        maintenance._flag.clear()


def test_a_stale_maintenance_flag_is_lifted_by_the_next_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / maintenance.FLAG_NAME).write_text('Restoring.')
    with caplog.at_level(logging.WARNING, 'enclave.maintenance'):
        maintenance.clear_flag(tmp_path, stale=True)
    assert not (tmp_path / maintenance.FLAG_NAME).exists()
    assert 'left on' in caplog.text


def test_workers_share_the_log_file_and_rotate_it_once(tmp_path: Path) -> None:
    """Two handlers on one file (as two workers have): every line lands exactly once, and each rotation is done by
    one of them, never twice in a row (which would push a fresh file into the history and lose the older ones)."""
    path = tmp_path / 'enclave.log'
    handlers = [logs.LogFileHandler(path, maxBytes=20_000, backupCount=50) for _ in range(2)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter('%(message)s'))
    try:
        for number in range(2_000):
            record = logging.makeLogRecord({'msg': f'line {number:05d} ' + 'x' * 40, 'levelno': logging.INFO})
            handlers[number % 2].emit(record)
    finally:
        for handler in handlers:
            handler.close()
    files = [path, *sorted(tmp_path.glob('enclave.log.[0-9]*'))]
    lines = [line for file in files for line in file.read_text().splitlines()]
    assert sorted(lines) == sorted(f'line {n:05d} ' + 'x' * 40 for n in range(2_000))
    assert all(file.stat().st_size < 2 * 20_000 for file in files)
    assert len(files) <= 2 * 2_000 * 50 // 20_000 + 1


# ---- the real thing: `enclave serve` with two workers ------------------------------------------------------------


def test_two_workers_serve_one_box_and_one_of_them_runs_the_jobs(tmp_path: Path) -> None:
    data = tmp_path / 'box'
    port = free_port()
    while any(_in_use(p) for p in (port, port + 1)):
        port = free_port()
    server = start_server(data, port=port, workers=2, env={'ENCLAVE_SCHEDULER_ENABLED': 'true'}, timeout=180)
    try:
        complete_setup(data, org_name='Acme', username='alice', display_name='Alice', password=PASSWORD)
        token = {'Authorization': f'Bearer {create_api_token(data, username="alice")}'}
        with http_client(f'http://{HOST}:{port}') as one, http_client(f'http://{HOST}:{port + 1}') as two:
            assert (one.get('/healthz').json()['worker'], two.get('/healthz').json()['worker']) == (1, 2)
            made = one.post('/api/v1/projects', json={'name': 'Made on one', 'key': 'ONE'}, headers=token)
            assert made.status_code == 201, made.text
            listed = two.get('/api/v1/projects', headers=token)
            assert 'Made on one' in listed.text  # one database, whichever worker answers
        wait_for(lambda: 'runs the scheduled jobs' in _log(data), 60)
        leaders = [line for line in _log_lines(data) if 'runs the scheduled jobs' in line]
        assert len(leaders) == 1
        first_leader = int(leaders[0].split('process ')[1].split()[0])
        os.kill(first_leader, signal.SIGKILL)
        wait_for(lambda: len([ln for ln in _log_lines(data) if 'runs the scheduled jobs' in ln]) == 2, 60)
        wait_for(lambda: _all_healthy(port), 120)  # the killed worker is back
    finally:
        server.stop(timeout=40)
    assert server.process.returncode in (0, -15), server.log_text()


def _in_use(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def _log_lines(data: Path) -> list[str]:
    path = data / 'logs' / 'enclave.log'
    if not path.exists():
        return []
    return [json.loads(line)['message'] for line in path.read_text().splitlines() if line.strip()]


def _log(data: Path) -> str:
    return '\n'.join(_log_lines(data))


def _all_healthy(port: int) -> bool:
    try:
        return all(
            httpx.get(f'http://{HOST}:{p}/healthz', timeout=2, trust_env=False).status_code == 200
            for p in (port, port + 1)
        )
    except httpx.HTTPError:
        return False


def test_a_holder_that_lost_its_lock_pauses_its_jobs_and_another_takes_over(tmp_path: Path) -> None:
    """On PostgreSQL the server ends the holder's connection (a restart, a network cut); on SQLite the holder's
    process dies (the test above). Either way the lock is free for another, and the old holder knows it lost it."""
    from sqlalchemy import text

    from appliance.db import get_database

    database = get_database()
    runs: list[str] = []
    first = leader.Leadership(scheduler_with_a_job(runs, 'first'), leader.lock_for(database, tmp_path))
    second = leader.Leadership(scheduler_with_a_job(runs, 'second'), leader.lock_for(database, tmp_path))
    for one in (first, second):
        one.scheduler.start(paused=True)
    try:
        first.turn()
        assert first.leading
        if database.engine.dialect.name == 'postgresql':
            lock = first.lock
            assert isinstance(lock, leader.AdvisoryLock) and lock._connection is not None
            pid = lock._connection.execute(text('SELECT pg_backend_pid()')).scalar()
            with database.engine.connect() as admin:
                admin.execute(text('SELECT pg_terminate_backend(:pid)'), {'pid': pid})
                admin.commit()
        else:
            assert isinstance(first.lock, leader.FileLock)
            first.lock.release()  # what the kernel does for a process that died
        first.turn()
        assert not first.leading
        only_the_second_runs_jobs_now(second, runs)
    finally:
        first.stop()
        second.stop()
