"""The appliance's service units and first-boot script, checked on this machine: the app unit's exposure as
`systemd-analyze security` scores it, and a first boot run twice in a folder that stands in for the root."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / 'systemd'
FIRSTBOOT = REPO / 'provisioning' / 'firstboot.sh'


def exposure(unit: Path) -> float:
    analyze = shutil.which('systemd-analyze')
    assert analyze, 'systemd-analyze is missing: install the Debian package "systemd"'
    result = subprocess.run(
        [analyze, 'security', '--offline=true', '--no-pager', str(unit)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r'Overall exposure level for \S+: ([0-9.]+)', result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_the_app_unit_is_hardened_to_an_exposure_of_at_most_3() -> None:
    text = (UNITS / 'enclave.service').read_text()
    assert 'User=enclave' in text and 'ReadWritePaths=/var/lib/enclave' in text
    assert exposure(UNITS / 'enclave.service') <= 3.0


def digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob('*'))
        # SQLite's shared-memory and WAL files change whenever the database is opened; its content does not.
        if path.is_file() and 'nicegui' not in path.parts and not path.name.endswith(('-shm', '-wal'))
    }


def test_first_boot_makes_config_secrets_and_certificates_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        'ENCLAVE_ROOT': str(tmp_path),
        'ENCLAVE_BIN': str(Path(sys.executable).parent / 'enclave'),
        'ENCLAVE_AS_USER': 'env',
    }
    first = subprocess.run([str(FIRSTBOOT)], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    etc, data = tmp_path / 'etc' / 'enclave', tmp_path / 'var' / 'lib' / 'enclave'
    assert 'https = true' in (etc / 'enclave.toml').read_text()
    assert (data / '.firstboot-done').exists() and (data / 'enclave.db').exists()
    assert {'data-key', 'storage-secret', 'install-id'} <= {p.name for p in (data / 'keys').iterdir()}
    # nginx (www-data) serves the CA and the app (enclave) reads its settings: both folders can be entered.
    assert etc.stat().st_mode & 0o777 == 0o755 and (etc / 'tls').stat().st_mode & 0o777 == 0o755
    assert 'socket = "/run/enclave/app.sock"' in (etc / 'enclave.toml').read_text()
    for name, mode in (('ca.key', 0o600), ('server.key', 0o600), ('ca.crt', 0o644), ('server.crt', 0o644)):
        assert (etc / 'tls' / name).stat().st_mode & 0o777 == mode, name
    verify = subprocess.run(
        ['openssl', 'verify', '-CAfile', str(etc / 'tls' / 'ca.crt'), str(etc / 'tls' / 'server.crt')],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr
    names = subprocess.run(
        ['openssl', 'x509', '-noout', '-ext', 'subjectAltName', '-in', str(etc / 'tls' / 'server.crt')],
        capture_output=True,
        text=True,
    ).stdout
    assert 'DNS:localhost' in names and 'IP Address:127.0.0.1' in names

    before = {**digest(etc), **digest(data)}
    again = subprocess.run([str(FIRSTBOOT)], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert {**digest(etc), **digest(data)} == before  # a second run changes nothing
