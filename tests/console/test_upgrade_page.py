"""The Upgrade page and its plan: bundles waiting in the upgrades folder are listed; checking one shows the
version, the changes since the running version, whether migrations run, the downtime and the backup's age, or
the sentence that refuses it; bob (member) is kept out."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui.testing import User as UIUser

from appliance.config import get_settings
from appliance.migrate import head_revision
from appliance.services.actors import Operator
from console.upgrade.services import BundleRefused, bundle, plan
from provisioning.bundle import public_pem
from tests.appliance.support import sign_in_url
from tests.console.backup_page_support import DEADLINE
from tests.console.test_upgrade_bundle import make_bundle
from tests.modules.conftest import Team
from tests.provisioning.support import signing_key

PATH = '/console/upgrade'
RETRIES = int(DEADLINE * 10)


@pytest.fixture(name='trust_the_test_release_key')
def trust_the_test_release_key_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / 'release-public.pem'
    key.write_text(public_pem(signing_key()))
    monkeypatch.setattr(bundle, 'RELEASE_KEY_PATH', key)


def waiting(tmp_path: Path, **kwargs: str) -> str:
    made = make_bundle(tmp_path / 'build', **kwargs)
    target = get_settings().data_dir / 'upgrades'
    target.mkdir(exist_ok=True)
    shutil.copy(made, target / made.name)
    return made.name


@pytest.mark.usefixtures('trust_the_test_release_key')
def test_the_plan_says_what_an_upgrade_would_do(team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr('console.upgrade.services.planning.__version__', '0.1.0')
    name = waiting(tmp_path)
    made = plan(settings=get_settings(), actor=Operator(), name=name)
    assert made.facts.version == '0.2.0' and made.migrations  # the bundle's schema head is not this database's
    assert made.changes.startswith('## 0.2.0') and not made.backup_fresh and made.problems == []
    with pytest.raises(BundleRefused, match='already running'):
        monkeypatch.setattr('console.upgrade.services.planning.__version__', '0.2.0')
        plan(settings=get_settings(), actor=Operator(), name=name)
    for bad in ('../enclave.db', '', 'nope.tar'):
        with pytest.raises(Exception, match='There is no bundle'):
            plan(settings=get_settings(), actor=Operator(), name=bad)
    assert head_revision()


@pytest.mark.usefixtures('trust_the_test_release_key')
async def test_alice_checks_a_waiting_bundle(
    user: UIUser, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr('console.upgrade.services.planning.__version__', '0.1.0')
    name = waiting(tmp_path)
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker=f'check-{name}', retries=RETRIES)
    user.find(marker=f'check-{name}').click()
    await user.should_see(marker='bundle-verified', retries=RETRIES)
    await user.should_see('Database migrations will run.')
    await user.should_see(marker='backup-stale')
    await user.should_see(marker='bundle-changes')


async def test_a_bad_bundle_is_refused_with_its_reason(user: UIUser, team: Team) -> None:
    folder = get_settings().data_dir / 'upgrades'
    folder.mkdir(exist_ok=True)
    (folder / 'enclave-9.9.9-bundle.tar').write_bytes(b'not a tar at all' * 100)
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='check-enclave-9.9.9-bundle.tar', retries=RETRIES)
    user.find(marker='check-enclave-9.9.9-bundle.tar').click()
    await user.should_see(marker='bundle-refused', retries=RETRIES)
    await user.should_see('This file is not an Enclave bundle', retries=RETRIES)


async def test_bob_is_kept_out(user: UIUser, team: Team) -> None:
    await user.http_client.get(sign_in_url('bob'), follow_redirects=False)
    response = await user.http_client.get(PATH, follow_redirects=False)
    assert response.status_code == 403


def _origin(user: UIUser) -> dict[str, str]:
    return {'origin': str(user.http_client.base_url).rstrip('/'), 'content-type': 'application/x-tar'}


async def test_a_bundle_uploaded_from_the_browser_waits_whole_in_the_upgrades_folder(
    user: UIUser, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.models import AuditEvent
    from console.upgrade.services import receiving
    from tests.appliance.support import count

    made = make_bundle(tmp_path)
    folder = get_settings().data_dir / 'upgrades'
    await user.http_client.get(sign_in_url('alice'), follow_redirects=False)
    url = '/api/v1/console/upgrade/bundles'
    response = await user.http_client.put(
        f'{url}?filename={made.name}', content=made.read_bytes(), headers=_origin(user)
    )
    assert response.status_code == 201, response.text
    assert response.json() == {'name': made.name, 'size': made.stat().st_size}
    assert (folder / made.name).read_bytes() == made.read_bytes()
    assert count(AuditEvent, AuditEvent.action == 'console.upgrade_uploaded') == 1

    for name in ('../../enclave.db', 'photo.jpg', 'enclave-1.0-bundle.tar.gz'):
        refused = await user.http_client.put(f'{url}?filename={name}', content=b'x', headers=_origin(user))
        assert refused.status_code == 422, refused.text
    monkeypatch.setattr(receiving, 'MAX_BYTES', 1000)
    declared = await user.http_client.put(
        f'{url}?filename=enclave-0.3.0-bundle.tar', content=b'x' * 2000, headers=_origin(user)
    )
    assert declared.status_code == 413 and 'larger than an Enclave bundle' in declared.text

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b'y' * 400

    streamed = await user.http_client.put(
        f'{url}?filename=enclave-0.3.0-bundle.tar', content=chunked(), headers=_origin(user)
    )
    assert streamed.status_code == 413
    assert sorted(path.name for path in folder.iterdir()) == [made.name]  # nothing partial, nothing extra


async def test_bob_may_not_upload_a_bundle(user: UIUser, team: Team) -> None:
    await user.http_client.get(sign_in_url('bob'), follow_redirects=False)
    response = await user.http_client.put(
        '/api/v1/console/upgrade/bundles?filename=enclave-0.2.0-bundle.tar', content=b'x', headers=_origin(user)
    )
    assert response.status_code == 403
    assert not (get_settings().data_dir / 'upgrades').exists() or not any(
        (get_settings().data_dir / 'upgrades').iterdir()
    )


# "Upgrade now", the rollback offer and the history (the root side itself: tests/console/test_upgrade_helper.py).


@pytest.fixture(name='upgrade_service')
def upgrade_service_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This box has the root side installed (its request watcher's unit file exists)."""
    from console.upgrade.services import requesting

    unit = tmp_path / 'enclave-upgrade-request.path'
    unit.write_text('[Path]\n')
    monkeypatch.setattr(requesting, 'PATH_UNIT', unit)
    monkeypatch.setattr('console.upgrade.services.planning.__version__', '0.1.0')
    monkeypatch.setattr('console.upgrade.services.requesting.__version__', '0.1.0')
    return get_settings().data_dir / 'upgrade-request'


def finished(folder: Path, ident: str, **record: object) -> None:
    """A record as the root side writes it when an upgrade or rollback ends."""
    (folder / 'history').mkdir(parents=True, exist_ok=True)
    body = {
        'id': ident,
        'action': 'upgrade',
        'state': 'done',
        'by': 'alice (id 1)',
        'from_version': '0.0.9',
        'to_version': '0.1.0',
        'started_at': '2026-12-01T02:00:00+00:00',
        'finished_at': '2026-12-01T02:01:10+00:00',
        'duration_seconds': 70.2,
        'downtime_seconds': 21.5,
        'reason': '',
        'snapshot': '20261201-020010-upgrade',
        'steps': [{'step': 'started', 'at': '2026-12-01T02:01:00+00:00'}],
        'log': ['02:00:00 upgrade of Enclave 0.0.9', '02:01:10 Enclave 0.1.0 is up and healthy <b>ok</b>'],
        **record,
    }
    (folder / 'history' / f'{ident}.json').write_text(json.dumps(body))


@pytest.mark.usefixtures('trust_the_test_release_key')
def test_an_upgrade_is_asked_for_only_with_a_fresh_backup_or_the_admins_audited_word(
    team: Team, tmp_path: Path, upgrade_service: Path
) -> None:
    from appliance.errors import Conflict, ValidationError
    from appliance.models import AuditEvent
    from console.upgrade.services import request_rollback, request_upgrade
    from tests.appliance.support import count

    name = waiting(tmp_path)
    with pytest.raises(ValidationError, match='no backup from the last 24 hours'):
        request_upgrade(settings=get_settings(), actor=team.alice, name=name)
    assert not (upgrade_service / 'request').exists()
    with pytest.raises(BundleRefused):
        request_upgrade(settings=get_settings(), actor=team.alice, name=waiting(tmp_path / 'old', version='0.0.5'))

    request_upgrade(settings=get_settings(), actor=team.alice, name=name, without_fresh_backup=True)

    asked = json.loads((upgrade_service / 'request').read_text())
    assert asked == {'action': 'upgrade', 'bundle': name, 'by': f'alice (id {team.alice.id})',
                     'without_fresh_backup': True, 'to': '0.2.0'}  # fmt: skip
    assert count(AuditEvent, AuditEvent.action == 'console.upgrade_requested') == 1
    with pytest.raises(Conflict, match='already under way'):
        request_upgrade(settings=get_settings(), actor=team.alice, name=name, without_fresh_backup=True)
    with pytest.raises(Exception, match='permission'):
        request_upgrade(settings=get_settings(), actor=team.bob, name=name, without_fresh_backup=True)
    (upgrade_service / 'request').unlink()
    with pytest.raises(ValidationError, match='Only the upgrade that installed the running release'):
        request_rollback(settings=get_settings(), actor=team.alice, upgrade_id='20261201-020000-abcdef')


def test_each_finished_upgrade_reaches_the_audit_log_once(team: Team, upgrade_service: Path) -> None:
    from appliance.models import AuditEvent
    from console.upgrade.services import record_finished
    from tests.appliance.support import count

    finished(upgrade_service, '20261201-020000-abcdef')
    finished(upgrade_service, '20261202-020000-abcdef', state='rolled_back', to_version='0.2.0', reason='no /healthz')
    finished(upgrade_service, '20261203-020000-abcdef', action='request', state='refused', reason='not JSON')
    (upgrade_service / 'history' / 'notes.json').write_text('{}')  # not a record: ignored

    assert record_finished(get_settings()) == 3
    assert record_finished(get_settings()) == 0
    assert count(AuditEvent, AuditEvent.action == 'console.upgraded') == 1
    assert count(AuditEvent, AuditEvent.action == 'console.upgrade_rolled_back') == 1
    assert count(AuditEvent, AuditEvent.action == 'console.upgrade_refused') == 1


@pytest.mark.usefixtures('trust_the_test_release_key')
async def test_alice_upgrades_now_after_ticking_that_there_is_no_fresh_backup(
    user: UIUser, team: Team, tmp_path: Path, upgrade_service: Path
) -> None:
    name = waiting(tmp_path)
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='no-history', retries=RETRIES)
    user.find(marker=f'check-{name}').click()
    await user.should_see(marker='upgrade-now', retries=RETRIES)
    button = next(iter(user.find(marker='upgrade-now').elements))
    assert not button.enabled  # no backup in the last day: not without the tick
    user.find(marker='without-fresh-backup').click()
    assert button.enabled
    user.find(marker='upgrade-now').click()
    await user.should_see(marker='confirm-upgrade', retries=RETRIES)
    user.find(marker='confirm-upgrade').click()
    await user.should_see(marker='upgrade-under-way', retries=RETRIES)
    await user.should_see('Waiting for the upgrade service to pick up the request…')
    assert json.loads((upgrade_service / 'request').read_text())['without_fresh_backup'] is True


async def test_alice_sees_the_history_and_rolls_the_last_upgrade_back(
    user: UIUser, team: Team, upgrade_service: Path
) -> None:
    finished(upgrade_service, '20261130-020000-abcdef', action='request', state='refused', reason='not JSON')
    finished(upgrade_service, '20261201-020000-abcdef')
    (get_settings().data_dir / 'snapshots' / '20261201-020010-upgrade').mkdir(parents=True)
    (get_settings().data_dir / 'snapshots' / '20261201-020010-upgrade' / 'snapshot.json').write_text('{}')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see('Upgraded from 0.0.9 to 0.1.0', retries=RETRIES)
    await user.should_see('A request was refused; nothing was changed')
    user.find(marker='log-20261201-020000-abcdef').click()
    await user.should_see('02:01:10 Enclave 0.1.0 is up and healthy <b>ok</b>', retries=RETRIES)  # text, not markup
    user.find(marker='roll-back').click()
    await user.should_see('kept aside on the server, not deleted', retries=RETRIES)
    user.find(marker='confirm-roll-back').click()
    await user.should_see(marker='upgrade-under-way', retries=RETRIES)
    assert json.loads((upgrade_service / 'request').read_text()) == {
        'action': 'rollback',
        'upgrade': '20261201-020000-abcdef',
        'by': f'alice (id {team.alice.id})',
    }


def test_roll_back_is_offered_for_the_upgrade_that_made_the_running_release_until_it_is_rolled_back(
    team: Team, upgrade_service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.upgrade.services import rollback_offer

    monkeypatch.setattr('console.upgrade.services.requesting.__version__', '0.1.0')
    snapshots = get_settings().data_dir / 'snapshots' / '20261201-020010-upgrade'
    finished(upgrade_service, '20261201-020000-abcdef')
    assert rollback_offer(get_settings()) is None  # its snapshot is gone
    snapshots.mkdir(parents=True)
    (snapshots / 'snapshot.json').write_text('{}')
    assert rollback_offer(get_settings()).id == '20261201-020000-abcdef'  # type: ignore[union-attr]
    # A later upgrade that failed and was undone, and a refused request, leave the running release as it was.
    finished(upgrade_service, '20261202-020000-abcdef', state='rolled_back', from_version='0.1.0', to_version='0.2.0')
    finished(upgrade_service, '20261203-020000-abcdef', action='request', state='refused')
    assert rollback_offer(get_settings()).id == '20261201-020000-abcdef'  # type: ignore[union-attr]
    finished(upgrade_service, '20261204-020000-abcdef', action='rollback', state='rolled_back')
    assert rollback_offer(get_settings()) is None
