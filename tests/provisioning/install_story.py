"""The bundle installs on a fresh Debian 12 root with no network, twice, and the app answers (`make bundle-test`).

The test makes a minimal Debian 12 root with debootstrap (network to the Debian mirror at this step only), builds
the bundle against it (its debs are what that root lacks), then runs `install.sh` inside the root with `chroot`
in a new network namespace that has nothing but loopback. A second run must change nothing. Then the first-boot
script runs, nginx's configuration is checked, and the app is started as `enclave` and asked for /healthz.
Needs root, debootstrap, unshare and chroot; takes a few minutes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning import bundle
from tests.provisioning.support import signing_key

SUITE = 'bookworm'
MIRROR = os.environ.get('ENCLAVE_DEBIAN_MIRROR', 'http://deb.debian.org/debian')


@pytest.fixture(scope='module')
def debian_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh minimal Debian 12 root (policy-rc.d keeps package scripts from starting services in it)."""
    assert os.geteuid() == 0, 'this story needs root (chroot, unshare, mount)'
    assert shutil.which('debootstrap'), 'install debootstrap (make bundle-test does it through apt)'
    root = tmp_path_factory.mktemp('debian') / 'root'
    subprocess.run(
        ['debootstrap', '--variant=minbase', SUITE, str(root), MIRROR], check=True, capture_output=True, timeout=900
    )
    # What the Debian installer writes on every real server (debootstrap leaves it out): `localhost` resolves.
    (root / 'etc' / 'hosts').write_text('127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n')
    policy = root / 'usr' / 'sbin' / 'policy-rc.d'
    policy.write_text('#!/bin/sh\nexit 101\n')
    policy.chmod(0o755)
    yield root
    subprocess.run(['umount', '-R', str(root / 'proc')], check=False, capture_output=True)


def in_root(root: Path, script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `script` with sh inside the root, in new mount and network namespaces (loopback only, no network)."""
    outer = (
        f'mount -t proc proc {root}/proc && mkdir -p {root}/dev/shm && mount -t tmpfs tmpfs {root}/dev/shm && '
        f'ip link set lo up 2>/dev/null; exec chroot {root} /bin/sh -c "$0"'
    )
    return subprocess.run(
        ['unshare', '--net', '--mount', '--fork', 'sh', '-c', outer, script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'},
    )


# Who owns each process running the app's python (minbase has no ps).
OWNERS = (
    'for p in /proc/[0-9]*; do case "$(tr "\\000" " " < $p/cmdline 2>/dev/null)" in '
    '/opt/enclave/*/venv/bin/python*" serve "*) stat -c "owner=%U" $p;; esac; done'
)


def tree(root: Path, *parts: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in parts:
        base = root / part
        for path in sorted(base.rglob('*') if base.is_dir() else [base]):
            if path.is_file() and not path.is_symlink() and '__pycache__' not in path.parts:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_symlink():
                found[str(path.relative_to(root))] = 'link:' + os.readlink(path)
    return found


def test_the_bundle_installs_offline_twice_and_the_app_answers(debian_root: Path, tmp_path: Path) -> None:
    built = bundle.assemble(out=tmp_path, key=signing_key(), debs_from=debian_root)
    with tarfile.open(built) as archive:
        archive.extractall(debian_root / 'root', filter='tar')
    installer = f'/root/{built.name.removesuffix("-bundle.tar")}/install.sh'

    first = in_root(debian_root, f'sh {installer}')
    assert first.returncode == 0, first.stdout + first.stderr
    assert 'verified' in first.stdout and 'installed Enclave' in first.stdout
    assert (debian_root / 'opt' / 'enclave' / 'current' / 'venv' / 'bin' / 'enclave').exists()
    assert os.readlink(debian_root / 'opt' / 'enclave' / 'current').startswith('releases/')
    watched = ('opt/enclave', 'etc/systemd/system', 'etc/nginx/sites-enabled', 'usr/local/bin/enclave')
    before = tree(debian_root, *watched)

    second = in_root(debian_root, f'sh {installer}')
    assert second.returncode == 0, second.stdout + second.stderr
    for change in ('installing', 'created', 'installed Enclave', 'updated', '->'):
        assert change not in second.stdout, second.stdout
    assert tree(debian_root, *watched) == before

    boot = in_root(debian_root, '/opt/enclave/current/provisioning/firstboot.sh && nginx -t 2>&1')
    assert boot.returncode == 0, boot.stdout + boot.stderr
    assert 'syntax is ok' in boot.stdout
    # The app's workers on their Unix sockets as enclave, nginx in front: /healthz over HTTPS, trusting only the
    # local CA.
    serve = in_root(
        debian_root,
        'export ENCLAVE_DATA_DIR=/var/lib/enclave ENCLAVE_CONFIG=/etc/enclave/enclave.toml '
        'NICEGUI_STORAGE_PATH=/var/lib/enclave/nicegui HOME=/var/lib/enclave; '
        # What enclave.service does as root first: nginx's upstream block for the workers (one per core).
        'mkdir -p /run/enclave && chown enclave /run/enclave && '
        '/opt/enclave/current/venv/bin/enclave proxy-config --write /etc/enclave/nginx-upstream.conf && nginx && '
        # Before the app is up, nginx's own page says the box is starting (nginx reads it from the release).
        '/opt/enclave/current/venv/bin/python -c "'
        'import ssl, urllib.error, urllib.request\n'
        "trust = ssl.create_default_context(cafile='/etc/enclave/tls/ca.crt')\n"
        'try:\n'
        "    urllib.request.urlopen('https://localhost/', timeout=5, context=trust)\n"
        'except urllib.error.HTTPError as answer:\n'
        "    print('before the app:', answer.code, 'Enclave is starting' in answer.read().decode())\n"
        '"; '
        'runuser -u enclave -- /opt/enclave/current/venv/bin/enclave serve --no-migrate >/tmp/serve.log 2>&1 & '
        'pid=$!; /opt/enclave/current/venv/bin/python -c "'
        'import ssl, time, urllib.request\n'
        "trust = ssl.create_default_context(cafile='/etc/enclave/tls/ca.crt')\n"
        'for _ in range(120):\n'
        '    try:\n'
        "        print(urllib.request.urlopen('https://localhost/healthz', timeout=2, context=trust).read().decode())\n"
        '        break\n'
        '    except Exception as error:\n'
        '        last = error\n'
        '        time.sleep(0.5)\n'
        'else:\n'
        "    print('no answer:', repr(last))\n"
        '"; ' + OWNERS + '; kill $pid; nginx -s stop; tail -5 /tmp/serve.log',
        timeout=180,
    )
    assert 'before the app: 503 True' in serve.stdout, serve.stdout + serve.stderr
    assert '"status":"ok"' in serve.stdout, serve.stdout + serve.stderr
    # The app's process (the venv's python running `enclave serve`) belongs to the enclave user.
    assert 'owner=enclave' in serve.stdout and 'owner=root' not in serve.stdout, serve.stdout
