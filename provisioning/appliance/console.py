"""The appliance's console screen on tty1 (enclave-console.service): what to open and a small menu.

The screen shows the product, its version, the URL(s) to open, whether setup is done and health in one line. The
menu holds the few things an admin needs without the browser: network settings (DHCP or a static address), a new
password for an admin account, SSH on or off, a time server, reboot and shut down. It runs as root on the VM's
console, which only someone at the hypervisor reaches; it asks for no password itself. Standard library only.
`--once` prints the screen and exits (for tests and for `ssh` users who want the status).
"""

from __future__ import annotations

import getpass
import ipaddress
import json
import os
import re
import select
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(os.environ.get('ENCLAVE_CONSOLE_ROOT', '/'))
RELEASE = Path('/opt/enclave/current')
NETWORK_FILE = ROOT / 'etc/systemd/network/50-enclave.network'
TIMESYNC_FILE = ROOT / 'etc/systemd/timesyncd.conf.d/enclave.conf'
SSH_FIREWALL_FILE = ROOT / 'etc/enclave/firewall.d/ssh.nft'
CA_FILE = ROOT / 'etc/enclave/tls/ca.crt'
ENCLAVE = ['runuser', '-u', 'enclave', '--', '/usr/local/bin/enclave']
ENCLAVE_ENV = {'ENCLAVE_DATA_DIR': '/var/lib/enclave', 'ENCLAVE_CONFIG': '/etc/enclave/enclave.toml'}
REFRESH_SECONDS = 60
MIN_ROOT_PASSWORD = 12
HOSTNAME = re.compile(
    r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'
)


class Refused(ValueError):
    """Input the console refuses; the message says why, and nothing was changed."""


@dataclass
class Status:
    """What the screen shows."""

    version: str
    hostname: str
    addresses: list[str]
    setup_done: bool | None
    health: str
    ssh: bool
    time_server: str
    network: str = 'DHCP'
    ca_fingerprint: str = ''
    notes: list[str] = field(default_factory=list)


# ---- reading the box -----------------------------------------------------------------------------------------


def _output(argv: list[str], timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        done = subprocess.run(  # noqa: S603 - fixed programs, no shell
            argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return 1, str(error)
    return done.returncode, done.stdout


def addresses() -> list[str]:
    """Global IPv4 and IPv6 addresses of this box, IPv4 first."""
    code, out = _output(['ip', '-j', 'address', 'show', 'scope', 'global'])
    if code != 0:
        return []
    found: list[str] = []
    for link in json.loads(out or '[]'):
        for info in link.get('addr_info', []):
            if info.get('family') in ('inet', 'inet6') and info.get('local'):
                found.append(info['local'])
    return sorted(found, key=lambda a: (':' in a, a))


def urls(found: list[str]) -> list[str]:
    """https://<address>/ for each address (IPv6 in brackets)."""
    return [f'https://[{a}]/' if ':' in a else f'https://{a}/' for a in found]


def setup_done() -> bool | None:
    """True once an account exists (the setup wizard's first admin); None when the app cannot be asked."""
    code, out = _output([*ENCLAVE, 'user', 'list', '--json'], env=ENCLAVE_ENV)
    if code != 0:
        return None
    try:
        return bool(json.loads(out))
    except ValueError:
        return None


def health() -> str:
    """The health checks in one line: OK, or the worst status with the first check that is not green."""
    _code, out = _output([*ENCLAVE, 'health', '--json'], env=ENCLAVE_ENV, timeout=120)
    try:
        report = json.loads(out)
    except ValueError:
        return 'unknown (the health checks did not run; see `journalctl -u enclave`)'
    return health_line(report)


def health_line(report: dict[str, object]) -> str:
    """One line for the screen from `enclave health --json`."""
    checks = [c for c in report.get('checks', []) if isinstance(c, dict)]  # type: ignore[attr-defined]
    bad = [c for c in checks if c.get('status') != 'green']
    if not bad:
        return f'OK ({len(checks)} checks green)'
    bad.sort(key=lambda c: c.get('status') != 'red')
    first = bad[0]
    more = f' (+{len(bad) - 1} more)' if len(bad) > 1 else ''
    return f'{str(first.get("status")).upper()}: {first.get("name")}: {first.get("message")}{more}'


def read_status() -> Status:
    """Everything the screen shows, read now."""
    version_file = RELEASE / 'VERSION'
    version = version_file.read_text().strip() if version_file.exists() else 'unknown'
    network = NETWORK_FILE.read_text() if NETWORK_FILE.exists() else ''
    static = re.search(r'^Address=(\S+)', network, re.MULTILINE)
    return Status(
        version=version,
        hostname=socket.gethostname(),
        addresses=addresses(),
        setup_done=setup_done(),
        health=health(),
        ssh=SSH_FIREWALL_FILE.exists(),
        time_server=time_server(),
        network=f'static {static.group(1)}' if static else 'DHCP',
        ca_fingerprint=ca_fingerprint(),
    )


def ca_fingerprint() -> str:
    """The local CA's SHA-256 fingerprint (AA:BB:...), as the setup wizard shows it; '' before first boot made it."""
    if not CA_FILE.exists():
        return ''
    code, out = _output(['openssl', 'x509', '-in', str(CA_FILE), '-noout', '-fingerprint', '-sha256'])
    return out.strip().partition('=')[2] if code == 0 else ''


def time_server() -> str:
    """The time server the admin named, or '' for none."""
    if not TIMESYNC_FILE.exists():
        return ''
    found = re.search(r'^NTP=(.*)$', TIMESYNC_FILE.read_text(), re.MULTILINE)
    return found.group(1).strip() if found else ''


def render(status: Status) -> str:
    """The status screen's text."""
    lines = [f'Enclave {status.version}  -  {status.hostname}', '']
    if status.addresses:
        lines.append('Open in a browser:')
        lines.extend(f'    {url}' for url in urls(status.addresses))
        if status.ca_fingerprint:
            half = len(status.ca_fingerprint) // 2 + 1
            lines += [
                "    The browser warns until it trusts this box's certificate authority: the setup page offers it.",
                f'    Its SHA-256 fingerprint: {status.ca_fingerprint[:half]}',
                f'                             {status.ca_fingerprint[half:]}',
            ]
    else:
        lines.append('No network address yet: check the cable or the virtual network, or set one with 1.')
    setup = {True: 'done', False: 'not done yet: open the address above to create the first admin'}
    lines += [
        '',
        f'Setup:   {setup.get(status.setup_done, "unknown (the app is not answering yet)")}',  # type: ignore[call-overload]
        f'Health:  {status.health}',
        f'Network: {status.network}    SSH: {"on" if status.ssh else "off"}    '
        f'Time server: {status.time_server or "none"}',
        '',
        '  1) Network settings         2) New password for an admin    3) SSH on / off',
        '  4) Time server              5) Reboot                       6) Shut down',
        '',
    ]
    return '\n'.join(lines + status.notes)


# ---- changing the box ----------------------------------------------------------------------------------------


def network_file(*, address: str = '', gateway: str = '', dns: str = '') -> str:
    """The networkd file: DHCP when `address` is empty, else a static address (CIDR), gateway and DNS servers."""
    head = '# Enclave: written by the console screen (tty1).\n[Match]\nType=ether\n\n[Network]\n'
    quiet = 'LLMNR=no\nMulticastDNS=no\n'
    if not address:
        return head + 'DHCP=yes\n' + quiet + '\n[DHCPv4]\nUseNTP=no\n\n[DHCPv6]\nUseNTP=no\n'
    try:
        interface = ipaddress.ip_interface(address.strip())
    except ValueError as error:
        raise Refused(f'"{address}" is not an address with a prefix, such as 192.168.1.20/24') from error
    if interface.network.prefixlen == interface.max_prefixlen or interface.ip == interface.network.network_address:
        raise Refused(f'{address} is a network or single-host prefix, not an address in a network')
    text = head + f'Address={interface.with_prefixlen}\n'
    if gateway.strip():
        try:
            router = ipaddress.ip_address(gateway.strip())
        except ValueError as error:
            raise Refused(f'"{gateway}" is not an IP address') from error
        if router not in interface.network:
            raise Refused(f'the gateway {router} is not in the network {interface.network}')
        text += f'Gateway={router}\n'
    for server in dns.replace(',', ' ').split():
        try:
            text += f'DNS={ipaddress.ip_address(server)}\n'
        except ValueError as error:
            raise Refused(f'"{server}" is not an IP address of a DNS server') from error
    return text + quiet


def timesync_file(server: str) -> str:
    """timesyncd's drop-in: the named server (a host name or an address), or none."""
    server = server.strip()
    if server:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            if not HOSTNAME.match(server):
                raise Refused(f'"{server}" is not a host name or an IP address') from None
    return f'# Enclave: written by the console screen (tty1).\n[Time]\nNTP={server}\nFallbackNTP=\n'


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a file so that a power cut leaves the old or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + '.new')
    with partial.open('w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.chmod(mode)
    partial.replace(path)


def apply_network(text: str) -> None:
    """Write the networkd file and apply it; then make sure nginx's certificate names the new addresses."""
    write_atomically(NETWORK_FILE, text)
    _output(['networkctl', 'reload'])
    _output(['networkctl', 'reconfigure', *_ether_links()])
    _output(['systemctl', 'restart', 'enclave-tls.service'], timeout=120)


def _ether_links() -> list[str]:
    code, out = _output(['ip', '-j', 'link', 'show'])
    if code != 0:
        return []
    return [link['ifname'] for link in json.loads(out or '[]') if link.get('link_type') == 'ether']


def set_ssh(on: bool, root_password: str = '') -> None:
    """SSH on: root's password set, host keys made, port 22 opened, sshd started. Off: all of it undone."""
    if on:
        if len(root_password) < MIN_ROOT_PASSWORD:
            raise Refused(f'the password must have at least {MIN_ROOT_PASSWORD} characters')
        subprocess.run(['chpasswd'], input=f'root:{root_password}\n', text=True, check=True, timeout=30)  # noqa: S607
        _output(['usermod', '--unlock', 'root'])
        _output(['ssh-keygen', '-A'])
        write_atomically(SSH_FIREWALL_FILE, 'add element inet enclave open_ports { 22 }\n')
        _output(['systemctl', 'reload-or-restart', 'nftables.service'])
        _output(['systemctl', 'enable', '--now', 'ssh.service'], timeout=120)
    else:
        _output(['systemctl', 'disable', '--now', 'ssh.service'], timeout=120)
        SSH_FIREWALL_FILE.unlink(missing_ok=True)
        _output(['systemctl', 'reload-or-restart', 'nftables.service'])
        _output(['usermod', '--lock', 'root'])


# ---- the menu ------------------------------------------------------------------------------------------------


def ask(prompt: str) -> str:
    return input(prompt).strip()


def confirm(prompt: str) -> bool:
    return ask(f'{prompt} Type yes to go on: ').lower() == 'yes'


def menu_network() -> str:
    choice = ask('d) DHCP (the default)   s) a static address   Enter) back: ').lower()
    if choice == 'd':
        apply_network(network_file())
        return 'Network: DHCP.'
    if choice == 's':
        text = network_file(
            address=ask('Address with prefix, e.g. 192.168.1.20/24: '),
            gateway=ask('Gateway (Enter for none): '),
            dns=ask('DNS servers, separated by spaces (Enter for none): '),
        )
        if confirm('The browser connection to the old address will drop.'):
            apply_network(text)
            return 'Network: static address set.'
    return 'Network: unchanged.'


def menu_password() -> str:
    code, out = _output([*ENCLAVE, 'user', 'list', '--json'], env=ENCLAVE_ENV)
    admins = [u['username'] for u in json.loads(out or '[]') if 'admin' in u.get('roles', [])] if code == 0 else []
    if not admins:
        return 'No admin account yet: finish the setup in the browser first.'
    print('Admin accounts: ' + ', '.join(admins))
    username = ask('Which account (Enter for none): ')
    if not username:
        return 'Password: unchanged.'
    if username not in admins:
        raise Refused(f'{username} is not an admin account')
    reset = [*ENCLAVE, 'user', 'reset-password', username]
    done = subprocess.run(reset, env={**os.environ, **ENCLAVE_ENV}, check=False)  # noqa: S603 - a known account
    return f'Password of {username} set; their sessions ended.' if done.returncode == 0 else 'Password: unchanged.'


def menu_ssh() -> str:
    if SSH_FIREWALL_FILE.exists():
        if confirm('SSH will be turned off and root locked again.'):
            set_ssh(False)
            return 'SSH: off.'
        return 'SSH: still on.'
    print(f'SSH logs in as root with a password you set now (at least {MIN_ROOT_PASSWORD} characters).')
    first = getpass.getpass('New root password: ')
    if first != getpass.getpass('Again: '):
        raise Refused('the two passwords differ')
    set_ssh(True, first)
    return 'SSH: on (port 22).'


def menu_time() -> str:
    text = timesync_file(ask('Time server (host name or address; Enter for none): '))
    write_atomically(TIMESYNC_FILE, text)
    _output(['systemctl', 'restart', 'systemd-timesyncd.service'])
    return f'Time server: {time_server() or "none"}.'


def menu_power(action: str) -> str:
    if confirm(f'{action.capitalize()} now? Everyone using Enclave is disconnected.'):
        _output(['systemctl', action])
    return f'{action.capitalize()}: cancelled.'


ACTIONS = {
    '1': menu_network,
    '2': menu_password,
    '3': menu_ssh,
    '4': menu_time,
    '5': lambda: menu_power('reboot'),
    '6': lambda: menu_power('poweroff'),
}


def wait_for_choice(timeout: float) -> str | None:
    """A line from the console, or None when nobody typed anything for `timeout` seconds (the screen refreshes)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.readline().strip() if ready else None


def main() -> None:
    if '--once' in sys.argv:
        print(render(read_status()))
        return
    notes: list[str] = []
    while True:
        status = read_status()
        status.notes = notes
        print('\033[2J\033[H' + render(status), flush=True)
        print('Choose 1-6 (the screen refreshes by itself): ', end='', flush=True)
        choice = wait_for_choice(REFRESH_SECONDS)
        if choice is None or choice not in ACTIONS:
            notes = [] if choice is None else [f'"{choice}" is not one of 1-6.'] if choice else []
            continue
        try:
            notes = [ACTIONS[choice]()]
        except Refused as error:
            notes = [f'Refused, nothing changed: {error}.']
        except (EOFError, KeyboardInterrupt):
            notes = ['Cancelled.']


if __name__ == '__main__':
    main()
