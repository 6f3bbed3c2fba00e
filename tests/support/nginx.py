"""The appliance's nginx site (provisioning/nginx/enclave.conf) run by the Debian nginx on loopback ports, in front
of live workers: for the proxy tests and the mixed-load benchmark. Only the listen lines, the upstream file and the
certificate paths are moved; everything else is the shipped site."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import livesrv

SITE = livesrv.REPO / 'provisioning' / 'nginx' / 'enclave.conf'


def certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1, as server.crt/server.key and as the CA nginx serves at /ca.crt."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'enclave test')])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir()
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / 'server.crt').write_bytes(pem)
    (folder / 'ca.crt').write_bytes(pem)
    (folder / 'server.key').write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def site(upstream: Path, tls: Path, http_port: int, https_port: int) -> str:
    """The shipped site, moved to loopback ports, this test's upstream block and certificate; nothing else changed."""
    text = SITE.read_text()
    moves = {
        'listen 80 default_server;': f'listen 127.0.0.1:{http_port} default_server;',
        'listen [::]:80 default_server;': '',
        'listen 443 ssl http2 default_server;': f'listen 127.0.0.1:{https_port} ssl http2 default_server;',
        'listen [::]:443 ssl http2 default_server;': '',
        '/etc/enclave/nginx-upstream.conf': str(upstream),
        '/etc/enclave/tls/': f'{tls}/',
        '/opt/enclave/current/provisioning/nginx/': f'{SITE.parent}/',
    }
    for old, new in moves.items():
        assert old in text, f'{SITE} no longer has {old!r}: update this test'
        text = text.replace(old, new)
    return text


def main_conf(folder: Path, processes: int = 1) -> Path:
    """nginx.conf around the site, everything under `folder` (as root the workers stay root to reach the socket);
    `processes` nginx workers (the appliance has one per core)."""
    temp = ''.join(
        f'    {kind}_temp_path {folder / kind};\n' for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi')
    )
    user = 'user root root;\n' if os.geteuid() == 0 else ''
    conf = folder / 'nginx.conf'
    conf.write_text(
        f'{user}worker_processes {processes};\npid {folder / "nginx.pid"};\nerror_log {folder / "error.log"};\n'
        f'events {{ worker_connections 1024; }}\n'
        f'http {{\n    access_log {folder / "access.log"};\n{temp}    include {folder / "site.conf"};\n}}\n'
    )
    return conf


def wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, 'nginx exited'
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f'nginx did not listen on {port} in time')


def upstream_block(app_socket: Path, workers: int) -> str:
    """What `enclave proxy-config` writes for `workers` workers on numbered `app_socket`s."""
    return subprocess.run(
        [sys.executable, '-m', 'appliance.cli', 'proxy-config'],
        env={
            **os.environ,
            'ENCLAVE_CONFIG': '/dev/null',
            'ENCLAVE_SOCKET': str(app_socket),
            'ENCLAVE_WORKERS': str(workers),
        },
        capture_output=True,
        text=True,
        check=True,
        cwd=livesrv.REPO,
    ).stdout


def prepare(folder: Path, app_socket: Path, workers: int, processes: int = 1) -> tuple[list[str], int]:
    """nginx's folder (temp paths, certificate, site, upstream): (argv without -g, the HTTPS port)."""
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    assert Path(nginx).exists(), 'nginx is missing: make test-system-deps installs it (Debian package nginx)'
    for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'):
        (folder / kind).mkdir(exist_ok=True)
    certificate(folder / 'tls')
    http_port, https_port = livesrv.free_port(), livesrv.free_port()
    (folder / 'upstream.conf').write_text(upstream_block(app_socket, workers))
    (folder / 'site.conf').write_text(site(folder / 'upstream.conf', folder / 'tls', http_port, https_port))
    conf = main_conf(folder, processes)
    return [nginx, '-p', str(folder), '-c', str(conf), '-e', str(folder / 'error.log')], https_port


@contextmanager
def running(argv: list[str], https_port: int) -> Iterator[str]:
    """nginx in the foreground until the body ends: the HTTPS base URL."""
    with subprocess.Popen([*argv, '-g', 'daemon off;'], stderr=subprocess.DEVNULL) as proxy:
        try:
            wait_for_port(https_port, proxy, time.monotonic() + 30)
            yield f'https://127.0.0.1:{https_port}'
        finally:
            proxy.terminate()
            proxy.wait(timeout=30)
