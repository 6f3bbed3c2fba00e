"""An SFTP target for real: an OpenSSH server on loopback, started by the test, trusting the box's own SSH key."""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import get_settings
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import runs, targets
from console.backup.services.restic import ResticError
from tests.console.backup_support import add_target, arrange
from tests.modules.conftest import Team

SSHD = Path('/usr/sbin/sshd')
SFTP_SERVER = Path('/usr/lib/openssh/sftp-server')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[tuple[int, Path, str]]:
    """sshd on 127.0.0.1:<port> accepting only the keys in its authorized_keys file; (port, that file, host key)."""
    assert SSHD.exists() and SFTP_SERVER.exists(), 'install openssh-server (make test does it through apt)'
    home = tmp_path / 'sshd'
    home.mkdir(mode=0o755)
    host_key = home / 'host_ed25519'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(host_key)], check=True)
    authorized = home / 'authorized_keys'
    authorized.write_text('')
    authorized.chmod(0o600)
    Path('/run/sshd').mkdir(exist_ok=True)  # privilege separation directory
    port = free_port()
    config = home / 'sshd_config'
    config.write_text(
        f'Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {home / "sshd.pid"}\n'
        f'AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n'
        f'PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nSubsystem sftp {SFTP_SERVER}\n'
    )
    server = subprocess.Popen([str(SSHD), '-D', '-e', '-f', str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, f'sshd did not start: {server.stderr.read() if server.stderr else ""}'
            time.sleep(0.1)
    try:
        yield port, authorized, Path(f'{host_key}.pub').read_text().split()[1]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_it_backs_up_and_proves_over_sftp_with_the_boxs_own_key(
    team: Team, tmp_path: Path, sshd: tuple[int, Path, str]
) -> None:
    port, authorized, host_key = sshd
    arrange(team, tasks=3)
    data_dir = get_settings().data_dir
    user = getpass.getuser()
    repository = f'sftp://{user}@127.0.0.1:{port}/{tmp_path}/sftp-repo'

    # Until the server trusts the box's key, the connection is refused with a sentence and nothing is saved.
    with pytest.raises(ResticError):
        add_target(team.alice, repository, name='nas')

    authorized.write_text(targets.ssh_public_key(data_dir) + '\n')
    found = targets.test_connection(data_dir=data_dir, repository=repository)
    assert not found.exists
    add_target(team.alice, repository, name='nas')
    assert (tmp_path / 'sftp-repo' / 'config').is_file()
    view = runs.back_up(actor=Operator(), registry=current_registry(), target='nas')
    assert view.status == 'ok' and view.bytes_added > 0
    assert runs.drill(actor=Operator(), target='nas').status == 'ok'
    assert runs.check(actor=Operator(), target='nas').status == 'ok'
    known_hosts = targets.backup_keys_dir(data_dir) / 'known_hosts'
    assert host_key in known_hosts.read_text()  # the server's host key, remembered on first contact


def test_it_checks_the_sftp_form() -> None:
    data_dir = get_settings().data_dir
    for good in ('sftp:backup@nas:/srv/enclave', 'sftp://backup@nas:2222//srv/enclave'):
        assert targets.clean_repository(data_dir, good) == good
    for bad in ('sftp:nas:/srv', 'sftp://nas/srv', 'sftp:backup@nas'):
        with pytest.raises(targets.TargetError):
            targets.clean_repository(data_dir, bad)
