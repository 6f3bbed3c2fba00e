"""The root side of upgrades (console/upgrade/root_helper.py) on a real box in a folder: real releases side by side
with a `current` link, a real server started and stopped between steps, real snapshots taken and restored, signed
bundles. Each release's `enclave` runs this tree's code; a release built "broken" fails its migration after
writing to the database, as a bad migration would. The whole path with real bundles, systemd and a booted image is
`make upgrade-test` (tests/provisioning/upgrade_story.py).

What is checked: an upgrade switches and leaves every row and file; a failing migration rolls back to the old
release on data identical to before (the data the new release touched is kept aside); a refused request (bad
signature, a link, a downgrade, a malformed request) changes nothing and never stops the app; the helper killed at
a random step of an upgrade leaves a box that the boot-time recovery brings back to the old release on the old
data; "Roll back to <version>" after a good upgrade; every outcome reaches the console's copy of the history.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import get_settings
from appliance.db import get_database
from tests.console.backup_support import arrange, export
from tests.console.upgrade_support import Box, installed
from tests.modules.conftest import Team

pytestmark = pytest.mark.system


@pytest.fixture
def box(team: Team, tmp_path: Path) -> Iterator[Box]:
    """Enclave 0.1.0 installed in a folder, with a project, tasks and files, and serving."""
    arrange(team)
    made = installed(tmp_path / 'root')
    yield made
    made.service('stop')
    get_database().dispose()


def state_now() -> dict[str, object]:
    get_database().dispose()  # a restore put other files in place
    state = export()
    # The blob store's lock file is made when the store is first opened: not data.
    state['blobs'] = {name: sha for name, sha in state['blobs'].items() if len(Path(name).name) == 64}
    return state


def tables() -> set[str]:
    with sqlite3.connect(get_settings().data_dir / 'enclave.db') as connection:
        return {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}


def test_a_failing_migration_rolls_back_to_the_old_release_on_the_data_of_before(box: Box) -> None:
    before = state_now()
    box.ask(action='upgrade', bundle=box.bundle('0.2.0', broken=True), by='alice (admin)')

    done = box.helper()

    assert done.returncode == 0, done.stdout + done.stderr
    assert box.current() == 'releases/0.1.0' and box.answers()
    (record,) = box.history()
    assert record['state'] == 'rolled_back'
    assert 'the migration 9f1e failed' in str(record['reason'])
    assert float(record['rollback_seconds']) > 0  # type: ignore[arg-type]
    # The data is the snapshot's: what the broken release wrote is gone from the live database ...
    assert 'touched_by_the_broken_release' not in tables()
    assert state_now() == before
    # ... and kept aside, with the failed release, for whoever looks into it.
    aside = [path for path in get_settings().data_dir.glob('before-restore-*') if path.is_dir()]
    assert aside, list(get_settings().data_dir.iterdir())
    with sqlite3.connect(next(aside[0].rglob('enclave.db'))) as connection:
        names = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
    assert 'touched_by_the_broken_release' in names
    assert (box.opt / 'releases' / '0.2.0' / '.complete').exists()


REFUSED = {
    'wrong key': {'action': 'upgrade', 'bundle': 'enclave-0.2.0-bundle.tar'},
    'downgrade': {'action': 'upgrade', 'bundle': 'enclave-0.0.9-bundle.tar'},
    'a path': {'action': 'upgrade', 'bundle': '../../etc/passwd'},
    'a link': {'action': 'upgrade', 'bundle': 'enclave-0.3.0-bundle.tar'},
    'no such bundle': {'action': 'upgrade', 'bundle': 'enclave-0.4.0-bundle.tar'},
    'an unknown action': {'action': 'format', 'bundle': 'enclave-0.2.0-bundle.tar'},
    'no such upgrade': {'action': 'rollback', 'upgrade': '20260101-000000-abcdef'},
    'not JSON': '{"action": "upgrade", ',
    'too long': {'action': 'upgrade', 'bundle': 'enclave-0.2.0-bundle.tar', 'by': 'x' * 5000},
}


def test_a_refused_request_changes_nothing_and_never_stops_the_app(box: Box, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    box.bundle('0.2.0', key=Ed25519PrivateKey.generate())
    box.bundle('0.0.9')
    secret = tmp_path / 'secret.tar'
    secret.write_text('not for the app')
    (get_settings().data_dir / 'upgrades' / 'enclave-0.3.0-bundle.tar').symlink_to(secret)
    before = state_now()
    pid = (box.root / 'enclave.pid').read_text()
    for case, body in REFUSED.items():
        if isinstance(body, str):
            box.requests.mkdir(exist_ok=True)
            (box.requests / 'request').write_text(body)
        else:
            box.ask(**{'by': 'mallory', **body})

        done = box.helper()

        assert done.returncode == 0, (case, done.stdout + done.stderr)
        record = box.history()[-1]
        assert record['state'] == 'refused' and record['reason'], (case, record)
        assert box.current() == 'releases/0.1.0' and sorted(os.listdir(box.opt / 'releases')) == ['0.1.0'], case
        assert (box.root / 'enclave.pid').read_text() == pid and box.answers(), case
        assert not (box.requests / 'request').exists(), case
    assert len(box.history()) == len(REFUSED)
    assert state_now() == before


def test_the_helper_killed_at_a_random_step_leaves_a_box_the_boot_brings_back(box: Box) -> None:
    before = state_now()
    step = random.choice(['stopped', 'snapshot', 'switched', 'migrated', 'started'])
    print('killed after the step', step)
    box.ask(action='upgrade', bundle=box.bundle('0.2.0', broken=False), by='alice (admin)')
    running = subprocess.Popen(
        [sys.executable, '-I', '-m', 'console.upgrade.root_helper', 'request'],
        env=box.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = box.state / 'journal.json'
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline and running.poll() is None, f'never reached {step}'
        try:
            steps = [item['step'] for item in json.loads(journal.read_text())['steps']]
        except (OSError, ValueError):
            steps = []
        if step in steps:
            break
        time.sleep(0.02)
    running.send_signal(signal.SIGKILL)
    running.wait()
    # The power cut: the app goes down with the helper. Then the boot: recovery first, then enclave.service.
    box.service('stop')

    recovered = box.helper('recover')

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert box.current() == 'releases/0.1.0'
    (record,) = box.history()
    assert record['state'] == 'rolled_back' and 'interrupted' in str(record['reason']), record
    assert state_now() == before
    box.service('start')
    deadline = time.monotonic() + 60
    while not box.answers():
        assert time.monotonic() < deadline, (box.root / 'serve.log').read_text()
        time.sleep(0.3)
    # Nothing is left half done: a second recovery finds nothing to do.
    again = box.helper('recover')
    assert again.returncode == 0 and 'rolled_back' not in again.stdout and len(box.history()) == 1


def test_an_upgrade_keeps_every_row_and_file_and_can_be_rolled_back_once(box: Box) -> None:
    before = state_now()
    box.ask(action='upgrade', bundle=box.bundle('0.2.0'), by='alice (admin)')

    done = box.helper()

    assert done.returncode == 0, done.stdout + done.stderr
    assert box.current() == 'releases/0.2.0' and box.answers()
    (upgraded,) = box.history()
    assert upgraded['state'] == 'done' and upgraded['from_version'] == '0.1.0' and upgraded['to_version'] == '0.2.0'
    assert upgraded['by'] == 'alice (admin)' and float(upgraded['downtime_seconds']) > 0  # type: ignore[arg-type]
    steps = [step['step'] for step in upgraded['steps']]  # type: ignore[union-attr]
    assert steps == ['checked', 'installed', 'stopping', 'stopped', 'snapshot', 'switching', 'switched', 'migrated',
                     'started']  # fmt: skip
    assert any('is up and healthy' in line for line in upgraded['log'])  # type: ignore[union-attr]
    snapshot = get_settings().data_dir / 'snapshots' / str(upgraded['snapshot'])
    assert json.loads((snapshot / 'snapshot.json').read_text())['reason'] == 'upgrade'
    assert state_now() == before
    # The old release stays installed for a rollback; the copy of the bundle is gone from the root-only folder.
    assert (box.opt / 'releases' / '0.1.0' / '.complete').exists()
    assert not list(box.state.glob('*.tar')) and not list(box.state.glob('*.unpacked'))
    # Work done on the new release, which the rollback undoes (and keeps aside).
    with sqlite3.connect(get_settings().data_dir / 'enclave.db') as connection:
        connection.execute("update core_users set display_name = 'Changed after the upgrade' where username = 'bob'")

    box.ask(action='rollback', upgrade=upgraded['id'], by='alice (admin)')
    done = box.helper()

    assert done.returncode == 0, done.stdout + done.stderr
    assert box.current() == 'releases/0.1.0' and box.answers()
    rolled = [record for record in box.history() if record['action'] == 'rollback']
    assert len(rolled) == 1 and rolled[0]['state'] == 'rolled_back', rolled
    assert state_now() == before
    # Rolled back once: the same upgrade cannot be rolled back again.
    box.ask(action='rollback', upgrade=upgraded['id'], by='alice (admin)')
    box.helper()
    assert box.history()[-1]['state'] == 'refused' and box.current() == 'releases/0.1.0'
