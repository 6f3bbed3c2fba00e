"""Several app processes on one box: `enclave serve` with `workers` > 1 supervises them.

Each worker is a whole Enclave (its own event loop, database pool and NiceGUI clients) on its own address: the
socket `/run/enclave/app.sock` becomes `/run/enclave/app-1.sock`, `app-2.sock`, ...; a TCP port P becomes P, P+1,
... The proxy in front keeps each browser on one worker, because a page's WebSocket must reach the process that
built the page: the appliance's nginx hashes a cookie it sets itself (`proxy_upstream` writes its upstream block).

The supervisor holds the data dir's server lock, starts the workers, restarts one that dies (backing off when it
dies again at once), restarts them all, one after the other, on SIGHUP (after a restore, `systemctl reload enclave`)
and stops them on SIGTERM or SIGINT. A worker dies with its supervisor (PR_SET_PDEATHSIG). Jobs run in one worker
only: see `appliance.leader`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Settings

log = logging.getLogger('enclave.workers')

SUPERVISOR_ENV = 'ENCLAVE_SUPERVISOR_PID'
WORKER_ENV = 'ENCLAVE_WORKER'
STOP_SECONDS = 25.0  # a worker's clean stop (the unit allows 30 s for all)
READY_SECONDS = 120.0  # a worker's start: imports, the app's build, listening
QUICK_DEATH_SECONDS = 30.0  # a worker that dies this soon after starting counts towards giving up
GIVE_UP_AFTER = 5  # quick deaths in a row of one worker: the supervisor stops (systemd starts it all again later)
POLL_SECONDS = 0.2
UPSTREAM_NAME = 'enclave_app'
ROUTE_COOKIE = 'enclave_route'


@dataclass(frozen=True)
class Address:
    """Where one worker listens: a Unix socket, else 127.0.0.1-or-host:port."""

    index: int
    socket: str
    host: str
    port: int

    def env(self) -> dict[str, str]:
        """The settings a worker is started with (environment variables win over the TOML file)."""
        return {'ENCLAVE_SOCKET': self.socket, 'ENCLAVE_PORT': str(self.port), WORKER_ENV: str(self.index)}

    def nginx_server(self) -> str:
        """This address in an nginx `server` line."""
        return f'unix:{self.socket}' if self.socket else f'{self.host}:{self.port}'

    def accepts(self) -> bool:
        """Whether something accepts connections here."""
        family = socket.AF_UNIX if self.socket else socket.AF_INET
        wildcard = self.host in ('0.0.0.0', '::', '')  # noqa: S104 - probing, not binding
        target: str | tuple[str, int] = self.socket or ('127.0.0.1' if wildcard else self.host, self.port)
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(target)
            except OSError:
                return False
        return True


def addresses(settings: Settings) -> list[Address]:
    """Each worker's address. One worker listens where the settings say; more get numbered sockets or ports."""
    count = settings.worker_count
    if count == 1:
        return [Address(1, settings.socket, settings.host, settings.port)]
    found = []
    for index in range(1, count + 1):
        if settings.socket:
            path = Path(settings.socket)
            numbered = str(path.with_name(f'{path.stem}-{index}{path.suffix}'))
            found.append(Address(index, numbered, settings.host, settings.port))
        else:
            found.append(Address(index, '', settings.host, settings.port + index - 1))
    return found


def proxy_upstream(settings: Settings) -> str:
    """nginx's `upstream` block for these settings: every worker, and each browser kept on one of them.

    nginx's userid module gives every browser a random cookie on its first request; `$uid_got$uid_set` is that
    cookie on every request, the first included (`$uid_set` is what nginx is setting, `$uid_got` what came back), so
    a page and its WebSocket hash alike. A client without cookies (the REST API with a token) is spread out.

    `max_fails=0`: a worker that does not answer (starting, or being restarted) is passed over for the next one on
    each request, and never struck off. With nginx's default (one failure disables a server for 10 s, counted
    separately in each nginx process) a box whose workers had all been down answered "502, no live upstreams" for
    up to 10 s after the first of them was back. A refused connection on a Unix socket costs microseconds.
    """
    servers = '\n'.join(f'    server {address.nginx_server()} max_fails=0;' for address in addresses(settings))
    return (
        f'# Written by `enclave proxy-config` from the settings (workers = {settings.worker_count}); do not edit:\n'
        '# change `workers` in enclave.toml and restart enclave, which writes this again and reloads nginx.\n'
        f'upstream {UPSTREAM_NAME} {{\n    hash $uid_got$uid_set consistent;\n{servers}\n}}\n'
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


@dataclass
class _Worker:
    address: Address
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    due: float = 0.0  # when a dead worker is started again


@dataclass
class Supervisor:
    """Starts, watches and stops the workers. `command` is the worker's argv (the index is appended)."""

    settings: Settings
    command: list[str]
    workers: list[_Worker] = field(default_factory=list)
    _stopping: bool = False
    _restart_all: bool = False
    _reopen: bool = False

    def __post_init__(self) -> None:
        self.workers = [_Worker(address) for address in addresses(self.settings)]

    def _start(self, worker: _Worker) -> None:
        env = {**os.environ, **worker.address.env(), SUPERVISOR_ENV: str(os.getpid())}
        if worker.address.socket:
            Path(worker.address.socket).unlink(missing_ok=True)  # a killed worker's socket file stays behind
        worker.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*self.command, str(worker.address.index)], env=env, preexec_fn=_die_with_parent
        )
        worker.started = time.monotonic()
        log.info(
            'worker %d started (pid %d) on %s', worker.address.index, worker.process.pid, worker.address.nginx_server()
        )

    def _stop(self, worker: _Worker) -> None:
        process = worker.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning('worker %d did not stop within %d s: killed', worker.address.index, STOP_SECONDS)
            process.kill()
            process.wait()

    def _wait_ready(self, worker: _Worker) -> bool:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and not self._stopping:
            if worker.process is None or worker.process.poll() is not None:
                return False
            if worker.address.accepts():
                return True
            time.sleep(POLL_SECONDS)
        return False

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self._restart_all = True
        elif signum == signal.SIGUSR1:
            self._reopen = True
        else:
            self._stopping = True

    def _rolling_restart(self) -> None:
        """Each worker in turn, the next once the new one listens: the others serve meanwhile."""
        self._restart_all = False
        log.info('restarting the %d workers one after the other', len(self.workers))
        for worker in self.workers:
            if self._stopping:
                return
            self._stop(worker)
            self._start(worker)
            if not self._wait_ready(worker):
                log.error('worker %d did not come back after the restart', worker.address.index)

    def _reopen_all(self) -> None:
        """After a restore swapped the data: every worker but the one that restored (it reopened the data itself
        and serves on; the proxy sends the others' browsers to it meanwhile) is stopped, then maintenance mode is
        lifted and they are started again on the restored data."""
        from appliance.web import maintenance

        self._reopen = False
        owner, _reason = maintenance.read_flag(self.settings.data_dir / maintenance.FLAG_NAME)
        others = [w for w in self.workers if w.process is None or w.process.pid != owner]
        log.info('restarting %d of %d workers on the restored data', len(others), len(self.workers))
        for worker in others:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        for worker in others:
            self._stop(worker)
        maintenance.clear_flag(self.settings.data_dir)
        for worker in others:
            self._start(worker)
            worker.quick_deaths = 0

    def _watch(self, worker: _Worker, now: float) -> bool:
        """Start a dead worker again when it is due; False when it keeps dying (give up)."""
        if self._stopping:  # systemd stops the whole group: a worker that ended is not to be started again
            return True
        process = worker.process
        if process is not None and process.poll() is None:
            if now - worker.started > QUICK_DEATH_SECONDS:
                worker.quick_deaths = 0
            return True
        if process is not None:
            quick = now - worker.started < QUICK_DEATH_SECONDS
            worker.quick_deaths = worker.quick_deaths + 1 if quick else 0
            if worker.quick_deaths >= GIVE_UP_AFTER:
                log.error(
                    'worker %d died %d times just after starting: stopping', worker.address.index, worker.quick_deaths
                )
                return False
            delay = min(30.0, 2.0**worker.quick_deaths - 1)
            log.error(
                'worker %d (pid %d) ended with status %s; starting it again in %.0f s',
                worker.address.index,
                process.pid,
                process.returncode,
                delay,
            )
            worker.process = None
            worker.due = now + delay
        if now >= worker.due:
            self._start(worker)
        return True

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Serve until SIGTERM/SIGINT (0), or until a worker keeps dying (1)."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(signum, self._on_signal)
        for worker in self.workers:
            self._start(worker)
        if all(self._wait_ready(worker) for worker in self.workers) and on_ready is not None:
            on_ready()
        status = 0
        while not self._stopping:
            if self._reopen:
                self._reopen_all()
            if self._restart_all:
                self._rolling_restart()
            now = time.monotonic()
            if not all(self._watch(worker, now) for worker in self.workers):
                status = 1
                break
            time.sleep(POLL_SECONDS)
        log.info('stopping the workers')
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        for worker in self.workers:
            self._stop(worker)
        return status


def worker_command() -> list[str]:
    """How the supervisor starts a worker: this interpreter, the `enclave` command, `serve --worker N`."""
    return [sys.executable, '-m', 'appliance.cli', 'serve', '--no-migrate', '--worker']


def reopen_all_workers() -> bool:
    """Ask the supervisor, if this process is a worker, to restart the other workers (a restore swapped the data
    under them; this one reopened it). False when there is no supervisor (one process: nothing else to restart)."""
    supervisor = os.environ.get(SUPERVISOR_ENV, '')
    if not supervisor.isdigit() or int(supervisor) != os.getppid():
        return False
    os.kill(int(supervisor), signal.SIGUSR1)
    return True
