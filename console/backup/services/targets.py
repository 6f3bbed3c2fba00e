"""Backup targets: restic repositories the box backs up to, each with its password file, schedules and retention.

A target's password is generated when the console creates its repository (or typed in, when the repository
already exists, e.g. from a recovery kit on a fresh box) and kept in a 0600 file under
`<data>/keys/backup/<name>.password`, never in the database and never on a command line. S3 keys are stored
encrypted with the data key. SFTP targets use the box's own SSH key (`<data>/keys/backup/ssh_ed25519`), whose
public half the console shows for the admin to add to the server's `authorized_keys`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.errors import N_, Conflict, NotFound, ValidationError
from appliance.fsutil import atomic_write_bytes
from appliance.secrets import data_encryption_key, keys_dir
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.backup.services.cronspec import apscheduler_crontab
from console.backup.services.restic import Repository, RepositoryNotFound, ResticError
from console.models import (
    DEFAULT_BACKUP_CRON,
    DEFAULT_CHECK_CRON,
    DEFAULT_DRILL_CRON,
    DEFAULT_READ_DATA_CRON,
    DEFAULT_READ_DATA_SUBSET,
    Target,
)

PERMISSION = 'console.manage'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')
SCHEMES = ('sftp:', 'rest:', 's3:')
ENV_KEYS = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_DEFAULT_REGION')
SFTP_RE = re.compile(r'^sftp:(?://)?(?P<user>[^@/:\s]+)@(?P<host>[^:/\s]+)(?::(?P<port>\d+))?[:/]?(?P<path>/.*)$')
CRON_FIELDS = ('backup_cron', 'check_cron', 'read_data_cron', 'drill_cron')


class TargetError(ValidationError):
    """A target's settings are not usable."""

    code = 'target_invalid'


def backup_keys_dir(data_dir: Path) -> Path:
    """`<data>/keys/backup` (0700): repository passwords, the box's SSH key and the SSH hosts it has met."""
    path = keys_dir(data_dir) / 'backup'
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def password_file(data_dir: Path, name: str) -> Path:
    """Where the repository password of target `name` is kept."""
    return backup_keys_dir(data_dir) / f'{name}.password'


def ssh_key(data_dir: Path) -> Path:
    """The box's SSH private key for SFTP targets, made on first use (ed25519, no passphrase, 0600)."""
    key = backup_keys_dir(data_dir) / 'ssh_ed25519'
    if not key.exists():
        binary = shutil.which('ssh-keygen')
        if binary is None:
            raise TargetError(N_('ssh-keygen is not installed; install the Debian package "openssh-client".'))
        subprocess.run(  # noqa: S603 - argv list
            [binary, '-q', '-t', 'ed25519', '-N', '', '-C', 'enclave-backup', '-f', str(key)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return key


def ssh_public_key(data_dir: Path) -> str:
    """The line to add to `~/.ssh/authorized_keys` on an SFTP server."""
    return Path(f'{ssh_key(data_dir)}.pub').read_text(encoding='utf-8').strip()


def _sftp_command(data_dir: Path, repository: str) -> list[str]:
    match = SFTP_RE.match(repository)
    if match is None:
        raise TargetError(
            N_('Write an SFTP repository as sftp:user@host:/path or sftp://user@host:port//path.'),
        )
    known_hosts = backup_keys_dir(data_dir) / 'known_hosts'
    command = ['ssh', '-i', str(ssh_key(data_dir)), '-o', f'UserKnownHostsFile={known_hosts}']
    command += ['-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15']
    if match['port']:
        command += ['-p', match['port']]
    return [*command, f'{match["user"]}@{match["host"]}', '-s', 'sftp']


def clean_repository(data_dir: Path, repository: str) -> str:
    """The repository string, checked: an absolute local path outside the data dir, or sftp:, rest:, s3:."""
    value = repository.strip()
    if not value:
        raise TargetError(N_('Enter the repository: a folder such as /mnt/backup/enclave, or sftp:, rest:, s3:.'))
    if len(value) > 500 or any(ch in value for ch in '\n\r\0'):
        raise TargetError(N_('The repository is too long or contains line breaks.'))
    if value.startswith(SCHEMES):
        if value.startswith('sftp:'):
            _sftp_command(data_dir, value)
        return value
    if ':' in value.split('/', 1)[0]:
        raise TargetError(
            N_('Unknown repository type "{scheme}". Use a local folder, sftp:, rest: or s3:.'),
            scheme=value.split(':', 1)[0],
        )
    path = Path(value)
    if not path.is_absolute():
        raise TargetError(N_('A local repository needs a full path starting with /, e.g. /mnt/backup/enclave.'))
    resolved = path.resolve()
    data = data_dir.resolve()
    if resolved == data or data in resolved.parents or resolved in data.parents:
        raise TargetError(
            N_(
                'The repository must not be inside the data folder {data}: a backup there dies with the data. '
                'Use a second disk, a USB disk or a network share.'
            ),
            data=str(data),
        )
    return str(resolved)


def clean_name(name: str) -> str:
    """A target name: letters, digits, - and _, up to 64 characters, starting with a letter or digit."""
    value = name.strip()
    if not NAME_RE.match(value):
        raise TargetError(N_('A target name uses letters, digits, - and _ (up to 64), e.g. usb-disk or nas.'))
    return value


def clean_cron(value: str) -> str:
    """A five-field crontab expression such as `0 2 * * *`."""
    text = ' '.join(value.split())
    try:
        CronTrigger.from_crontab(apscheduler_crontab(text))
    except ValueError as error:
        raise TargetError(
            N_('"{value}" is not a schedule: write five fields, minute hour day month weekday, e.g. 0 2 * * *.'),
            value=value,
        ) from error
    return text


def clean_environment(environment: dict[str, str]) -> dict[str, str]:
    """Only the variables restic's S3 backend reads, with no empty values."""
    unknown = sorted(set(environment) - set(ENV_KEYS))
    if unknown:
        raise TargetError(
            N_('Unknown setting {names}; allowed: {allowed}.'), names=', '.join(unknown), allowed=', '.join(ENV_KEYS)
        )
    return {key: value.strip() for key, value in environment.items() if value.strip()}


def _fernet(data_dir: Path) -> Fernet:
    import base64
    import hashlib

    key = hashlib.sha256(b'enclave-backup-env|' + data_encryption_key(data_dir)).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_environment(data_dir: Path, environment: dict[str, str]) -> str:
    """The environment as stored: JSON encrypted with a key derived from the data key."""
    return _fernet(data_dir).encrypt(json.dumps(environment).encode()).decode() if environment else ''


def environment_of(data_dir: Path, target: Target) -> dict[str, str]:
    """The target's extra restic environment, decrypted."""
    if not target.environment:
        return {}
    try:
        value = json.loads(_fernet(data_dir).decrypt(target.environment.encode()))
    except (InvalidToken, ValueError) as error:
        raise TargetError(
            N_('The stored keys of target "{name}" cannot be read with this box\'s data key; enter them again.'),
            name=target.name,
        ) from error
    return {str(k): str(v) for k, v in value.items()}


def repository_for(
    data_dir: Path, repository: str, password_path: Path, environment: dict[str, str] | None = None
) -> Repository:
    """A restic Repository with this box's cache, and its SSH set-up for SFTP."""
    cache = data_dir / 'cache' / 'restic'
    cache.mkdir(parents=True, exist_ok=True)
    options: list[str] = []
    if repository.startswith('sftp:'):
        options = ['-o', 'sftp.command=' + ' '.join(_sftp_command(data_dir, repository))]
    return Repository(
        location=repository,
        password_file=password_path,
        cache_dir=cache,
        env=dict(environment or {}),
        options=tuple(options),
        background=True,
    )


def open_repository(data_dir: Path, target: Target) -> Repository:
    """The repository of a saved target."""
    return repository_for(
        data_dir, target.repository, password_file(data_dir, target.name), environment_of(data_dir, target)
    )


@dataclass(frozen=True)
class ConnectionResult:
    """What "Test connection" found: a repository this password opens, or an empty place one can be made in."""

    exists: bool
    snapshots: int
    message: str


def _scratch_password(data_dir: Path, password: str) -> Path:
    path = backup_keys_dir(data_dir) / f'.test-{secrets.token_hex(8)}.password'
    atomic_write_bytes(path, password.encode(), mode=0o600, exclusive=True)
    return path


def test_connection(
    *, data_dir: Path, repository: str, password: str = '', environment: dict[str, str] | None = None
) -> ConnectionResult:
    """Reach the repository without changing anything: does one exist there, and does the password open it?"""
    repository = clean_repository(data_dir, repository)
    environment = clean_environment(environment or {})
    path = _scratch_password(data_dir, password or secrets.token_urlsafe(32))
    try:
        repo = repository_for(data_dir, repository, path, environment)
        try:
            count = len(repo.snapshots(timeout=120))
        except RepositoryNotFound:
            if password:
                return ConnectionResult(False, 0, N_('There is no repository there yet; saving creates one.'))
            return ConnectionResult(False, 0, N_('Reached. There is no repository there yet; saving creates one.'))
        return ConnectionResult(True, count, N_('Reached. The password opens the repository.'))
    finally:
        path.unlink(missing_ok=True)


def _get(session: Session, name: str) -> Target:
    target = session.scalar(select(Target).where(Target.name == name))
    if target is None:
        raise NotFound(N_('There is no backup target called "{name}".'), name=name)
    return target


def get_target(*, session: Session, actor: Actor, name: str) -> Target:
    """One target by name."""
    require(actor, PERMISSION)
    return _get(session, name)


def list_targets(*, session: Session, actor: Actor) -> list[Target]:
    """Every target, by name."""
    require(actor, PERMISSION)
    return list(session.scalars(select(Target).order_by(Target.name)))


@dataclass(frozen=True)
class PreparedTarget:
    """A repository made (or opened) for a new target, its password in a scratch file until the target is saved."""

    name: str
    repository: str
    environment: dict[str, str]
    scratch: Path
    adopted: bool


def _check_free(session: Session, name: str, repository: str) -> None:
    if session.scalar(select(Target.id).where(Target.name == name)) is not None:
        raise Conflict(N_('There is already a backup target called "{name}".'), name=name)
    if session.scalar(select(Target.id).where(Target.repository == repository)) is not None:
        raise Conflict(N_('Target "{repository}" is already configured under another name.'), repository=repository)


def check_new_target(*, session: Session, actor: Actor, data_dir: Path, name: str, repository: str) -> None:
    """Refuse early (a read) a name or a repository that is taken or malformed, before any restic work."""
    require(actor, PERMISSION)
    _check_free(session, clean_name(name), clean_repository(data_dir, repository))


def prepare_target(
    *,
    actor: Actor,
    data_dir: Path,
    name: str,
    repository: str,
    password: str = '',
    environment: dict[str, str] | None = None,
) -> PreparedTarget:
    """Create the new target's repository with a generated password, or open an existing one with `password` (a
    kit from another box). No database: restic may take minutes, and no writer may wait for it. The password stays
    in a scratch file until `record_target` saves the target; `discard` removes it if the save does not happen.

    Without `password`, a repository found there is refused, because the box could never open it.
    """
    require(actor, PERMISSION)
    name = clean_name(name)
    repository = clean_repository(data_dir, repository)
    environment = clean_environment(environment or {})
    scratch = _scratch_password(data_dir, password or secrets.token_urlsafe(32))
    try:
        repo = repository_for(data_dir, repository, scratch, environment)
        if password:
            repo.snapshots(timeout=120)  # RepositoryNotFound / WrongPassword tell the admin what is wrong
        else:
            if _reachable_repository(repo):
                raise Conflict(
                    N_(
                        'There is already a repository at {repository}. Enter its password (from its recovery kit) '
                        'to use it, or choose an empty place.'
                    ),
                    repository=repository,
                )
            repo.init(timeout=300)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return PreparedTarget(name, repository, environment, scratch, adopted=bool(password))


def discard(prepared: PreparedTarget) -> None:
    """Forget a prepared target that was not saved (its scratch password file)."""
    prepared.scratch.unlink(missing_ok=True)


def record_target(
    *, session: Session, actor: Actor, data_dir: Path, prepared: PreparedTarget, schedules: dict[str, Any] | None = None
) -> Target:
    """Save a prepared target (a short write): the name and repository are checked again under the write lock, and
    only then does its password file take its place, so a target that lost a race never replaces another's."""
    require(actor, PERMISSION)
    try:
        _check_free(session, prepared.name, prepared.repository)
        target = Target(
            name=prepared.name,
            repository=prepared.repository,
            created_by=actor.username,
            enabled=True,
            backup_cron=DEFAULT_BACKUP_CRON,
            keep_daily=7,
            keep_weekly=4,
            keep_monthly=12,
            check_cron=DEFAULT_CHECK_CRON,
            read_data_cron=DEFAULT_READ_DATA_CRON,
            read_data_subset=DEFAULT_READ_DATA_SUBSET,
            drill_cron=DEFAULT_DRILL_CRON,
        )
        _apply_settings(target, schedules or {})
        target.environment = encrypt_environment(data_dir, prepared.environment)
        session.add(target)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action='console.target_added',
            target=prepared.name,
            details={'repository': redact(prepared.repository)},
        )
        os.replace(prepared.scratch, password_file(data_dir, prepared.name))
    finally:
        discard(prepared)
    return target


def add_target(
    *,
    session: Session,
    actor: Actor,
    data_dir: Path,
    name: str,
    repository: str,
    password: str = '',
    environment: dict[str, str] | None = None,
    schedules: dict[str, Any] | None = None,
) -> Target:
    """`prepare_target` and `record_target` in the caller's transaction: for tests and tools that hold no lock
    meanwhile. The app's pages and the command line call the two apart, so restic never runs under the write lock."""
    check_new_target(session=session, actor=actor, data_dir=data_dir, name=name, repository=repository)
    prepared = prepare_target(
        actor=actor, data_dir=data_dir, name=name, repository=repository, password=password, environment=environment
    )
    return record_target(session=session, actor=actor, data_dir=data_dir, prepared=prepared, schedules=schedules)


def _reachable_repository(repo: Repository) -> bool:
    try:
        repo.run(['cat', 'config'], timeout=120)
    except RepositoryNotFound:
        return False
    except ResticError as error:
        if error.code == 'repository_wrong_password':
            return True
        raise
    return True


def _apply_settings(target: Target, values: dict[str, Any]) -> list[str]:
    changed: list[str] = []
    for key, value in values.items():
        if key in CRON_FIELDS:
            new: Any = clean_cron(str(value))
        elif key in ('keep_daily', 'keep_weekly', 'keep_monthly'):
            try:
                new = int(value)
            except (TypeError, ValueError):
                new = -1
            if not 0 <= new <= 1000:
                raise TargetError(N_('Keep between 0 and 1000 snapshots per period.'))
        elif key == 'read_data_subset':
            new = str(value).strip()
            if not re.fullmatch(r'([1-9][0-9]?|100)%', new):
                raise TargetError(N_('Read back a share between 1% and 100%, e.g. 10%.'))
        elif key == 'enabled':
            new = bool(value)
        else:
            raise TargetError(N_('Unknown target setting "{key}".'), key=key)
        if getattr(target, key) != new:
            setattr(target, key, new)
            changed.append(key)
    if target.keep_daily + target.keep_weekly + target.keep_monthly == 0:
        raise TargetError(N_('Keep at least one snapshot: set a daily, weekly or monthly number above 0.'))
    return changed


def update_target(*, session: Session, actor: Actor, name: str, values: dict[str, Any]) -> Target:
    """Change a target's schedules, retention or enabled flag (the repository itself never changes)."""
    require(actor, PERMISSION)
    target = _get(session, name)
    changed = _apply_settings(target, values)
    if changed:
        audit.record(
            session=session,
            actor=actor,
            action='console.target_changed',
            target=name,
            details={key: getattr(target, key) for key in changed},
        )
    return target


def remove_target(*, session: Session, actor: Actor, data_dir: Path, name: str) -> None:
    """Forget a target. Its repository and its snapshots stay where they are; its password file is kept aside."""
    require(actor, PERMISSION)
    target = _get(session, name)
    source = password_file(data_dir, name)
    if source.exists():
        stamp = datetime.now().strftime('%Y%m%d-%H%M%S')
        os.replace(source, source.with_name(f'{name}.removed-{stamp}.password'))
    session.delete(target)
    audit.record(session=session, actor=actor, action='console.target_removed', target=name, details={})


def record_kit_download(*, session: Session, actor: Actor, name: str, at: datetime) -> Target:
    """Remember that the admin took the recovery kit of this target."""
    require(actor, PERMISSION)
    target = _get(session, name)
    target.kit_downloaded_at = at
    target.kit_downloaded_by = actor.username
    audit.record(session=session, actor=actor, action='console.kit_downloaded', target=name, details={})
    return target


def redact(repository: str) -> str:
    """The repository string with any password in a URL (rest:https://user:secret@host/) hidden."""
    return re.sub(r'(://[^:/@\s]+):[^@/\s]+@', r'\1:***@', repository)
