"""The VM console screen (provisioning/appliance/console.py): what it shows and the files its menu writes; bad
input is refused with the reason and writes nothing."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'provisioning' / 'appliance' / 'console.py'


def load(root: Path | None = None) -> ModuleType:
    if root is not None:
        os.environ['ENCLAVE_CONSOLE_ROOT'] = str(root)
    try:
        name = f'enclave_console_screen_{len(sys.modules)}'
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        os.environ.pop('ENCLAVE_CONSOLE_ROOT', None)


screen = load()


def test_dhcp_is_the_default_network() -> None:
    text = screen.network_file()
    assert 'DHCP=yes' in text and 'Address=' not in text and 'UseNTP=no' in text


def test_a_static_address_with_gateway_and_dns() -> None:
    text = screen.network_file(address='192.168.1.20/24', gateway='192.168.1.1', dns='192.168.1.2, 10.0.0.53')
    assert 'Address=192.168.1.20/24\n' in text and 'Gateway=192.168.1.1\n' in text
    assert 'DNS=192.168.1.2\nDNS=10.0.0.53\n' in text and 'DHCP' not in text and 'LLMNR=no' in text


@pytest.mark.parametrize(
    ('address', 'gateway', 'dns', 'reason'),
    [
        ('192.168.1.20', '', '', 'single-host prefix'),
        ('192.168.1.0/24', '', '', 'network'),
        ('300.1.1.1/24', '', '', 'not an address with a prefix'),
        ('192.168.1.20/24', '10.0.0.1', '', 'not in the network'),
        ('192.168.1.20/24', 'router', '', 'not an IP address'),
        ('192.168.1.20/24', '', '8.8.8.8; rm -rf /', 'not an IP address of a DNS server'),
        ('192.168.1.20/24\nDNS=1.1.1.1', '', '', 'not an address with a prefix'),
    ],
)
def test_bad_network_input_is_refused_with_the_reason(address: str, gateway: str, dns: str, reason: str) -> None:
    with pytest.raises(screen.Refused, match=reason):
        screen.network_file(address=address, gateway=gateway, dns=dns)


def test_a_time_server_is_named_or_none() -> None:
    assert 'NTP=ntp.corp.example\nFallbackNTP=\n' in screen.timesync_file(' ntp.corp.example ')
    assert 'NTP=10.0.0.5\n' in screen.timesync_file('10.0.0.5')
    assert 'NTP=\nFallbackNTP=\n' in screen.timesync_file('')
    for bad in ('pool ntp.org', 'ntp.example\nFallbackNTP=evil', '-bad-.example', 'a' * 300):
        with pytest.raises(screen.Refused):
            screen.timesync_file(bad)


def test_health_in_one_line() -> None:
    green = {'status': 'green', 'checks': [{'name': 'disk', 'status': 'green', 'message': 'ok'}] * 3}
    assert screen.health_line(green) == 'OK (3 checks green)'
    mixed = {
        'checks': [
            {'name': 'disk', 'status': 'amber', 'message': '85% used'},
            {'name': 'backups', 'status': 'red', 'message': 'no backup for 3 days'},
            {'name': 'license', 'status': 'green', 'message': 'ok'},
        ]
    }
    assert screen.health_line(mixed) == 'RED: backups: no backup for 3 days (+1 more)'


def status(**changes: object) -> object:
    base = dict(
        version='1.2.3', hostname='enclave', addresses=['192.168.1.20', 'fd00::20'], setup_done=False,
        health='OK (9 checks green)', ssh=False, time_server='', ca_fingerprint='AB:' * 31 + 'CD',
    )  # fmt: skip
    return screen.Status(**{**base, **changes})


def test_the_screen_shows_the_urls_fingerprint_setup_and_health() -> None:
    text = screen.render(status())
    assert 'Enclave 1.2.3' in text
    assert 'https://192.168.1.20/' in text and 'https://[fd00::20]/' in text
    assert 'not done yet' in text and 'OK (9 checks green)' in text and 'SSH: off' in text
    fingerprint = ''.join(line.split(': ')[-1].strip() for line in text.splitlines() if 'AB:AB' in line)
    assert fingerprint.replace(' ', '') == 'AB:' * 31 + 'CD'
    assert all(len(line) <= 100 for line in text.splitlines())
    done = screen.render(status(setup_done=True, addresses=[], ssh=True, time_server='ntp.corp'))
    assert 'Setup:   done' in done and 'No network address yet' in done and 'SSH: on' in done
    assert 'unknown' in screen.render(status(setup_done=None))


def test_files_are_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / 'etc' / 'systemd' / 'network' / '50-enclave.network'
    screen.write_atomically(target, 'one\n')
    screen.write_atomically(target, 'two\n')
    assert target.read_text() == 'two\n' and [p.name for p in target.parent.iterdir()] == [target.name]


def test_ssh_needs_a_long_password_and_changes_nothing_otherwise(tmp_path: Path) -> None:
    boxed = load(tmp_path)
    with pytest.raises(boxed.Refused, match='at least 12'):
        boxed.set_ssh(True, 'short')
    assert not (tmp_path / 'etc').exists()


def test_once_prints_the_screen(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), '--once'],
        env={**os.environ, 'ENCLAVE_CONSOLE_ROOT': str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('Enclave ') and 'Setup:' in done.stdout and '1) Network settings' in done.stdout
