"""The Snapshots page as alice (admin) uses it: take a snapshot, prove it, be stopped by the restore dialog's
confirmation, restore (and be sent to sign in again), delete; bob (member) is kept out. Every call runs through
`run.io_bound`: the tests wait on a wall-clock deadline."""

from __future__ import annotations

from pathlib import Path

from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.config import get_settings
from appliance.db import get_database
from appliance.models import AuditEvent
from appliance.services.actors import Operator
from console.backup.services import list_snapshots
from modules.projects.models import Project
from tests.appliance.support import count, sign_in_url
from tests.console.backup_page_support import DEADLINE, wait_for
from tests.console.backup_support import arrange
from tests.modules.conftest import Team

PATH = '/console/snapshots'
RETRIES = int(DEADLINE * 10)


def snapshot_ids() -> list[str]:
    return [item.id for item in list_snapshots(settings=get_settings(), actor=Operator())]


async def test_alice_takes_proves_restores_and_deletes_a_snapshot(user: UIUser, team: Team, data_dir: Path) -> None:
    arrange(team, tasks=2)
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='no-snapshots', retries=RETRIES)
    await user.should_see(marker='snapshot-space')
    user.find(marker='take-snapshot').click()
    await wait_for(lambda: snapshot_ids() or None, lambda: 'no snapshot was taken')
    [ident] = snapshot_ids()
    await user.should_see(marker=f'snapshot-{ident}', retries=RETRIES)
    await user.should_see('Not proven yet')
    await user.should_see('On demand')

    user.find(marker=f'prove-{ident}').click()
    await user.should_see('The snapshot matches its manifest.', retries=RETRIES)
    await user.should_see(marker=f'proof-{ident}')

    # A mistake, then the restore: a wrong confirmation changes nothing.
    with get_database().session() as session:
        session.delete(session.scalars(select(Project)).one())
    user.find(marker=f'restore-{ident}').click()
    await user.should_see(marker='snapshot-confirm')
    user.find(marker='snapshot-confirm').type('yes')
    user.find(marker='snapshot-restore-go').click()
    await user.should_see('Type "restore" to confirm.')
    assert not list(data_dir.glob('before-restore-*'))

    user.find(marker='snapshot-confirm').clear().type('restore')
    user.find(marker='snapshot-restore-go').click()
    await wait_for(lambda: list(data_dir.glob('before-restore-*')) or None, lambda: 'nothing was restored')
    await wait_for(
        lambda: count(AuditEvent, AuditEvent.action == 'console.snapshot_restore') or None,
        lambda: 'the restore was not recorded',
    )
    with get_database().session() as session:
        assert session.scalars(select(Project)).one().name == '备份演练 Backup drill'
    assert len(snapshot_ids()) == 2  # the present was snapshotted first

    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker=f'delete-{ident}', retries=RETRIES)
    user.find(marker=f'delete-{ident}').click()
    await user.should_see(marker='delete-snapshot-go')
    user.find(marker='delete-snapshot-go').click()
    await user.should_see('Snapshot deleted.', retries=RETRIES)
    assert ident not in snapshot_ids()


async def test_bob_is_kept_out(user: UIUser, team: Team) -> None:
    await user.http_client.get(sign_in_url('bob'), follow_redirects=False)
    response = await user.http_client.get(PATH, follow_redirects=False)
    assert response.status_code == 403
    await user.open(sign_in_url('bob'))
    await user.should_not_see(marker='nav:/console/snapshots')
