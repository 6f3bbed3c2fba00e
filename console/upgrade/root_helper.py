"""The root side of an upgrade: install a checked release beside the running one, switch to it, and undo all of it
when anything fails. Runs as root (provisioning/upgrade.sh, started by enclave-upgrade-request.path), with the
running release's python: `python -I -m console.upgrade.root_helper request|recover|status`.

The app asks by writing `<data>/upgrade-request/request` (JSON: `action` "upgrade" with a bundle's file name from
`<data>/upgrades/`, or "rollback" of an upgrade; who asked; whether a stale backup was accepted). The app owns that
folder, so nothing there is trusted: the request is read without following links, its fields are checked against
fixed patterns, and the bundle is copied into a root-only folder *before* its signature and checksums are checked
(the app cannot change it after the check), with the key that signed the installed release.

An upgrade, step by step, each step recorded in a journal (`/var/lib/enclave-upgrade/journal.json`, root only,
written atomically) before and after it runs:

1. copy and check the bundle; 2. install it in `/opt/enclave/releases/<new>/` with the bundle's own installer
(`install.sh --release-only`: its venv from the bundle's wheels, Debian packages only when missing or older, never
downgraded; `current` untouched); 3. note which health checks are green; 4. stop the app (nginx answers "Enclave
is starting" meanwhile); 5. take a snapshot with the old release (`enclave snapshot take --reason upgrade`, under
the maintenance lock); 6. switch `current` to the new release; 7. migrate the database with it; 8. start the app and
wait, at most `ENCLAVE_UPGRADE_DEADLINE` seconds, for /healthz and for every check that was green before.

When a step fails or the deadline passes: stop the app, switch `current` back, restore the snapshot with the old
release (the data the new one touched is moved aside, not deleted), start the old release, and record why. The new
release's folder stays for inspection. A power cut at any moment leaves the journal unfinished: the next boot
(enclave-upgrade-recover.service, before enclave.service) finishes the rollback, so the box always comes up as the
old release on the old data or the new release on migrated data, never a mix. A rollback the admin asks for later
("Roll back to <version>") is the same rollback, with the upgrade's snapshot.

Each finished upgrade or rollback is kept in `/var/lib/enclave-upgrade/history/<id>.json` with its log, and a copy
goes to `<data>/upgrade-request/history/` for the console (which records it in the audit log).

ENCLAVE_ROOT prefixes every path (tests run the helper in a folder); ENCLAVE_UPGRADE_SERVICE names a command called
with `start` or `stop` instead of systemctl; ENCLAVE_UPGRADE_AS is the user the app's commands run as ("" for the
helper's own); ENCLAVE_UPGRADE_HEALTHZ is /healthz's URL or Unix socket; ENCLAVE_UPGRADE_INSTALL replaces the
bundle's installer (a command run in the unpacked bundle with the release folder as its argument).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Imported now, not when first used: `current` changes under this process, and code loaded after the switch would
# come from the other release.
from console.upgrade.services import INSTALLED_KEY, MAX_BYTES, BundleRefused, check_bundle, release_key

REQUEST = 'request'
REQUEST_MAX = 4096
BUNDLE_NAME = re.compile(r'enclave-(\d+(?:\.\d+){0,3})-bundle\.tar')
UPGRADE_ID = re.compile(r'\d{8}-\d{6}-[0-9a-f]{6}')
ACTIONS = ('upgrade', 'rollback')
DEADLINE = 300.0
# Where the app listens behind nginx: numbered sockets with several workers, the configured one with one.
SOCKETS = ('/run/enclave/app-1.sock', '/run/enclave/app.sock')
ACTIVE = ('running', 'rolling_back')


class Refused(Exception):
    """The request cannot be carried out; nothing was changed. The message is the sentence the console shows."""


class StepFailed(Exception):
    """A step of a started upgrade failed: roll back."""


@dataclass(frozen=True)
class Box:
    """Where everything is on this box (ENCLAVE_ROOT prefixes it in tests) and how the app is run."""

    root: Path = Path('/')
    service: tuple[str, ...] = ()
    run_as: str = 'enclave'
    healthz: str = ''  # '' : the app's socket, /run/enclave/app-1.sock with several workers, app.sock with one
    installer: tuple[str, ...] = ()
    deadline: float = DEADLINE

    @classmethod
    def from_env(cls) -> Box:
        env = os.environ
        return cls(
            root=Path(env.get('ENCLAVE_ROOT') or '/'),
            service=tuple(shlex.split(env.get('ENCLAVE_UPGRADE_SERVICE', ''))),
            run_as=env.get('ENCLAVE_UPGRADE_AS', 'enclave'),
            healthz=env.get('ENCLAVE_UPGRADE_HEALTHZ', ''),
            installer=tuple(shlex.split(env.get('ENCLAVE_UPGRADE_INSTALL', ''))),
            deadline=float(env.get('ENCLAVE_UPGRADE_DEADLINE', DEADLINE)),
        )

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip('/')

    @property
    def opt(self) -> Path:
        return self.path('/opt/enclave')

    @property
    def releases(self) -> Path:
        return self.opt / 'releases'

    @property
    def data(self) -> Path:
        return self.path('/var/lib/enclave')

    @property
    def state(self) -> Path:
        return self.path('/var/lib/enclave-upgrade')

    @property
    def requests(self) -> Path:
        return self.data / 'upgrade-request'

    @property
    def journal(self) -> Path:
        return self.state / 'journal.json'

    def current_version(self) -> str:
        target = os.readlink(self.opt / 'current')
        return Path(target).name

    def release(self, version: str) -> Path:
        return self.releases / version

    def installed(self, version: str) -> bool:
        return (self.release(version) / '.complete').exists()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec='seconds')


def _write_json(path: Path, value: Any, mode: int = 0o600) -> None:
    """Write atomically and durably: a temporary file, fsync, rename, fsync of the folder."""
    temporary = path.with_name(f'.{path.name}.{secrets.token_hex(4)}')
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@dataclass
class Journal:
    """One upgrade or rollback: what was asked, each step as it happened, and how it ended."""

    box: Box
    record: dict[str, Any]
    log_lines: list[str] = field(default_factory=list)

    @classmethod
    def begin(cls, box: Box, **facts: Any) -> Journal:
        ident = f'{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}'
        record = {'id': ident, 'state': 'running', 'started_at': now(), 'steps': [], 'reason': '', **facts}
        journal = cls(box, record)
        journal.save()
        return journal

    @classmethod
    def active(cls, box: Box) -> Journal | None:
        try:
            record = json.loads(box.journal.read_text(encoding='utf-8'))
        except FileNotFoundError:
            return None
        log = box.state / f'{record["id"]}.log'
        lines = log.read_text(encoding='utf-8').splitlines() if log.exists() else []
        return cls(box, record, lines) if record.get('state') in ACTIVE else None

    @property
    def id(self) -> str:
        return str(self.record['id'])

    def did(self, step: str) -> bool:
        return any(item['step'] == step for item in self.record['steps'])

    def step(self, name: str, **facts: Any) -> None:
        """Record that `name` is done (or, for a step that changes the box, about to be: see `doing`)."""
        self.record['steps'].append({'step': name, 'at': now(), **facts})
        self.save()

    def log(self, line: str) -> None:
        stamped = f'{datetime.now(UTC):%H:%M:%S} {line}'
        self.log_lines.append(stamped)
        print(stamped, flush=True)
        with (self.box.state / f'{self.id}.log').open('a', encoding='utf-8') as handle:
            handle.write(stamped + '\n')

    def save(self) -> None:
        self.box.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_json(self.box.journal, self.record)
        self.publish('status.json')

    def finish(self, state: str, reason: str = '') -> None:
        self.record.update(state=state, finished_at=now(), reason=reason or self.record.get('reason', ''))
        started = datetime.fromisoformat(self.record['started_at'])
        self.record['duration_seconds'] = round((datetime.now(UTC) - started).total_seconds(), 1)
        history = self.box.state / 'history'
        history.mkdir(mode=0o700, parents=True, exist_ok=True)
        kept = {**self.record, 'log': self.log_lines}
        _write_json(history / f'{self.id}.json', kept)
        self.save()
        self.publish(f'history/{self.id}.json', kept)

    def publish(self, name: str, value: Any = None) -> None:
        """A copy for the console in the request folder (the app's: readable by it, never read back from it)."""
        body = json.dumps(self.record if value is None else value, ensure_ascii=False, indent=2).encode()
        try:
            with app_folder(self.box.requests, make=True) as folder:
                if name.startswith('history/'):
                    with suppress(FileExistsError):
                        os.mkdir('history', 0o750, dir_fd=folder)
                    sub = os.open('history', os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
                    try:
                        _give_to_app(self.box, sub)
                        _write_at(self.box, sub, name.removeprefix('history/'), body)
                    finally:
                        os.close(sub)
                else:
                    _give_to_app(self.box, folder)
                    _write_at(self.box, folder, name, body)
        except OSError as error:
            print(f'cannot write {name} in {self.box.requests}: {error}', file=sys.stderr)


def _write_at(box: Box, folder: int, name: str, body: bytes) -> None:
    """Write `name` in the open folder atomically, as a file the app may read."""
    temporary = f'.{name}.{secrets.token_hex(4)}'
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
    try:
        os.write(fd, body)
        os.fsync(fd)
        _give_to_app(box, fd)
    finally:
        os.close(fd)
    os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    os.fsync(folder)


def _give_to_app(box: Box, fd: int) -> None:
    """Make the open file or folder the app's (when running as root, as on the appliance)."""
    if os.geteuid() == 0 and box.run_as:
        user = pwd.getpwnam(box.run_as)
        os.fchown(fd, user.pw_uid, user.pw_gid)


@contextmanager
def app_folder(path: Path, *, make: bool = False) -> Iterator[int]:
    """A folder the app owns, opened without following a link at its last step (the app could have put one there:
    root must never read, write or remove through it). Yields the folder's descriptor for the *at() calls."""
    if make:
        with suppress(FileExistsError):
            path.mkdir(mode=0o750)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        yield fd
    finally:
        os.close(fd)


# The request, as the app wrote it.


def read_request(box: Box) -> dict[str, Any]:
    """The request in the app's folder, checked field by field, and removed; Refused with the reason."""
    try:
        with app_folder(box.requests) as folder:
            try:
                fd = os.open(REQUEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
            except OSError as error:
                raise Refused(f'The upgrade request cannot be read ({error.strerror}).') from error
            try:
                with os.fdopen(fd, 'rb') as handle:
                    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                        raise Refused('The upgrade request is not a file.')
                    raw = handle.read(REQUEST_MAX + 1)
            finally:
                with suppress(OSError):
                    os.unlink(REQUEST, dir_fd=folder)
    except OSError as error:
        raise Refused(f'The upgrade request folder cannot be opened ({error.strerror}).') from error
    if len(raw) > REQUEST_MAX:
        raise Refused('The upgrade request is too long.')
    try:
        asked = json.loads(raw)
    except ValueError as error:
        raise Refused('The upgrade request is not JSON.') from error
    if not isinstance(asked, dict) or asked.get('action') not in ACTIONS:
        raise Refused('The upgrade request asks for nothing this helper does.')
    by = asked.get('by', '')
    if not isinstance(by, str) or len(by) > 200 or not by.isprintable():
        raise Refused('The upgrade request names its sender oddly.')
    request = {'action': asked['action'], 'by': by, 'without_fresh_backup': asked.get('without_fresh_backup') is True}
    if asked['action'] == 'upgrade':
        name = asked.get('bundle')
        if not isinstance(name, str) or not BUNDLE_NAME.fullmatch(name):
            raise Refused('The upgrade request names no bundle.')
        request['bundle'] = name
    else:
        upgrade = asked.get('upgrade')
        if not isinstance(upgrade, str) or not UPGRADE_ID.fullmatch(upgrade):
            raise Refused('The rollback request names no upgrade.')
        request['upgrade'] = upgrade
    return request


# Running things.


def app_env(box: Box) -> dict[str, str]:
    env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}
    if box.root == Path('/'):
        env.update(
            ENCLAVE_DATA_DIR='/var/lib/enclave',
            ENCLAVE_CONFIG='/etc/enclave/enclave.toml',
            NICEGUI_STORAGE_PATH='/var/lib/enclave/nicegui',
            HOME='/var/lib/enclave',
        )
    else:  # tests: the data dir in the folder, everything else as the test set it
        env.update({k: v for k, v in os.environ.items() if k.startswith(('ENCLAVE_', 'NICEGUI_', 'HOME'))})
        env['ENCLAVE_DATA_DIR'] = str(box.data)
    return env


def run(journal: Journal, argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run a command, log its output, and raise StepFailed with its last lines when it fails."""
    journal.log('$ ' + shlex.join(argv))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as error:
        journal.log(f'  {error}')
        raise StepFailed(f'{Path(argv[0]).name} could not run: {error}') from error
    for line in (done.stdout + done.stderr).splitlines()[-60:]:
        journal.log('  ' + line)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [f'exit status {done.returncode}']
        command = argv[argv.index('--') + 1 :] if '--' in argv else argv
        raise StepFailed(f'{shlex.join([Path(command[0]).name, *command[1:3]])} failed: {last[0][:300]}')
    return done.stdout


def enclave(box: Box, journal: Journal, version: str, *args: str, timeout: float = 600) -> str:
    """`enclave ARGS` of release `version`, as the app's user, on the app's data."""
    argv = [str(box.release(version) / 'venv' / 'bin' / 'enclave'), *args]
    if box.run_as and os.geteuid() == 0:
        argv = ['runuser', '-u', box.run_as, '--', *argv]
    return run(journal, argv, timeout=timeout, env=app_env(box))


def service(box: Box, journal: Journal, verb: str) -> None:
    argv = [*box.service, verb] if box.service else ['systemctl', verb, 'enclave.service']
    run(journal, argv, timeout=120)


def switch(box: Box, version: str) -> None:
    """Point `current` at releases/<version>, atomically and durably."""
    link = box.opt / 'current'
    if os.path.islink(link) and os.readlink(link) == f'releases/{version}':
        return
    temporary = box.opt / 'current.new'
    with suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(f'releases/{version}')
    os.replace(temporary, link)
    folder = os.open(box.opt, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def green_checks(box: Box, journal: Journal, version: str) -> set[str]:
    """The health checks that are green now, as release `version` sees them."""
    argv = [str(box.release(version) / 'venv' / 'bin' / 'enclave'), 'health', '--json']
    if box.run_as and os.geteuid() == 0:
        argv = ['runuser', '-u', box.run_as, '--', *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=app_env(box), check=False)  # noqa: S603
    try:
        checks = json.loads(done.stdout)['checks']
    except (ValueError, KeyError, TypeError):
        journal.log(f'  health: no answer ({(done.stderr.strip().splitlines() or ["?"])[-1][:200]})')
        return set()
    return {check['name'] for check in checks if check['status'] == 'green'}


def healthz(box: Box) -> bool:
    """Whether the app answers /healthz with "ok" (on its Unix socket, or the URL the tests give)."""
    target = box.healthz or next((socket for socket in SOCKETS if os.path.exists(box.path(socket))), SOCKETS[0])
    try:
        if target.startswith('/'):
            client = httpx.Client(transport=httpx.HTTPTransport(uds=str(box.path(target))), timeout=5)
            answer = client.get('http://localhost/healthz')
        else:
            answer = httpx.get(target, timeout=5)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.json().get('status') == 'ok'


def wait_healthy(box: Box, journal: Journal, version: str, wanted: set[str]) -> None:
    """Wait for /healthz and every check in `wanted`, until the deadline; StepFailed saying what is missing."""
    deadline = time.monotonic() + box.deadline
    while not healthz(box):
        if time.monotonic() > deadline:
            raise StepFailed(f'Enclave {version} did not answer on /healthz within {box.deadline:.0f} s.')
        time.sleep(0.25)
    journal.log(f'Enclave {version} answers /healthz')
    while True:
        missing = wanted - green_checks(box, journal, version)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise StepFailed(f'These health checks were green before and are not now: {", ".join(sorted(missing))}.')
        time.sleep(3)


# Checking and installing a bundle.


def trusted_key(box: Box, version: str) -> Ed25519PublicKey:
    """The key the running release was verified with (install.sh keeps it); the product's key for older installs."""
    kept = box.release(version) / INSTALLED_KEY
    return release_key(kept.read_bytes() if kept.is_file() else None)


def take_bundle(box: Box, journal: Journal, name: str) -> Path:
    """Copy the bundle out of the app's reach (root-only) before checking it."""
    try:
        with app_folder(box.data / 'upgrades') as folder:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError as error:
        raise Refused(f'The bundle {name} cannot be read ({error.strerror}).') from error
    with os.fdopen(fd, 'rb') as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f'{name} is not a file.')
        if info.st_size > MAX_BYTES:
            raise Refused(f'{name} is larger than a bundle can be.')
        if shutil.disk_usage(box.state).free < 3 * info.st_size:
            raise Refused(f'There is not enough free space to unpack {name}.')
        copy = box.state / f'{journal.id}.tar'
        with copy.open('wb') as out:
            shutil.copyfileobj(handle, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    copy.chmod(0o600)
    return copy


def install_release(box: Box, journal: Journal, bundle: Path, version: str) -> None:
    """Unpack the checked bundle and install its release beside the running one (`current` is not touched)."""
    if box.installed(version):
        journal.log(f'release {version} is already installed')
        return
    scratch = box.state / f'{journal.id}.unpacked'
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    try:
        with tarfile.open(bundle) as archive:
            # check_bundle let through only files and folders inside the bundle's one folder; Debian 12's Python
            # (3.11.2) has no extraction filters, newer ones get the data filter on top.
            if hasattr(tarfile, 'data_filter'):
                archive.extractall(scratch, filter='data')
            else:
                archive.extractall(scratch)  # noqa: S202 - members checked above
        unpacked = scratch / f'enclave-{version}'
        argv = [*box.installer, str(box.release(version))] if box.installer else ['sh', 'install.sh', '--release-only']
        journal.log('$ ' + shlex.join(argv))
        done = subprocess.run(argv, cwd=unpacked, capture_output=True, text=True, timeout=1800, check=False)  # noqa: S603
        for line in (done.stdout + done.stderr).splitlines()[-80:]:
            journal.log('  ' + line)
        if done.returncode != 0 or not box.installed(version):
            raise StepFailed(f'The release {version} could not be installed (see the log).')
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# The upgrade, the rollback, and what a boot finds.


def upgrade(box: Box, request: dict[str, Any]) -> Journal:
    """Carry out an upgrade request; see the module's docstring. Returns the finished journal."""
    old = box.current_version()
    name = request['bundle']
    journal = Journal.begin(
        box,
        action='upgrade',
        by=request['by'],
        bundle=name,
        from_version=old,
        to_version=BUNDLE_NAME.fullmatch(name).group(1),  # type: ignore[union-attr]
        without_fresh_backup=request['without_fresh_backup'],
    )
    journal.log(f'upgrade of Enclave {old} with {name}, asked by {request["by"] or "?"}')
    try:
        copy = take_bundle(box, journal, name)
        try:
            facts = check_bundle(copy, running=old, public_key=trusted_key(box, old))
        except BundleRefused as error:
            raise Refused(str(error)) from error
        new = facts.version
        journal.record['to_version'] = new
        journal.step('checked', files=facts.files, bytes=facts.bytes)
        journal.log(f'bundle verified: Enclave {new}')
        install_release(box, journal, copy, new)
        copy.unlink()
        journal.step('installed')
        wanted = green_checks(box, journal, old)
        journal.log('green before: ' + (', '.join(sorted(wanted)) or 'none'))
    except Refused as error:
        journal.log(str(error))
        with suppress(OSError):
            (box.state / f'{journal.id}.tar').unlink()
        journal.finish('refused', str(error))
        return journal
    except Exception as error:  # noqa: BLE001 - whatever went wrong before the app was stopped changed nothing
        reason = str(error) if isinstance(error, StepFailed) else f'{type(error).__name__}: {error}'
        journal.log(reason)
        journal.finish('failed', reason)
        return journal
    try:
        journal.step('stopping')
        down = time.monotonic()
        service(box, journal, 'stop')
        journal.step('stopped')
        made = json.loads(enclave(box, journal, old, 'snapshot', 'take', '--reason', 'upgrade', '--json'))
        journal.record['snapshot'] = made['id']
        journal.step('snapshot', snapshot=made['id'])
        journal.step('switching')
        switch(box, new)
        journal.step('switched')
        enclave(box, journal, new, 'migrate', timeout=3600)
        journal.step('migrated')
        service(box, journal, 'start')
        journal.step('started')
        wait_healthy(box, journal, new, wanted)
        journal.record['downtime_seconds'] = round(time.monotonic() - down, 1)
        journal.log(f'Enclave {new} is up and healthy')
        journal.finish('done')
    except Exception as error:  # noqa: BLE001 - any failure after the stop, expected or not, is rolled back
        reason = str(error) if isinstance(error, StepFailed) else f'{type(error).__name__}: {error}'
        journal.log(f'FAILED: {reason}')
        roll_back(box, journal, reason, start=True)
    return journal


def roll_back(box: Box, journal: Journal, reason: str, *, start: bool) -> None:
    """Undo an unfinished upgrade: the old release on the data of its snapshot. Safe to run again after a crash."""
    record = journal.record
    old = record['from_version']
    record.update(state='rolling_back', reason=reason)
    journal.step('rolling_back')
    down = time.monotonic()
    try:
        if not journal.did('stopped'):  # the app was never stopped: nothing but the new release's folder changed
            switch(box, old)
            journal.finish('failed', reason)
            return
        if start:
            service(box, journal, 'stop')
        switch(box, old)
        journal.log(f'current -> releases/{old}')
        if journal.did('switching') and record.get('snapshot'):
            enclave(box, journal, old, 'snapshot', 'restore', record['snapshot'], '--yes', timeout=3600)
            journal.log(f'restored snapshot {record["snapshot"]} (the data the new release touched is aside)')
        if start:
            service(box, journal, 'start')
            wait_healthy(box, journal, old, set())
        record['rollback_seconds'] = round(time.monotonic() - down, 1)
        journal.finish('rolled_back', reason)
    except StepFailed as error:
        # Left for the admin (and for the next boot, which tries again): the journal stays unfinished.
        journal.log(f'THE ROLLBACK FAILED: {error}')
        record['state'] = 'rolling_back'
        journal.save()
        raise


def rollback_request(box: Box, request: dict[str, Any]) -> Journal:
    """Roll a finished upgrade back on the admin's word: the old release and the snapshot taken before it."""
    kept = box.state / 'history' / f'{request["upgrade"]}.json'
    try:
        upgraded = json.loads(kept.read_text(encoding='utf-8'))
    except (OSError, ValueError) as error:
        raise Refused('There is no such upgrade to roll back.') from error
    current = box.current_version()
    if upgraded.get('state') != 'done' or upgraded.get('to_version') != current:
        raise Refused(f'Only the upgrade that installed the running release ({current}) can be rolled back.')
    old = upgraded['from_version']
    if not box.installed(old):
        raise Refused(f'Enclave {old} is no longer installed, so it cannot be rolled back to.')
    snapshot = box.data / 'snapshots' / upgraded.get('snapshot', '')
    if not upgraded.get('snapshot') or not (snapshot / 'snapshot.json').is_file():
        raise Refused(f'The snapshot taken before the upgrade to {current} is gone, so it cannot be rolled back.')
    journal = Journal.begin(
        box,
        action='rollback',
        by=request['by'],
        upgrade=request['upgrade'],
        from_version=old,  # what a rollback goes back to: the same fields as the upgrade it undoes
        to_version=current,
        snapshot=upgraded['snapshot'],
    )
    journal.log(f'rollback of the upgrade {request["upgrade"]} to Enclave {old}, asked by {request["by"] or "?"}')
    for step in ('stopped', 'switching'):
        journal.step(step)
    roll_back(box, journal, f'asked by {request["by"] or "the admin"}', start=True)
    return journal


def recover(box: Box, *, start: bool) -> Journal | None:
    """Finish what a crash or power cut interrupted: an unfinished upgrade or rollback is rolled back."""
    journal = Journal.active(box)
    if journal is None:
        return None
    last = journal.record['steps'][-1]['step'] if journal.record['steps'] else 'the start'
    journal.log(f'an interrupted {journal.record["action"]} found (last step: {last}); rolling back')
    if journal.record['action'] == 'rollback' and journal.record['state'] == 'running':
        journal.record['state'] = 'rolling_back'
    reason = journal.record.get('reason') or f'interrupted (power cut or crash) after the step "{last}"'
    roll_back(box, journal, reason, start=start)
    return journal


@contextmanager
def locked(box: Box) -> Iterator[None]:
    box.state.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(box.state / 'lock', os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def handle_request(box: Box) -> Journal | None:
    """What enclave-upgrade-request.service runs: finish an interrupted one first, then the new request."""
    with locked(box):
        recover(box, start=True)
        try:
            request = read_request(box)
        except Refused as error:
            journal = Journal.begin(box, action='request', by='', from_version=box.current_version())
            journal.log(str(error))
            journal.finish('refused', str(error))
            return journal
        if request['action'] == 'upgrade':
            return upgrade(box, request)
        try:
            return rollback_request(box, request)
        except Refused as error:
            journal = Journal.begin(box, action='rollback', by=request['by'], from_version=box.current_version())
            journal.log(str(error))
            journal.finish('refused', str(error))
            return journal


COMMANDS: dict[str, Callable[[Box], Journal | None]] = {
    'request': handle_request,
    'recover': lambda box: _recover_locked(box),
}


def _recover_locked(box: Box) -> Journal | None:
    with locked(box):
        # At boot (before enclave.service): the app is not running and is started by the boot itself.
        return recover(box, start=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='The root side of Enclave upgrades (see the module docstring).')
    parser.add_argument('command', choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    os.umask(0o022)
    box = Box.from_env()
    try:
        journal = COMMANDS[args.command](box)
    except StepFailed as error:
        print(f'enclave upgrade: {error}', file=sys.stderr)
        return 1
    if journal is not None:
        print(f'enclave upgrade: {journal.record["action"]} {journal.id}: {journal.record["state"]}')
        return 0 if journal.record['state'] in ('done', 'rolled_back', 'refused', 'failed') else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
