"""Back up, prove and restore on whichever database the suite runs on: SQLite here, PostgreSQL (pg_dump on one
exported snapshot, proven in a scratch database) under `make test-postgres`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from appliance.config import get_settings
from appliance.db import get_database
from appliance.modules import current_registry
from appliance.services.actors import Operator
from console.backup.services import runs
from console.backup.services.restores import restore
from modules.projects.models import Project
from tests.console.backup_support import add_target, arrange, export, repository_of
from tests.modules.conftest import Team


def test_it_backs_up_proves_and_restores_on_this_database(team: Team, tmp_path: Path) -> None:
    arrange(team)
    add_target(team.alice, tmp_path / 'usb')
    view = runs.back_up(actor=Operator(), registry=current_registry(), retention=False)
    assert view.status == 'ok', view.text()
    drill = runs.drill(actor=Operator())
    assert drill.status == 'ok', drill.details
    before = export()
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    assert export() != before

    result = restore(settings=get_settings(), registry=current_registry(), actor=Operator(), repository=repository_of())

    after = export()
    assert after['rows'] == before['rows']
    assert after['blobs'] == before['blobs']
    if not get_settings().is_sqlite:
        assert (result.aside / 'enclave-before-restore.pgdump').is_file()


def test_a_local_snapshot_is_taken_proven_and_restored_on_this_database(team: Team) -> None:
    from console.backup.services import local_snapshots

    arrange(team)
    settings = get_settings()
    snapshot = local_snapshots.take(settings=settings, registry=current_registry(), actor=Operator())
    assert (snapshot.path / 'backup-staging' / ('enclave.db' if settings.is_sqlite else 'enclave.pgdump')).is_file()
    assert local_snapshots.prove(settings=settings, actor=Operator(), snapshot_id=snapshot.id).proof == 'ok'
    before = export()
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())

    local_snapshots.restore(settings=settings, registry=current_registry(), actor=Operator(), snapshot_id=snapshot.id)

    after = export()
    changed = {'core_sessions', 'core_login_tickets', 'console_runs', 'core_audit', 'console_state'}
    assert {k: v for k, v in after['rows'].items() if k not in changed} == {
        k: v for k, v in before['rows'].items() if k not in changed
    }
    with get_database().session() as session:
        assert session.scalars(select(Project)).one().name == '备份演练 Backup drill'
