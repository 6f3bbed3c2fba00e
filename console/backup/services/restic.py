"""restic, run as a subprocess: argv lists, a timeout, exit codes and stderr turned into errors an admin can act on.

Debian 12 ships restic 0.14, whose `--json` covers backup, snapshots, stats, ls, find, forget and diff, but not
init, check, restore or prune; and which exits 1 both for a missing repository and for a wrong password (the
dedicated exit codes 10-12 came later), so failures are told apart by restic's own `Fatal:` sentence.
The repository password never appears in argv or the environment's value: restic reads it from a 0600 file.
Every call is blocking; the console runs them off the event loop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.errors import N_, ServiceError

RESTIC = 'restic'
DEFAULT_TIMEOUT = 60.0


class ResticError(ServiceError):
    """restic failed; `message` says what happened and what to do, `detail` keeps restic's own words."""

    code = 'backup_failed'
    status = 502

    def __init__(self, message: str, *, detail: str = '', **params: Any) -> None:
        super().__init__(message, **params)
        self.detail = detail


class RepositoryNotFound(ResticError):
    """There is no restic repository at the location (or it cannot be reached)."""

    code = 'repository_not_found'


class WrongPassword(ResticError):
    """The repository exists but the password does not open it."""

    code = 'repository_wrong_password'


class RepositoryLocked(ResticError):
    """Another restic process holds a lock on the repository."""

    code = 'repository_locked'


class RepositoryDamaged(ResticError):
    """Part of the repository (a pack, an index, a snapshot file) cannot be read back: its content is damaged."""

    code = 'repository_damaged'


class NoSpace(ResticError):
    """The disk that holds the repository (or the restore target) is full."""

    code = 'no_space'


class ResticTimeout(ResticError):
    """restic did not finish in time and was stopped."""

    code = 'backup_timeout'


class ResticMissing(ResticError):
    """The restic program is not installed."""

    code = 'restic_missing'


@dataclass(frozen=True)
class Snapshot:
    """One snapshot of a repository."""

    id: str
    short_id: str
    time: str
    paths: tuple[str, ...]
    tags: tuple[str, ...]
    hostname: str


@dataclass(frozen=True)
class BackupSummary:
    """What restic reported at the end of a backup."""

    snapshot_id: str
    files_new: int
    files_changed: int
    files_unmodified: int
    data_added: int
    total_files_processed: int
    total_bytes_processed: int
    total_duration: float


@dataclass(frozen=True)
class Progress:
    """A status line of a running backup."""

    percent_done: float
    total_files: int
    files_done: int
    total_bytes: int
    bytes_done: int
    seconds_elapsed: int


@dataclass
class Repository:
    """A restic repository: its location (a path, `sftp:...`, `rest:...`, `s3:...`) and its password file.

    `env` adds variables restic needs for some backends (e.g. AWS_ACCESS_KEY_ID for s3); `cache_dir` keeps
    restic's cache inside the data dir instead of the user's home.
    """

    location: str
    password_file: Path
    cache_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    binary: str = RESTIC
    # Extended options (`-o key=value` pairs), e.g. the sftp.command that gives ssh the box's own key.
    options: tuple[str, ...] = ()
    # Run restic at a lower CPU and I/O priority, so that pages stay quick while a backup runs (an idle box
    # gives it every cycle all the same).
    background: bool = False

    def uncached(self) -> Repository:
        """The same repository read without any cache (`--no-cache`): what a freshly installed box sees.

        restic's cache keeps index, snapshot and tree data of this box; reading through it, a restore can succeed
        although those parts of the repository are damaged. Drills and restores must prove the repository itself.
        """
        return replace(self, cache_dir=None)

    # --- running restic ---------------------------------------------------------------------------------------

    def _argv(self, args: Sequence[str]) -> list[str]:
        binary = shutil.which(self.binary)
        if binary is None:
            raise ResticMissing(N_('restic is not installed. Install the Debian package "restic" and try again.'))
        argv = [binary, '--repo', self.location, '--password-file', str(self.password_file)]
        if self.background:
            argv = _lower_priority() + argv
        argv += ['--cache-dir', str(self.cache_dir)] if self.cache_dir else ['--no-cache']
        return argv + list(self.options) + list(args)

    def _environment(self) -> dict[str, str]:
        keep = ('PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SSH_AUTH_SOCK')
        base = {key: value for key, value in os.environ.items() if key in keep}
        # Never inherit another repository's settings from the environment.
        return {**base, 'RESTIC_PROGRESS_FPS': '2', **self.env}

    def run(self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, ok_codes: tuple[int, ...] = (0,)) -> str:
        """Run `restic <args>` and return its stdout; raise a ResticError naming the cause on failure."""
        try:
            result = subprocess.run(  # noqa: S603 - argv list, no shell
                self._argv(args),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self._environment(),
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ResticTimeout(
                N_('restic did not finish within {seconds} seconds and was stopped.'), seconds=int(timeout)
            ) from error
        if result.returncode not in ok_codes:
            raise explain(result.returncode, result.stderr)
        return result.stdout

    def run_json(self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Run a command that prints one JSON document (`--json` is added)."""
        out = self.run(['--json', *args], timeout=timeout)
        try:
            return json.loads(out or 'null')
        except json.JSONDecodeError as error:
            raise ResticError(N_('restic answered something unexpected.'), detail=out[-2000:]) from error

    # --- commands -----------------------------------------------------------------------------------------------

    def init(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Create the repository (encrypted with the password in `password_file`)."""
        self.run(['init'], timeout=timeout)

    def exists(self, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True when a repository is there and the password opens it (False when there is none)."""
        try:
            self.run(['cat', 'config'], timeout=timeout)
        except RepositoryNotFound:
            return False
        return True

    def snapshot_ids(self, *, timeout: float = DEFAULT_TIMEOUT) -> set[str]:
        """The ids of every snapshot file in the repository, whether or not it can be read."""
        return {line.strip() for line in self.run(['list', 'snapshots'], timeout=timeout).splitlines() if line.strip()}

    def snapshots(self, *, tag: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[Snapshot]:
        """Every snapshot, oldest first."""
        data = self.run_json(['snapshots', *(['--tag', tag] if tag else [])], timeout=timeout) or []
        return [
            Snapshot(
                id=item['id'],
                short_id=item.get('short_id', item['id'][:8]),
                time=item['time'],
                paths=tuple(item.get('paths') or ()),
                tags=tuple(item.get('tags') or ()),
                hostname=item.get('hostname', ''),
            )
            for item in data
        ]

    def backup(
        self,
        paths: Sequence[Path],
        *,
        tags: Sequence[str] = (),
        excludes: Sequence[Path] = (),
        on_progress: Callable[[Progress], None] | None = None,
        timeout: float = 24 * 3600,
    ) -> BackupSummary:
        """Back up `paths` (without `excludes`); `on_progress` gets restic's status lines. Returns restic's summary."""
        args = ['--json', 'backup', *(arg for tag in tags for arg in ('--tag', tag))]
        args += [arg for path in excludes for arg in ('--exclude', str(path))]
        args += [str(p) for p in paths]
        process = subprocess.Popen(  # noqa: S603 - argv list, no shell
            self._argv(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self._environment(),
        )
        summary: dict[str, Any] | None = None
        try:
            assert process.stdout is not None
            for line in process.stdout:
                message = _parse_line(line)
                if message.get('message_type') == 'status' and on_progress is not None:
                    on_progress(_progress(message))
                elif message.get('message_type') == 'summary':
                    summary = message
            stderr = process.stderr.read() if process.stderr else ''
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            process.kill()
            process.wait()
            raise ResticTimeout(
                N_('restic did not finish within {seconds} seconds and was stopped.'), seconds=int(timeout)
            ) from error
        except BaseException:
            process.kill()
            process.wait()
            raise
        # 3: some source files could not be read; the snapshot was still made (restic says which files).
        if code not in (0, 3) or summary is None:
            raise explain(code, stderr)
        return BackupSummary(
            snapshot_id=str(summary.get('snapshot_id', '')),
            files_new=int(summary.get('files_new', 0)),
            files_changed=int(summary.get('files_changed', 0)),
            files_unmodified=int(summary.get('files_unmodified', 0)),
            data_added=int(summary.get('data_added', 0)),
            total_files_processed=int(summary.get('total_files_processed', 0)),
            total_bytes_processed=int(summary.get('total_bytes_processed', 0)),
            total_duration=float(summary.get('total_duration', 0.0)),
        )

    def restore(self, snapshot: str, target: Path, *, timeout: float = 24 * 3600) -> None:
        """Restore a snapshot (an id or 'latest') into `target`, which must be empty or missing."""
        if target.exists() and any(target.iterdir()):
            raise ResticError(N_('The restore target {path} is not empty.'), path=str(target))
        self.run(['restore', snapshot, '--target', str(target)], timeout=timeout)

    def check(self, *, read_data_subset: str = '', timeout: float = 6 * 3600) -> None:
        """Verify the repository's structure (and, with `read_data_subset` such as '5%', that much of its data)."""
        args = ['check', *(['--read-data-subset', read_data_subset] if read_data_subset else [])]
        try:
            self.run(args, timeout=timeout)
        except (RepositoryNotFound, WrongPassword, RepositoryLocked, NoSpace, ResticTimeout, ResticMissing):
            raise
        except ResticError as error:
            raise ResticError(
                N_(
                    'The repository is damaged: restic check found errors. Do not rely on it; make a new backup '
                    'to another target and look at the details.'
                ),
                detail=error.detail,
            ) from error

    def forget(
        self,
        *,
        keep_daily: int = 7,
        keep_weekly: int = 4,
        keep_monthly: int = 12,
        prune: bool = True,
        timeout: float = 6 * 3600,
    ) -> None:
        """Drop snapshots outside the retention policy (and, with `prune`, the data only they used)."""
        args = ['forget', '--keep-daily', str(keep_daily), '--keep-weekly', str(keep_weekly)]
        args += ['--keep-monthly', str(keep_monthly), *(['--prune'] if prune else [])]
        self.run(args, timeout=timeout)

    def unlock(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Remove stale locks: restic's own rule is a lock of this host whose process is gone, or one not refreshed
        for 30 minutes (a running restic refreshes its lock every 5). A live lock, of this or another host, stays.

        One case restic cannot see: process numbers are reused, and on a busy box a killed restic's number can be
        taken by another program within seconds, which makes its lock look alive for half an hour. So when every
        lock left is of this host and none of their processes is a restic, they all go (`unlock --remove-all`).
        Callers hold the maintenance lock: no restic of ours runs meanwhile.
        """
        self.run(['unlock'], timeout=timeout)
        locks = self.locks(timeout=timeout)
        host = socket.gethostname()
        if locks and all(lock.get('hostname') == host and not _is_restic(lock.get('pid')) for lock in locks):
            self.run(['unlock', '--remove-all'], timeout=timeout)

    def locks(self, *, timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
        """The repository's locks as restic stores them (time, exclusive, hostname, username, pid, ...)."""
        found = []
        for lock_id in self.run(['--no-lock', 'list', 'locks'], timeout=timeout).split():
            try:
                found.append(json.loads(self.run(['--no-lock', 'cat', 'lock', lock_id], timeout=timeout)))
            except (ResticError, ValueError):
                continue  # removed meanwhile, or unreadable: restic's own rules apply to it
        return found


def _lower_priority() -> list[str]:
    prefix: list[str] = []
    nice = shutil.which('nice')
    if nice:
        prefix += [nice, '-n', '10']
    ionice = shutil.which('ionice')
    if ionice:
        prefix += [ionice, '-c', '2', '-n', '7']
    return prefix


def _parse_line(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _progress(message: dict[str, Any]) -> Progress:
    return Progress(
        percent_done=float(message.get('percent_done', 0.0)),
        total_files=int(message.get('total_files', 0)),
        files_done=int(message.get('files_done', 0)),
        total_bytes=int(message.get('total_bytes', 0)),
        bytes_done=int(message.get('bytes_done', 0)),
        seconds_elapsed=int(message.get('seconds_elapsed', 0)),
    )


def _is_restic(pid: object) -> bool:
    """Whether process `pid` of this machine is a restic (its command name; restic names itself so)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        return Path(f'/proc/{pid}/comm').read_text(encoding='utf-8').strip() == 'restic'
    except OSError:
        return False


# How restic 0.14 names a lock it cannot take: "repository is already locked [exclusively] by PID 123 on host by
# user (UID 0, GID 0)" and "lock was created at 2026-12-06 03:44:31 (47s ago)".
_LOCK_HOLDER = re.compile(r'locked (?:exclusively )?by PID (?P<pid>\d+) on (?P<host>\S+)')
_LOCK_SINCE = re.compile(r'lock was created at (\d{4}-\d\d-\d\d \d\d:\d\d)')
# What restic 0.14 says when it reads back bytes that are not what it wrote (a pack, an index or a snapshot file).
_DAMAGE = (
    'ciphertext verification failed',
    'invalid data returned',
    'could not load snapshot',
    'error loading snapshot',
    'hash does not match',
)


def explain(code: int, stderr: str) -> ResticError:
    """The error for a failed restic run, from its exit code and its `Fatal:` sentence."""
    detail = stderr.strip()[-2000:]
    text = stderr.lower()
    if 'unable to open config file' in text or 'repository does not exist' in text or code == 10:
        return RepositoryNotFound(
            N_('There is no backup repository at this location. Check the address, or create the repository.'),
            detail=detail,
        )
    if 'wrong password' in text or code == 12:
        return WrongPassword(
            N_('The password does not open this backup repository. Use the password from the recovery kit.'),
            detail=detail,
        )
    if 'repository is already locked' in text or 'unable to create lock' in text or code == 11:
        holder = _LOCK_HOLDER.search(stderr)
        if holder is not None:
            since = _LOCK_SINCE.search(stderr)
            return RepositoryLocked(
                N_(
                    'The repository is in use by restic on the computer "{host}" (process {pid}, since {since}); '
                    'its lock was left in place. Wait for that run to finish, then try again. If that computer '
                    'stopped, its lock expires 30 minutes after it was last renewed.'
                ),
                detail=detail,
                host=holder.group('host'),
                pid=holder.group('pid'),
                since=since.group(1) if since else '?',
            )
        return RepositoryLocked(
            N_('Another backup program is using this repository. Wait for it to finish, then try again.'),
            detail=detail,
        )
    if any(marker in text for marker in _DAMAGE):
        return RepositoryDamaged(
            N_(
                'The repository is damaged: restic could not read part of it back (the details name it). Do not rely '
                'on it: run a repository check, and make a new backup to another target.'
            ),
            detail=detail,
        )
    if 'no space left on device' in text:
        return NoSpace(
            N_('The backup disk is full. Free space on it or choose another target, then run the backup again.'),
            detail=detail,
        )
    return ResticError(N_('restic failed (exit code {exit_code}). The details say why.'), exit_code=code, detail=detail)
