"""A real Enclave server in a subprocess, for the end-to-end and offline tests.

`start_server` runs `python -m appliance.main` on a free loopback port with its own data dir and waits (on a
wall-clock deadline) until GET /healthz answers 200. Its stdout and stderr go to `<data dir>/server.log`;
`LiveServer.log_text()` reads them for failure messages. `stop()` ends only the process it started.

Arranging data through the services (`server_database`) points the process-wide database of *this* process at
the server's SQLite file for the duration of a `with` block and restores the previous one afterwards, so the
per-test database of tests/conftest.py is left as it was.

`python -m tests.livesrv` is `python -m appliance.main` with a Python audit hook that logs every attempt to reach
another host (socket connect/sendto to a non-loopback address, any name lookup but localhost); see
`start_server(network_audit=True)` and `outbound_attempts`.
"""

from __future__ import annotations

import ipaddress
import os
import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent
HOST = '127.0.0.1'
NETWORK_AUDIT_MARK = 'ENCLAVE-OUTBOUND'
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_client(base_url: str, *, timeout: float = 10.0) -> httpx.Client:
    """An HTTP client that ignores proxy settings from the environment (everything here is loopback)."""
    return httpx.Client(base_url=base_url, trust_env=False, timeout=timeout)


@dataclass
class LiveServer:
    """A running `python -m appliance.main`."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float = 0.0
    _log_handle: IO[bytes] | None = field(default=None, repr=False)
    socket: Path | None = None  # listening on this Unix socket instead of the port (as behind the appliance's nginx)
    workers: int = 1  # app processes under `enclave serve` (appliance.workers)

    def worker_addresses(self) -> list[tuple[Path | None, int]]:
        """Each worker's socket (None on TCP) and port, as `appliance.workers.addresses` numbers them."""
        if self.workers == 1:
            return [(self.socket, self.port)]
        if self.socket is not None:
            return [
                (self.socket.with_name(f'{self.socket.stem}-{n}{self.socket.suffix}'), self.port)
                for n in range(1, self.workers + 1)
            ]
        return [(None, self.port + n) for n in range(self.workers)]

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f'http://{HOST}:{self.port}'

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the server's SQLite database."""
        return f'sqlite:///{self.data_dir / "enclave.db"}'

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors='replace')
        except OSError as error:
            return f'<no server log: {error}>'

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """terminate → wait → kill, for this process only."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        (self.data_dir / 'reserve').unlink(missing_ok=True)  # the 64 MiB disk reserve: not kept with test dirs


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """The server's environment: its own data dir, config and port; no scheduler, no proxies, no pytest markers."""
    # PYTEST_CURRENT_TEST would make NiceGUI believe it runs under its own test harness (fixed port, no gzip).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(('ENCLAVE_', 'NICEGUI_', 'PYTEST_'))
        and key.lower() not in {'http_proxy', 'https_proxy', 'all_proxy'}
    }
    env.update(
        {
            'ENCLAVE_DATA_DIR': str(data_dir),
            'ENCLAVE_CONFIG': str(data_dir / 'enclave.toml'),
            'ENCLAVE_PORT': str(port),
            'ENCLAVE_HOST': HOST,
            'ENCLAVE_MIGRATE_ON_START': '1',
            'ENCLAVE_SCHEDULER_ENABLED': 'false',
            'NICEGUI_STORAGE_PATH': str(data_dir / 'nicegui'),
            'PYTHONUNBUFFERED': '1',
            'NO_PROXY': '*',
            'no_proxy': '*',
        }
    )
    return env


def start_server(
    data_dir: Path,
    *,
    port: int | None = None,
    timeout: float = START_TIMEOUT,
    network_audit: bool = False,
    env: dict[str, str] | None = None,
    socket: Path | None = None,
    module: str = '',
    workers: int = 1,
) -> LiveServer:
    """Start the server and wait until /healthz says ok; raise RuntimeError with the server's log otherwise.

    With `network_audit`, the server runs under `python -m tests.livesrv`, which installs `install_network_audit`
    and then runs `appliance.main` exactly as `-m` would: every attempt to reach another host is logged.
    `env` overrides `server_env` (e.g. ENCLAVE_SCHEDULER_ENABLED=true). With `socket`, the server listens on that
    Unix socket only (ENCLAVE_SOCKET), as the appliance's app does behind nginx. `module` runs another entry module
    that in turn runs `appliance.main` (as tests.bench.sqltrace does, to record the SQL a page runs).
    With `workers` > 1 it runs `enclave serve` as the appliance does: a supervisor and that many workers (on
    numbered sockets, or on `port` and the ports after it); it is healthy once every worker is.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = data_dir / 'server.log'
    handle = log_path.open('wb')
    began = time.monotonic()
    command = [sys.executable, '-m', module or ('tests.livesrv' if network_audit else 'appliance.main')]
    extra: dict[str, str] = {}
    if workers > 1:
        command = [sys.executable, '-m', 'appliance.cli', 'serve']
        if network_audit:  # every process of the tree, the supervisor's workers too, through sitecustomize
            extra['PYTHONPATH'] = os.pathsep.join([str(AUDIT_SITE), str(REPO)])
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={
            **server_env(data_dir, port),
            **({'ENCLAVE_SOCKET': str(socket)} if socket else {}),
            'ENCLAVE_WORKERS': str(workers),
            **extra,
            **(env or {}),
        },
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(
        data_dir=data_dir,
        port=port,
        process=process,
        log_path=log_path,
        _log_handle=handle,
        socket=socket,
        workers=workers,
    )
    try:
        _wait_until_healthy(server, began + timeout)
    except BaseException:
        server.stop()  # never leave a server behind, whatever went wrong (Ctrl-C included)
        raise
    server.started_in = time.monotonic() - began
    return server


def wait_until_healthy(server: LiveServer, timeout: float = START_TIMEOUT) -> None:
    """Until every worker of `server` answers /healthz with 200 (e.g. after the supervisor restarted some)."""
    _wait_until_healthy(server, time.monotonic() + timeout)


def _wait_until_healthy(server: LiveServer, deadline: float) -> None:
    for path, port in server.worker_addresses():
        _wait_until_worker_healthy(server, path, port, deadline)


def _wait_until_worker_healthy(server: LiveServer, path: Path | None, port: int, deadline: float) -> None:
    last_error = 'no answer yet'
    transport = httpx.HTTPTransport(uds=str(path)) if path else None
    base_url = f'http://{HOST}:{port}'
    with httpx.Client(base_url=base_url, trust_env=False, timeout=2.0, transport=transport) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                raise RuntimeError(
                    f'The server exited with code {server.process.returncode} before it was healthy.\n'
                    f'--- server log ---\n{server.log_text()}'
                )
            try:
                response = client.get('/healthz')
                if response.status_code == 200:
                    return
                last_error = f'/healthz answered {response.status_code}: {response.text[:200]}'
            except httpx.HTTPError as error:
                last_error = repr(error)
            time.sleep(0.1)
    raise RuntimeError(
        f'The server was not healthy in time (last: {last_error}).\n--- server log ---\n{server.log_text()}'
    )


@contextmanager
def running_server(
    data_dir: Path, *, timeout: float = START_TIMEOUT, network_audit: bool = False
) -> Iterator[LiveServer]:
    """`start_server` … `stop`, also when the body fails."""
    server = start_server(data_dir, timeout=timeout, network_audit=network_audit)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def server_database(data_dir: Path) -> Iterator[None]:
    """Point this process's database and settings at the server's data dir; restore both afterwards.

    The module registry must know the core's permissions (tests/conftest.py registers it for each test).
    """
    from appliance.config import get_settings
    from appliance.core_module import CORE
    from appliance.db import get_database, init_database
    from appliance.modules import current_registry

    if current_registry().get(CORE.name) is None:  # outside pytest (the offline probe): permissions need the core
        current_registry().register(CORE)

    try:
        previous_url: str | None = get_database().url
    except RuntimeError:
        previous_url = None
    saved_env = {key: os.environ.get(key) for key in ('ENCLAVE_DATA_DIR', 'ENCLAVE_CONFIG')}
    os.environ['ENCLAVE_DATA_DIR'] = str(data_dir)
    os.environ['ENCLAVE_CONFIG'] = str(data_dir / 'enclave.toml')
    get_settings.cache_clear()
    init_database(f'sqlite:///{data_dir / "enclave.db"}')
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        if previous_url is not None:
            init_database(previous_url)
        else:
            get_database().dispose()


def complete_setup(
    data_dir: Path, *, org_name: str, username: str, display_name: str, password: str, language: str = 'en'
) -> None:
    """Run the first-run wizard's service against the server's database."""
    from appliance.db import get_database
    from appliance.services import accounts

    with server_database(data_dir), get_database().session() as session:
        accounts.complete_setup(
            session=session,
            org_name=org_name,
            language=language,
            username=username,
            display_name=display_name,
            email='',
            password=password,
        )


def create_user(
    data_dir: Path,
    *,
    admin: str,
    username: str,
    display_name: str,
    password: str,
    roles: list[str] | None = None,
    language: str = '',
) -> None:
    """Create an account as the admin `admin`, through the service (permission check and audit included)."""
    from appliance.db import get_database
    from appliance.services import accounts

    with server_database(data_dir), get_database().session() as session:
        actor = accounts.find_user(session, admin)
        assert actor is not None, f'no user {admin!r}'
        accounts.create_user(
            session=session,
            actor=actor,
            username=username,
            display_name=display_name,
            password=password,
            roles=roles,
            language=language,
        )


def login_ticket(data_dir: Path, *, username: str, password: str) -> str:
    """A one-time sign-in ticket, exactly as the login page gets one."""
    from appliance.db import get_database
    from appliance.services import auth

    with server_database(data_dir), get_database().session() as session:
        return auth.authenticate(session=session, username=username, password=password, ip=HOST)


def create_api_token(data_dir: Path, *, username: str, name: str = 'test') -> str:
    """A personal access token of `username` (the secret, shown once)."""
    from appliance.db import get_database
    from appliance.services import accounts, tokens

    with server_database(data_dir), get_database().session() as session:
        actor = accounts.find_user(session, username)
        assert actor is not None, f'no user {username!r}'
        return tokens.create_token(session=session, actor=actor, name=name)[1]


def sign_in(client: httpx.Client, data_dir: Path, *, username: str, password: str, next_path: str = '/') -> None:
    """Give `client` a session cookie through the ticket route (sign-in itself is a websocket action)."""
    ticket = login_ticket(data_dir, username=username, password=password)
    response = client.get(f'/auth/session?ticket={quote(ticket)}&next={quote(next_path)}', follow_redirects=False)
    assert response.status_code == 303, f'/auth/session answered {response.status_code}'
    assert response.headers.get('location') == next_path, response.headers.get('location')
    assert 'enclave_session' in client.cookies, 'the ticket exchange set no session cookie'


# ---- who tries to reach another host? -------------------------------------------------------------------------


def _is_local(host: object) -> bool:
    if host is None:
        return True
    name = host.decode(errors='replace') if isinstance(host, bytes) else str(host)
    name = name.strip('[]').split('%')[0]
    if name in {'', 'localhost'}:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name to resolve: asking DNS is already reaching out
    return address.is_loopback or address.is_unspecified


def install_network_audit() -> None:
    """Log every socket connect/sendto/name lookup aimed at another host to stderr, marked NETWORK_AUDIT_MARK.

    A Python audit hook: it sees everything the interpreter's socket module does (not C libraries' own sockets).
    """

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in {'socket.connect', 'socket.sendto'} and isinstance(args[1], tuple):
            detail: object = args[1]
            host: object = args[1][0]
        elif event in {'socket.getaddrinfo', 'socket.gethostbyname', 'socket.gethostbyname_ex'}:
            detail = host = args[0]
        else:
            return
        if not _is_local(host):
            sys.stderr.write(f'{NETWORK_AUDIT_MARK} {event} {detail!r}\n')
            sys.stderr.flush()

    sys.addaudithook(hook)


AUDIT_SITE = Path(__file__).parent / 'support' / 'network_audit_site'
"""A folder whose sitecustomize.py installs the audit in every Python process started with it on PYTHONPATH."""


def outbound_attempts(log: str) -> list[str]:
    """The attempts `install_network_audit` logged."""
    return [line for line in log.splitlines() if line.startswith(NETWORK_AUDIT_MARK)]


if __name__ == '__main__':
    install_network_audit()
    runpy.run_module('appliance.main', run_name='__main__', alter_sys=True)
