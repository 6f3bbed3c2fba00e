"""The Upgrade page and its plan: bundles waiting in the upgrades folder are listed; checking one shows the
version, the changes since the running version, whether migrations run, the downtime and the backup's age, or
the sentence that refuses it; bob (member) is kept out."""

from __future__ import annotations

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
