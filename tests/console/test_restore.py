"""Full restore with real restic: every row and every file back, the old data moved aside, a damaged or newer
backup refused with nothing changed, an older one migrated forward, and a restore on a freshly installed box."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select

from appliance.config import get_settings
from appliance.db import Database, get_database
from appliance.migrate import alembic_config, head_revision, schema_state
from appliance.models import AuditEvent, LoginSession
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import backup, runs
from console.backup.services.restores import RestoreRefused, restore
from console.backup.services.snapshot import stage
from console.backup.services.targets import password_file
from console.models import Run
from modules.projects.models import Project
from tests.console.backup_support import add_target, arrange, export, repository_of, run_cli
from tests.modules.conftest import Team


def do_restore(snapshot: str = 'latest') -> object:
    return restore(
        settings=get_settings(),
        registry=current_registry(),
        actor=Operator(),
        repository=repository_of(),
        snapshot=snapshot,
        target_name='usb',
    )


def audit_rows() -> list[tuple[int, str]]:
    with get_database().session() as session:
        return [(e.id, e.hash) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_it_brings_back_every_row_and_every_file_and_keeps_the_old_data_aside(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    with get_database().session() as session:
        session.add(LoginSession(user_id=team.bob.id, token_hash='x' * 64, ip='10.0.0.9'))
    # Without the retention pass, whose audit event comes after the snapshot was taken.
    assert runs.back_up(actor=Operator(), registry=current_registry(), retention=False).status == 'ok'
    before = export()
    audit_before = audit_rows()
    # Disaster: the project is deleted and a file is lost.
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    blob = next(p for p in (get_settings().data_dir / 'blobs').rglob('*') if p.is_file())
    blob.unlink()
    assert export() != before

    result = do_restore()

    after = export()
    assert after['rows'] == before['rows']
    assert after['blobs'] == before['blobs']
    assert audit_rows()[: len(audit_before)] == audit_before  # the chain is back, plus the restore's own event
    with get_database().session() as session:
        assert session.scalars(select(Project)).one().name == '备份演练 Backup drill'
        assert session.scalars(select(LoginSession)).all() == []  # everyone signs in again
        restored = session.scalars(select(Run).where(Run.kind == 'restore')).one()
        assert restored.status == 'ok' and restored.snapshot_id == result.snapshot  # type: ignore[attr-defined]
    aside = result.aside  # type: ignore[attr-defined]
    assert aside.parent == get_settings().data_dir and aside.name.startswith('before-restore-')
    kept = sqlite3.connect(aside / 'enclave.db')
    assert kept.execute('SELECT count(*) FROM projects_projects').fetchone()[0] == 0  # the state before restoring
    kept.close()
    assert (aside / 'keys').is_dir() and (aside / 'blobs').is_dir()
    assert all(check.status != 'red' or check.name.startswith('console.') for check in result.checks)  # type: ignore[attr-defined]
    assert not any((get_settings().data_dir / 'scratch').iterdir())


def test_it_refuses_a_damaged_backup_and_changes_nothing(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=Operator(), registry=current_registry()).status == 'ok'
    for pack in (tmp_path / 'usb' / 'data').rglob('*'):
        if pack.is_file():
            data = bytearray(pack.read_bytes())
            data[len(data) // 2] ^= 0xFF
            pack.write_bytes(bytes(data))
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    state = export()
    with pytest.raises(Exception) as caught:
        do_restore()
    assert 'restic' in str(caught.value).lower() or 'manifest' in str(caught.value).lower()
    assert export() == state
    assert not list(get_settings().data_dir.glob('before-restore-*'))


def test_it_refuses_a_backup_from_a_newer_version_and_changes_nothing(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    engine = get_database().engine
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff00000001'")
    backup.run_backup(settings=get_settings(), registry=current_registry(), repository=repository_of())
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head_revision()}'")
    state = export()
    with pytest.raises(RestoreRefused, match='newer than this one'):
        do_restore()
    assert export() == state
    assert not list(get_settings().data_dir.glob('before-restore-*'))


def test_it_migrates_a_backup_from_an_older_version_forward(team: Team, tmp_path: Path) -> None:
    """A box of the previous version (schema before the console tables) backed up; this version restores it."""
    add_target(team.alice, tmp_path / 'usb')
    old = tmp_path / 'old-box'
    (old / 'blobs').mkdir(parents=True)
    (old / 'keys').mkdir()
    shutil.copytree(get_settings().data_dir / 'keys', old / 'keys', dirs_exist_ok=True)
    previous = Database(f'sqlite:///{old / "enclave.db"}')
    config = alembic_config(f'sqlite:///{old / "enclave.db"}')
    with previous.engine.begin() as connection:
        config.attributes['connection'] = connection
        command.upgrade(config, 'b3c1d2e4f5a6')
    with previous.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO core_users (username, display_name, email, language, timezone, is_active, password_hash, '
            "password_changed_at, totp_secret, totp_enabled, totp_last_step, created_at) VALUES ('old-timer', "
            "'Old Timer', '', 'en', 'UTC', 1, 'x', '2026-01-01', '', 0, 0, '2026-01-01')"
        )
    previous.dispose()
    stage(
        database=old / 'enclave.db',
        blob_root=old / 'blobs',
        staging=old / backup.STAGING,
        registry=current_registry(),
        app_version='0.0.9',
        created_at='2026-01-01T00:00:00+00:00',
    )
    repository_of().backup([old / backup.STAGING, old / 'blobs', old / 'keys'], tags=[backup.TAG])

    result = do_restore()

    assert result.migrated_from == 'b3c1d2e4f5a6'  # type: ignore[attr-defined]
    assert schema_state(get_database().engine).up_to_date
    with get_database().engine.connect() as connection:
        names = [row[0] for row in connection.exec_driver_sql('SELECT username FROM core_users')]
    assert names == ['old-timer']


def test_it_restores_on_a_freshly_installed_box_from_the_recovery_kit_with_the_cli(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=Operator(), registry=current_registry()).status == 'ok'
    before = export()
    kit_password = password_file(get_settings().data_dir, 'usb').read_text()
    (tmp_path / 'kit.password').write_text(kit_password)

    fresh = tmp_path / 'fresh-box'
    env = {**os.environ, 'ENCLAVE_DATA_DIR': str(fresh), 'ENCLAVE_CONFIG': str(fresh / 'enclave.toml')}
    assert run_cli('migrate', env=env).returncode == 0
    added = run_cli(
        'backup',
        'target',
        'add',
        '--name',
        'usb',
        '--repo',
        str(tmp_path / 'usb'),
        '--password-file',
        str(tmp_path / 'kit.password'),
        env=env,
    )
    assert added.returncode == 0, added.stderr
    listed = run_cli('backup', 'list', '--target', 'usb', '--json', env=env)
    assert listed.returncode == 0 and '"target": "usb"' in listed.stdout
    restored = run_cli('restore', '--target', 'usb', '--snapshot', 'latest', '--yes', env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert 'Restored snapshot' in restored.stdout and 'before-restore-' in restored.stdout

    os.environ['ENCLAVE_DATA_DIR'], saved = str(fresh), os.environ['ENCLAVE_DATA_DIR']
    try:
        get_settings.cache_clear()
        get_database().dispose()
        from appliance.db import init_database

        init_database(get_settings().sqlalchemy_url)
        after = export()
    finally:
        os.environ['ENCLAVE_DATA_DIR'] = saved
        get_settings.cache_clear()
        get_database().dispose()
    assert after['rows'] == before['rows']
    assert after['blobs'] == before['blobs']
    assert (fresh / 'keys' / 'data-key').read_bytes() == (get_settings().data_dir / 'keys' / 'data-key').read_bytes()


def test_the_cli_refuses_to_restore_under_a_running_app(team: Team, tmp_path: Path) -> None:
    import fcntl

    add_target(team.alice, tmp_path / 'usb')
    env = {**os.environ}
    with (get_settings().data_dir / 'server.lock').open('a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli('restore', '--target', 'usb', '--snapshot', 'latest', '--yes', env=env)
    assert result.returncode == 1
    assert 'Stop it first' in result.stderr
