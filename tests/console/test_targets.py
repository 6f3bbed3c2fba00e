"""Backup targets with real restic repositories: creation, test connection, bad input that changes nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from appliance.config import get_settings
from appliance.db import get_database
from appliance.errors import Conflict, PermissionDenied
from appliance.models import AuditEvent
from console.backup.services import targets
from console.backup.services.restic import Repository, WrongPassword
from console.models import Target
from tests.console.backup_support import add_target, arrange
from tests.modules.conftest import Team


def target_count() -> int:
    with get_database().session() as session:
        return int(session.scalar(select(func.count()).select_from(Target)) or 0)


def test_it_creates_the_repository_with_a_generated_password_kept_0600_outside_the_database(
    team: Team, tmp_path: Path
) -> None:
    arrange(team)
    target = add_target(team.alice, tmp_path / 'usb')
    secret = targets.password_file(get_settings().data_dir, 'usb')
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text()
    assert len(password) >= 40
    assert (tmp_path / 'usb' / 'config').is_file()
    with get_database().session() as session:
        stored = session.get(Target, target.id)
        assert stored is not None
        assert password not in repr(vars(stored))
        assert (stored.backup_cron, stored.keep_daily, stored.keep_weekly, stored.keep_monthly) == (
            '0 2 * * *',
            7,
            4,
            12,
        )
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == 'console.target_added')) is not None
    # The password opens it; another does not.
    assert Repository(location=str(tmp_path / 'usb'), password_file=secret).snapshots() == []
    wrong = tmp_path / 'wrong'
    wrong.write_text('not the password')
    with pytest.raises(WrongPassword):
        Repository(location=str(tmp_path / 'usb'), password_file=wrong).snapshots()


def test_it_tests_a_connection_without_changing_anything(team: Team, tmp_path: Path) -> None:
    data_dir = get_settings().data_dir
    empty = targets.test_connection(data_dir=data_dir, repository=str(tmp_path / 'new'))
    assert (empty.exists, empty.snapshots) == (False, 0)
    assert not (tmp_path / 'new').exists()
    add_target(team.alice, tmp_path / 'usb')
    password = targets.password_file(data_dir, 'usb').read_text()
    found = targets.test_connection(data_dir=data_dir, repository=str(tmp_path / 'usb'), password=password)
    assert found.exists
    with pytest.raises(WrongPassword):
        targets.test_connection(data_dir=data_dir, repository=str(tmp_path / 'usb'), password='a guess')
    leftovers = [p.name for p in targets.backup_keys_dir(data_dir).iterdir() if p.name.startswith('.test-')]
    assert leftovers == []


@pytest.mark.parametrize(
    ('name', 'repository', 'fragment'),
    [
        ('usb', 'relative/path', 'full path'),
        ('usb', '', 'Enter the repository'),
        ('usb', 'ftp://host/dir', 'Unknown repository type'),
        ('usb', 'sftp:no-user-or-path', 'sftp:user@host:/path'),
        ('bad name!', '/mnt/x', 'letters, digits'),
        ('', '/mnt/x', 'letters, digits'),
        ('usb', '/mnt/x\n--password-file /etc/passwd', 'line breaks'),
    ],
)
def test_it_refuses_bad_input_with_a_sentence_and_saves_nothing(
    team: Team, tmp_path: Path, name: str, repository: str, fragment: str
) -> None:
    with pytest.raises(targets.TargetError) as caught:
        add_target(team.alice, repository, name=name)
    assert fragment in str(caught.value)
    assert target_count() == 0


def test_it_refuses_a_repository_inside_the_data_folder(team: Team) -> None:
    data_dir = get_settings().data_dir
    for inside in (data_dir, data_dir / 'backups', data_dir.parent):
        with pytest.raises(targets.TargetError, match='must not be inside the data folder'):
            add_target(team.alice, inside)
    assert target_count() == 0


def test_it_refuses_an_existing_repository_without_its_password_and_adopts_it_with_the_password(
    team: Team, tmp_path: Path
) -> None:
    secret = tmp_path / 'kit.password'
    secret.write_text('the password from the recovery kit')
    Repository(location=str(tmp_path / 'old'), password_file=secret).init()
    with pytest.raises(Conflict, match='already a repository'):
        add_target(team.alice, tmp_path / 'old')
    with pytest.raises(WrongPassword):
        add_target(team.alice, tmp_path / 'old', password='a wrong guess')
    assert target_count() == 0
    assert not targets.password_file(get_settings().data_dir, 'usb').exists()
    add_target(team.alice, tmp_path / 'old', password='the password from the recovery kit')
    assert targets.password_file(get_settings().data_dir, 'usb').read_text() == 'the password from the recovery kit'


def test_it_refuses_duplicates(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    with pytest.raises(Conflict, match='already a backup target called'):
        add_target(team.alice, tmp_path / 'other')
    with pytest.raises(Conflict, match='already configured'):
        add_target(team.alice, tmp_path / 'usb', name='again')
    assert target_count() == 1


def test_it_keeps_schedules_and_retention_valid(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')

    def update(values: dict[str, object]) -> Target:
        with get_database().session() as session:
            return targets.update_target(session=session, actor=team.alice, name='usb', values=values)

    update({'backup_cron': '30  23 * * 1-5', 'keep_daily': '14', 'read_data_subset': '25%'})
    for bad, fragment in (
        ({'backup_cron': 'every night'}, 'not a schedule'),
        ({'drill_cron': '61 * * * *'}, 'not a schedule'),
        ({'keep_daily': -1}, 'between 0 and 1000'),
        ({'keep_weekly': 'many'}, 'between 0 and 1000'),
        ({'keep_daily': 0, 'keep_weekly': 0, 'keep_monthly': 0}, 'at least one'),
        ({'read_data_subset': '150%'}, 'between 1% and 100%'),
        ({'repository': '/elsewhere'}, 'Unknown target setting'),
    ):
        with pytest.raises(targets.TargetError, match=fragment):
            update(bad)
    with get_database().session() as session:
        stored = session.scalar(select(Target))
        assert stored is not None
        assert (stored.backup_cron, stored.keep_daily, stored.keep_weekly, stored.read_data_subset) == (
            '30 23 * * 1-5',
            14,
            4,
            '25%',
        )


def test_it_keeps_members_out(team: Team, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        add_target(team.bob, tmp_path / 'usb')
    with get_database().session() as session, pytest.raises(PermissionDenied):
        targets.list_targets(session=session, actor=team.bob)
    assert not (tmp_path / 'usb').exists()


def test_it_removes_a_target_but_leaves_its_repository_and_password(team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    with get_database().session() as session:
        targets.remove_target(session=session, actor=team.alice, data_dir=get_settings().data_dir, name='usb')
    assert target_count() == 0
    assert (tmp_path / 'usb' / 'config').is_file()
    kept = list(targets.backup_keys_dir(get_settings().data_dir).glob('usb.removed-*.password'))
    assert len(kept) == 1


def test_it_stores_s3_keys_encrypted(team: Team) -> None:
    data_dir = get_settings().data_dir
    with get_database().session() as session:
        target = Target(name='s3', repository='s3:minio.local/bucket', environment='')
        target.environment = targets.encrypt_environment(data_dir, {'AWS_SECRET_ACCESS_KEY': 'very-secret-key'})
        session.add(target)
        session.flush()
        assert 'very-secret-key' not in target.environment
        assert targets.environment_of(data_dir, target) == {'AWS_SECRET_ACCESS_KEY': 'very-secret-key'}
    with pytest.raises(targets.TargetError, match='Unknown setting'):
        targets.clean_environment({'LD_PRELOAD': '/tmp/evil.so'})


def test_it_hides_a_password_in_a_rest_url() -> None:
    assert targets.redact('rest:https://backup:s3cr3t@nas:8000/enclave') == 'rest:https://backup:***@nas:8000/enclave'
