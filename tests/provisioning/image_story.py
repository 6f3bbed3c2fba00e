"""The appliance image boots and serves the setup wizard over HTTPS (`make image-test`, after `make image`).

1. A fast check: the image's root (mounted read-only from a copy of the qcow2) boots in systemd-nspawn with only
   loopback; the wizard answers through nginx, the app runs as `enclave`.
2. A real boot: a copy of the qcow2's disk under qemu with TCG (KVM is unusable on these machines), an IDE disk and
   an E1000 card like the OVA declares, user-mode networking with forwarded ports. The test fetches the local CA
   from port 80, checks the TLS certificate against it, and reaches the setup wizard. A probe unit added to the copy
   (not to the shipped image) reports from inside over a second serial port: the app's user, every listening port,
   the `systemd-analyze security` score, failed units, root's password state. The guest is shut down with the ACPI
   power button, booted again, and first boot must not run a second time; the CA must be the same.
Every wait has a wall-clock deadline (a hung guest still accepts connections on the forwarded ports), and only the
processes this test started are killed. Needs root, qemu-system-x86, qemu-utils and systemd-container.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from provisioning import bundle, image

REPO = Path(__file__).resolve().parents[2]
IMAGE = Path(os.environ.get('ENCLAVE_IMAGE', REPO / 'dist' / f'enclave-{bundle.version()}.qcow2'))
BOOT_DEADLINE = 600  # seconds from qemu's start to the wizard over HTTPS, first boot included (TCG is slow)
PROBE_DEADLINE = 300  # seconds after the wizard answered for the probe to finish (two certificate round trips)
NSPAWN_DEADLINE = 180
PROBE = """#!/bin/sh
# Test-only: what the image test cannot see from outside, written to the second serial port.
for i in $(seq 1 300); do [ -S /run/enclave/app-2.sock ] && break; sleep 1; done
{
  if [ ! -S /run/enclave/app-2.sock ]; then
    echo "NOSOCKET"
    journalctl -b --no-pager -n 60 -u enclave -u nginx -u enclave-firstboot -u enclave-tls | sed 's/^/LOG /'
  fi
  echo "BOOTS $(journalctl --list-boots --no-pager 2>/dev/null | grep -cE '^ *-?[0-9]+ ')"
  echo "FIRSTBOOT $(systemctl show -p ConditionResult --value enclave-firstboot.service)"
  echo "APPUSER $(ps -o user= -p "$(systemctl show -p MainPID --value enclave.service)")"
  # Two vCPUs: two workers under the supervisor, each on its socket, both in nginx's upstream block.
  main=$(systemctl show -p MainPID --value enclave.service)
  echo "WORKERS $(pgrep -P "$main" -u enclave | grep -c .) $(ls /run/enclave/app-*.sock | grep -c .) \\
    $(grep -c '^ *server unix:/run/enclave/app-[0-9]*.sock max_fails=0;' /etc/enclave/nginx-upstream.conf)"
  for n in 1 2; do
    echo "WORKER$n $(/opt/enclave/current/venv/bin/python -c "import httpx, sys
print(httpx.Client(transport=httpx.HTTPTransport(uds=sys.argv[1])).get('http://localhost/healthz').json()['worker'])" \\
      /run/enclave/app-$n.sock 2>&1 | tail -n 1)"
  done
  ss -Htlnu | awk '{print "LISTEN", $1, $5}'
  echo "SECURITY $(systemd-analyze security --no-pager enclave.service | grep -o 'exposure level[^:]*: [0-9.]*' \\
    | grep -o '[0-9.]*$')"
  units="enclave.service nginx.service enclave-console.service nftables.service enclave-upgrade-request.path"
  echo "ACTIVE $(systemctl is-active $units | paste -sd' ' -)"
  echo "FAILED $(systemctl --failed --no-legend --plain | awk '{print $1}' | paste -sd' ' -)"
  for unit in $(systemctl --failed --no-legend --plain | awk '{print $1}') $(systemctl is-active --quiet \\
      enclave-console.service || echo enclave-console.service); do
    journalctl -b -u "$unit" --no-pager -n 15 | sed 's/^/LOG /'
  done
  # What the console screen on tty1 shows (the text of the virtual console).
  # (once the app answers it: on a busy host the socket exists a while before the app does)
  for i in $(seq 1 180); do
    grep -q 'Open in a browser' /dev/vcs1 2>/dev/null && ! grep -q 'not answering yet' /dev/vcs1 && break; sleep 1
  done
  fold -w 80 /dev/vcs1 | sed 's/ *$//' | grep . | sed 's/^/SCREEN /'
  echo "ROOT $(passwd -S root | awk '{print $2}')"
  echo "SSHKEYS $(ls /etc/ssh/ssh_host_* 2>/dev/null | grep -c .)"
  # The console menu's SSH switch as the menu calls it: on opens 22 with host keys and root's password; off undoes it.
  ssh_switch() { python3 /usr/local/sbin/enclave-image-probe-ssh "$1"; }
  ssh_state() {
    ports=$(nft list set inet enclave open_ports | grep -cw 22)
    echo "$(ss -Htln | grep -c ':22 ') $ports $(passwd -S root | awk '{print $2}')"
  }
  ssh_switch on
  echo "SSHON $(ssh_state) $(ls /etc/ssh/ssh_host_*_key | grep -c .)"
  ssh_switch off
  echo "SSHOFF $(ssh_state)"
  # The app's way to another certificate, as the app does it (as enclave, the request written last), through
  # enclave-tls-request.path to the root side; then back to the local CA.
  d=/var/lib/enclave/tls-request
  ask() {
    runuser -u enclave -- sh -c "mkdir -p $d && cd $d && rm -f result && $1 echo $2 > request.partial \\
      && mv request.partial request"
  }
  wait_result() { for i in $(seq 1 120); do [ -e $d/result ] && break; sleep 1; done; head -n 1 $d/result; }
  ask "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem \\
    -days 30 -subj /CN=own.example 2>/dev/null &&" install
  outcome=$(wait_result)
  echo "OWNCERT $outcome $(openssl x509 -in /etc/enclave/tls/server.crt -noout -subject)"
  echo "OWNKEY $(ls $d/key.pem 2>/dev/null | grep -c .)"
  ask "" local
  outcome=$(wait_result)
  echo "LOCALCERT $outcome $(openssl x509 -in /etc/enclave/tls/server.crt -noout -issuer | grep -c 'local CA')"
  echo "PROBE-DONE"
} > /dev/ttyS1 2>&1
"""
PROBE_SSH = """import importlib.util, sys
spec = importlib.util.spec_from_file_location('screen', '/opt/enclave/current/provisioning/appliance/console.py')
screen = importlib.util.module_from_spec(spec)
sys.modules['screen'] = screen
spec.loader.exec_module(screen)
screen.set_ssh(sys.argv[1] == 'on', 'a long root password, 1')
"""
PROBE_UNIT = """[Unit]
Description=Image test probe (test-only, never in the shipped image)
After=enclave.service nginx.service enclave-console.service
[Service]
Type=oneshot
ExecStart=/bin/sh /usr/local/sbin/enclave-image-probe
[Install]
WantedBy=multi-user.target
"""


def sh(argv: list[str], timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f'{argv}: {done.stdout}{done.stderr}'
    return done  # type: ignore[no-any-return]


@contextmanager
def mounted(raw: Path, mount_point: Path, *, read_only: bool) -> Iterator[Path]:
    """The disk copy's root partition mounted, through the build's own helper (by offset, no partition nodes)."""
    with image.mounted_root(raw, mount_point, read_only=read_only) as root:
        yield root


@pytest.fixture(scope='module')
def disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw copy of the shipped qcow2 (the shipped file is never written to)."""
    assert os.geteuid() == 0, 'this story needs root (loop devices, nspawn, mount)'
    assert IMAGE.exists(), f'{IMAGE} is missing: run make image first'
    sh(['qemu-img', 'check', str(IMAGE)])
    raw = tmp_path_factory.mktemp('image', numbered=True) / 'disk.raw'
    sh(['qemu-img', 'convert', '-O', 'raw', str(IMAGE), str(raw)], timeout=600)
    return raw


@contextmanager
def started(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own group; on the way out that group (and only it) is ended."""
    with log.open('wb') as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def container_pid(nspawn: int, deadline: float) -> int:
    """The container's init: the child of systemd-nspawn."""
    while time.monotonic() < deadline:
        for entry in Path('/proc').iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == nspawn:
                    return int(entry.name)
        time.sleep(0.2)
    raise AssertionError('systemd-nspawn started no container')


def test_fast_check_the_root_boots_in_nspawn_and_serves_the_wizard(disk: Path, tmp_path: Path) -> None:
    started_at = time.monotonic()
    with mounted(disk, tmp_path / 'root', read_only=True) as root:
        argv = ['systemd-nspawn', '-D', str(root), '--volatile=overlay', '-b', '--register=no', '--keep-unit',
                '--private-network', '--quiet',
                # only loopback here: no network to wait for (the real boot waits at most 30 s for one)
                'systemd.mask=systemd-networkd-wait-online.service']  # fmt: skip
        with started(argv, tmp_path / 'nspawn.log') as nspawn:
            deadline = time.monotonic() + NSPAWN_DEADLINE
            init = container_pid(nspawn.pid, deadline)
            inside = ['nsenter', '-t', str(init), '-m', '-u', '-i', '-n', '-p', '--']
            ask = (
                'import ssl, urllib.request\n'
                "trust = ssl.create_default_context(cafile='/etc/enclave/tls/ca.crt')\n"
                "print(urllib.request.urlopen('https://localhost/setup', timeout=5, context=trust).read().decode())"
            )
            page = ''
            while time.monotonic() < deadline and 'setup' not in page.lower():
                done = subprocess.run(
                    [*inside, '/opt/enclave/current/venv/bin/python', '-c', ask],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                page = done.stdout if done.returncode == 0 else ''
                if not page:
                    time.sleep(1)
            log = (tmp_path / 'nspawn.log').read_text(errors='replace')
            assert 'Set up Enclave' in page and 'enclave-ca.crt' in page, log[-3000:]  # the wizard offers the CA
            user = subprocess.run(
                [*inside, 'sh', '-c', 'ps -o user= -p "$(systemctl show -p MainPID --value enclave.service)"'],
                capture_output=True, text=True, timeout=30,
            ).stdout.strip()  # fmt: skip
            assert user == 'enclave', log[-3000:]
            print(f'nspawn: the wizard answered through nginx {time.monotonic() - started_at:.0f} s after the start')
            subprocess.run([*inside, 'systemctl', 'poweroff'], capture_output=True, timeout=30)
            nspawn.wait(timeout=60)


def add_probe(disk: Path, mount_point: Path) -> None:
    with mounted(disk, mount_point, read_only=False) as root:
        (root / 'usr/local/sbin/enclave-image-probe').write_text(PROBE)
        (root / 'usr/local/sbin/enclave-image-probe-ssh').write_text(PROBE_SSH)
        (root / 'etc/systemd/system/enclave-image-probe.service').write_text(PROBE_UNIT)
        wants = root / 'etc/systemd/system/multi-user.target.wants/enclave-image-probe.service'
        wants.symlink_to('/etc/systemd/system/enclave-image-probe.service')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


def qmp(path: Path, command: str) -> None:
    """One QMP command on qemu's control socket."""
    with socket.socket(socket.AF_UNIX) as control:
        control.settimeout(10)
        control.connect(str(path))
        reader = control.makefile('rb')
        reader.readline()  # the greeting
        for execute in ('qmp_capabilities', command):
            control.sendall(json.dumps({'execute': execute}).encode() + b'\n')
            while 'return' not in (reply := json.loads(reader.readline())) and 'error' not in reply:
                pass
            assert 'return' in reply, reply


def get(port: int, path: str, *, trust: ssl.SSLContext | None) -> tuple[int, dict[str, str], bytes]:
    if trust is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    else:
        connection = http.client.HTTPSConnection('127.0.0.1', port, timeout=5, context=trust)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def boot(disk: Path, work: Path, number: int) -> tuple[dict[str, list[str]], bytes, float]:
    """Boot the disk; wait for the wizard over HTTPS (trusting only the CA from port 80) and for the probe's report;
    shut down with the ACPI power button. Returns the probe's report, the CA and the seconds to the wizard."""
    http_port, https_port = free_port(), free_port()
    probe_log, serial_log, control = work / f'probe{number}.log', work / f'serial{number}.log', work / f'qmp{number}'
    argv = [
        'qemu-system-x86_64', '-accel', 'tcg,thread=multi', '-smp', '2', '-m', '2048', '-display', 'none',
        '-drive', f'file={disk},format=raw,if=ide', '-netdev',
        f'user,id=lan,hostfwd=tcp:127.0.0.1:{http_port}-:80,hostfwd=tcp:127.0.0.1:{https_port}-:443',
        '-device', 'e1000,netdev=lan', '-serial', f'file:{serial_log}', '-serial', f'file:{probe_log}',
        '-qmp', f'unix:{control},server=on,wait=off', '-no-reboot',
    ]  # fmt: skip
    started_at = time.monotonic()
    deadline = started_at + BOOT_DEADLINE
    with started(argv, work / f'qemu{number}.log') as qemu:

        def console() -> str:
            return serial_log.read_text(errors='replace')[-4000:] if serial_log.exists() else ''

        def report() -> str:
            return probe_log.read_text(errors='replace') if probe_log.exists() else ''

        ca, page, ready = b'', b'', 0.0
        while time.monotonic() < deadline and not page:
            assert qemu.poll() is None, f'qemu stopped:\n{console()}'
            assert 'NOSOCKET' not in report(), f'the app never started; the probe says:\n{report()}'
            try:
                status, headers, ca = get(http_port, '/ca.crt', trust=None)
                trust = ssl.create_default_context(cadata=ca.decode())
                status, headers, _ = get(https_port, '/', trust=trust)
                if status in (502, 503):  # nginx is up, the app is still starting
                    raise ConnectionRefusedError(status)
                assert status == 303 and headers['location'].endswith('/setup'), (status, headers)
                status, _, page = get(https_port, '/setup', trust=trust)
                assert status == 200, status
                ready = time.monotonic() - started_at
            except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
                time.sleep(2)
        assert page, f'no setup wizard over HTTPS within {BOOT_DEADLINE} s:\n{console()}'
        assert b'Set up Enclave' in page and b'enclave-ca.crt' in page
        status, headers, _ = get(http_port, '/', trust=None)
        assert status == 301 and headers['location'].startswith('https://'), (status, headers)

        # The probe has its own time after the wizard answered: on a busy host the boot may have used most of the
        # boot's deadline, and the probe's certificate round trips still need theirs.
        deadline = max(deadline, time.monotonic() + PROBE_DEADLINE)
        while time.monotonic() < deadline and 'PROBE-DONE' not in probe_log.read_text(errors='replace'):
            time.sleep(2)
        report: dict[str, list[str]] = {}
        for line in probe_log.read_text(errors='replace').splitlines():
            key, _, value = line.strip().partition(' ')
            report.setdefault(key, []).append(value)
        assert 'PROBE-DONE' in report, f'the probe did not report:\n{probe_log.read_text()}\n{console()}'

        # After the probe's certificate round trip nginx serves a fresh certificate from the same local CA (a reload
        # is graceful: new workers take over within moments).
        trusted = ssl.create_default_context(cadata=ca.decode())
        for _attempt in range(30):
            try:
                status = get(https_port, '/', trust=trusted)[0]
                break
            except ssl.SSLCertVerificationError:
                time.sleep(1)
        assert status == 303, f'nginx does not serve a certificate from the local CA again: {status}'

        qmp(control, 'system_powerdown')
        try:
            qemu.wait(timeout=max(30.0, min(180.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            raise AssertionError(f'the guest did not shut down on the ACPI power button:\n{console()}') from None
    return report, ca, ready


def test_the_image_boots_serves_the_wizard_over_https_and_first_boot_runs_once(disk: Path, tmp_path: Path) -> None:
    add_probe(disk, tmp_path / 'root')
    first, ca, ready = boot(disk, tmp_path, 1)
    print(f'first boot: the wizard answered over HTTPS {ready:.0f} s after qemu started')
    assert first['APPUSER'] == ['enclave']
    assert first['WORKERS'][0].split() == ['2', '2', '2'], first.get('WORKERS')  # processes, sockets, upstream servers
    assert (first['WORKER1'], first['WORKER2']) == (['1'], ['2'])
    listening = sorted({re.sub(r'^.*:', '', address) + '/' + proto for proto, address in (
        line.split(' ', 1) for line in first.get('LISTEN', []))})  # fmt: skip
    assert {port for port in listening if port.endswith('/tcp')} == {'80/tcp', '443/tcp'}, first.get('LISTEN')
    assert {port for port in listening if port.endswith('/udp')} <= {'68/udp', '546/udp'}, first.get('LISTEN')
    assert float(first['SECURITY'][0]) <= 3.0, first['SECURITY']
    # ... and the upgrade service's request watcher (console/upgrade/root_helper.py) waits for a request.
    assert first['ACTIVE'] == ['active active active active active'], first['ACTIVE']
    assert first['FAILED'] == [''], first['FAILED']
    assert first['ROOT'] == ['L'], 'root must be locked'
    assert first['SSHKEYS'] == ['0'], 'no SSH host keys until SSH is turned on'
    # listening on 22, open in nftables, root with a password (P), host keys made; then all of it undone
    assert first['SSHON'][0].split()[:3] == ['2', '1', 'P'] and int(first['SSHON'][0].split()[3]) >= 3, first['SSHON']
    assert first['SSHOFF'] == ['0 0 L'], first['SSHOFF']
    assert first['FIRSTBOOT'] == ['yes']
    screen = '\n'.join(first.get('SCREEN', []))
    assert f'Enclave {bundle.version()}' in screen and 'https://10.0.2.15/' in screen, screen
    assert 'Setup:   not done yet' in screen and 'SHA-256 fingerprint' in screen and '6) Shut down' in screen, screen
    assert first['OWNCERT'] == ['ok subject=CN = own.example'], first['OWNCERT']
    assert first['OWNKEY'] == ['0'], 'the root side leaves no key in the request folder'
    assert first['LOCALCERT'] == ['ok 1'], first['LOCALCERT']

    second, ca_again, ready_again = boot(disk, tmp_path, 2)
    print(f'second boot: the wizard answered {ready_again:.0f} s after qemu started')
    assert second['BOOTS'] == ['2']
    assert second['FIRSTBOOT'] == ['no'], 'first boot ran again'
    assert ca_again == ca, 'the local CA changed across a reboot'
    assert second['APPUSER'] == ['enclave'] and second['FAILED'] == ['']
