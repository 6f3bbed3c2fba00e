"""Enclave installed in a folder, for the root helper's tests and bench (console/upgrade/root_helper.py): releases
side by side under `<root>/opt/enclave` with a `current` link, the data dir linked in at `<root>/var/lib/enclave`, a
script standing in for `systemctl start|stop enclave` that serves `current` on a loopback port, and an installer
standing in for `install.sh --release-only`. Each release's `enclave` runs this tree's code; a release installed
from a bundle that holds BROKEN fails its migration after writing to the database, as a migration that breaks half
way does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from appliance.config import get_settings
from appliance.db import get_database
from provisioning.bundle import public_pem
from tests.console.test_upgrade_bundle import make_bundle
from tests.livesrv import free_port
from tests.provisioning.support import signing_key

ENCLAVE = Path(sys.executable).parent / 'enclave'
# A release's `enclave`: this tree's, except that a release built from a bundle holding BROKEN fails its migration
# after leaving a table behind, as a migration that breaks half way does.
RELEASE_ENCLAVE = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = migrate ] && [ -e "$here/../../BROKEN" ]; then
  "$here/python" -c "import sqlite3, os; sqlite3.connect(os.environ['ENCLAVE_DATA_DIR'] + '/enclave.db').execute(
      'create table touched_by_the_broken_release (x)')"
  echo "alembic: the migration 9f1e failed: column already exists" >&2
  exit 1
fi
exec {enclave} "$@"
"""
# The bundle's installer, as ENCLAVE_UPGRADE_INSTALL: run in the unpacked bundle with the release folder.
INSTALLER = """#!/bin/sh
set -eu
release=$1
mkdir -p "$release/venv/bin"
ln -s {python} "$release/venv/bin/python"
cp {release_enclave} "$release/venv/bin/enclave"
[ ! -e BROKEN ] || cp BROKEN "$release/BROKEN"
cp {key} "$release/release-key.pem"  # as install.sh keeps the key it verified the bundle with
cp VERSION "$release/VERSION"
touch "$release/.complete"
echo "installed $(cat VERSION)"
"""
# enclave.service, as ENCLAVE_UPGRADE_SERVICE: `current`'s server on a loopback port.
SERVICE = """#!/bin/sh
pidfile={root}/enclave.pid
case $1 in
  start)
    ENCLAVE_PORT={port} ENCLAVE_WORKERS=1 nohup {root}/opt/enclave/current/venv/bin/enclave serve --no-migrate \\
      >>{root}/serve.log 2>&1 &
    echo $! > "$pidfile" ;;
  stop)
    [ -e "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile" ;;
esac
"""


@dataclass
class Box:
    """Enclave installed in a folder: /opt/enclave with releases and `current`, the data dir linked in, a service
    script that starts and stops `current`'s server on a loopback port, and the environment for the root helper."""

    root: Path
    port: int
    env: dict[str, str]

    @property
    def opt(self) -> Path:
        return self.root / 'opt' / 'enclave'

    @property
    def state(self) -> Path:
        return self.root / 'var' / 'lib' / 'enclave-upgrade'

    @property
    def requests(self) -> Path:
        return get_settings().data_dir / 'upgrade-request'

    def current(self) -> str:
        return os.readlink(self.opt / 'current')

    def bundle(self, version: str, *, broken: bool = False, **options: object) -> str:
        """A signed bundle waiting in the upgrades folder; its file name."""

        def mark(folder: Path) -> None:
            if broken:
                (folder / 'BROKEN').write_text('a migration that fails half way\n')

        out = self.root / 'built' / version
        out.mkdir(parents=True)
        made = make_bundle(out, version=version, before_signing=mark, **options)  # type: ignore[arg-type]
        upgrades = get_settings().data_dir / 'upgrades'
        upgrades.mkdir(exist_ok=True)
        made.rename(upgrades / made.name)
        return made.name

    def ask(self, **request: object) -> None:
        self.requests.mkdir(exist_ok=True)
        (self.requests / 'request').write_text(json.dumps(request))

    def helper(self, command: str = 'request') -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, '-I', '-m', 'console.upgrade.root_helper', command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def service(self, verb: str) -> None:
        subprocess.run([str(self.root / 'service'), verb], check=True, timeout=60, env=self.env)

    def answers(self) -> bool:
        try:
            return httpx.get(f'http://127.0.0.1:{self.port}/healthz', timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def history(self) -> list[dict[str, object]]:
        folder = self.requests / 'history'
        return [json.loads(path.read_text()) for path in sorted(folder.glob('*.json'))] if folder.exists() else []


def release(box_root: Path, version: str) -> None:
    folder = box_root / 'opt' / 'enclave' / 'releases' / version
    (folder / 'venv' / 'bin').mkdir(parents=True)
    (folder / 'venv' / 'bin' / 'python').symlink_to(sys.executable)
    script = folder / 'venv' / 'bin' / 'enclave'
    script.write_text(RELEASE_ENCLAVE.format(enclave=ENCLAVE))
    script.chmod(0o755)
    (folder / 'release-key.pem').write_text(public_pem(signing_key()))
    (folder / '.complete').touch()


def installed(root: Path, *, deadline_seconds: float = 90) -> Box:
    """Enclave 0.1.0 installed under `root` on this test's data dir, and serving."""
    release(root, '0.1.0')
    (root / 'opt' / 'enclave' / 'current').symlink_to('releases/0.1.0')
    (root / 'var' / 'lib').mkdir(parents=True)
    (root / 'var' / 'lib' / 'enclave').symlink_to(get_settings().data_dir)
    helper_enclave = root / 'release-enclave'
    helper_enclave.write_text(RELEASE_ENCLAVE.format(enclave=ENCLAVE))
    helper_enclave.chmod(0o755)
    installer = root / 'install'
    key = root / 'release-key.pem'
    key.write_text(public_pem(signing_key()))
    installer.write_text(INSTALLER.format(python=sys.executable, release_enclave=helper_enclave, key=key))
    installer.chmod(0o755)
    port = free_port()
    service = root / 'service'
    service.write_text(SERVICE.format(root=root, port=port))
    service.chmod(0o755)
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith('PYTEST_')},
        'ENCLAVE_ROOT': str(root),
        'ENCLAVE_UPGRADE_SERVICE': str(service),
        'ENCLAVE_UPGRADE_AS': '',
        'ENCLAVE_UPGRADE_HEALTHZ': f'http://127.0.0.1:{port}/healthz',
        'ENCLAVE_UPGRADE_INSTALL': str(installer),
        'ENCLAVE_UPGRADE_DEADLINE': str(deadline_seconds),
    }
    made = Box(root, port, env)
    get_database().dispose()
    made.service('start')
    deadline = time.monotonic() + 120
    while not made.answers():
        if time.monotonic() > deadline:
            raise RuntimeError((root / 'serve.log').read_text())
        time.sleep(0.3)
    return made
