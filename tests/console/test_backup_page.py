"""The Backups page as alice (admin) uses it: add a target through the dialog (and be told why bad input is
refused), back up now, prove a restore with a drill, take the recovery kit, change the schedules, and be stopped
by the restore dialog's confirmation; restore through the dialog after a killed restic left its lock (every restic
call of the dialog made off the event loop); bob (member) and erin (no role) are kept out.

Everything runs against real restic repositories under the test's tmp dir (outside the data dir). Long operations
run through `run.io_bound`: the tests wait for their outcome on a wall-clock deadline (the machine is shared).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.modules import current_registry
from appliance.web import maintenance
from console.backup import services as backup_services
from console.backup.services import checks as backup_checks
from console.backup.services import runs, targets
from console.backup.services.restic import Repository
from console.models import Run, Target
from tests.appliance.support import count, sign_in_url
from tests.console.backup_page_support import DEADLINE, history_rows, label_texts, wait_for
from tests.console.backup_support import add_target, arrange, locks, repository_of
from tests.modules.conftest import Team

PATH = '/console/backups'


def targets_stored() -> list[tuple[str, str]]:
    with get_database().session() as session:
        return [(t.name, t.repository) for t in session.scalars(select(Target).order_by(Target.name))]


def stored_target(name: str = 'usb') -> Target:
    with get_database().session() as session:
        target = session.scalars(select(Target).where(Target.name == name)).one()
        session.expunge(target)
        return target


async def open_dialog(user: UIUser) -> None:
    await user.should_see(marker='add-target')  # the page's parts are drawn once it is connected
    user.find(marker='add-target').click()
    await user.should_see(marker='target-name')


def fill(user: UIUser, *, name: str, repository: str) -> None:
    user.find(marker='target-name').clear().type(name)
    user.find(marker='target-repo').clear().type(repository)


# ---- adding a target -------------------------------------------------------------------------------------------


async def test_alice_tests_the_connection_and_adds_a_local_target(user: UIUser, team: Team, tmp_path: Path) -> None:
    repository = tmp_path / 'usb-disk' / 'enclave'
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='no-targets')
    await user.should_see(marker='last-proven')
    await user.should_see('No restore has been proven yet: add a backup target first.')
    await open_dialog(user)
    fill(user, name='usb', repository=str(repository))

    user.find(marker='test-connection').click()
    await user.should_see('Reached. There is no repository there yet; saving creates one.', retries=int(DEADLINE * 10))
    assert targets_stored() == []  # testing changes nothing
    assert not (repository / 'config').exists()

    user.find(marker='save-target').click()
    await user.should_see(marker='target-usb', retries=int(DEADLINE * 10))
    await user.should_see('Target "usb" added. Download its recovery kit now and keep it offline.')
    assert targets_stored() == [('usb', str(repository))]
    assert (repository / 'config').is_file()  # restic made the repository
    await user.should_not_see(marker='no-targets')
    await user.should_see(marker='kit-missing-usb')
    # The "last proven" line follows the new target at once (no reload).
    await user.should_see('No restore of "usb" has been proven yet: run a restore drill in Maintenance → Backups.')


async def test_bad_input_shows_the_sentence_and_saves_nothing(
    user: UIUser, team: Team, tmp_path: Path, data_dir: Path
) -> None:
    cases = [  # (name, repository, sentence); the name is only checked on save, the repository already by a test
        ('usb', 'backups/enclave', 'A local repository needs a full path starting with /, e.g. /mnt/backup/enclave.'),
        ('usb', str(data_dir / 'backups'), f'The repository must not be inside the data folder {data_dir.resolve()}'),
        ('usb', '', 'Enter the repository: a folder such as /mnt/backup/enclave, or sftp:, rest:, s3:.'),
        ('usb disk!', str(tmp_path / 'usb'), 'A target name uses letters, digits, - and _ (up to 64), e.g. usb-disk'),
    ]
    await user.open(sign_in_url('alice', next_path=PATH))
    await open_dialog(user)
    result = user.find(marker='connection-result').elements.pop()
    assert isinstance(result, ui.label)
    for name, repository, sentence in cases:
        fill(user, name=name, repository=repository)
        for button in ('test-connection', 'save-target') if name == 'usb' else ('save-target',):
            result.text = ''  # each button must say it again
            user.find(marker=button).click()
            await wait_for(
                lambda: any(sentence in text for text in label_texts(user, 'connection-result')),
                lambda: f'{button}: {sentence!r} not shown; the result says {label_texts(user, "connection-result")}',
            )
    assert targets_stored() == []
    assert count(Target) == 0
    assert not (data_dir / 'backups').exists()
    assert not (tmp_path / 'usb').exists()
    await user.should_see(marker='no-targets')


async def test_a_duplicate_name_or_repository_is_refused_and_nothing_changes(
    user: UIUser, team: Team, tmp_path: Path
) -> None:
    add_target(team.alice, tmp_path / 'usb')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='target-usb')

    await open_dialog(user)
    fill(user, name='usb', repository=str(tmp_path / 'other'))
    user.find(marker='save-target').click()
    await user.should_see('There is already a backup target called "usb".', retries=int(DEADLINE * 10))
    fill(user, name='usb2', repository=str(tmp_path / 'usb'))
    user.find(marker='save-target').click()
    await user.should_see(
        f'Target "{tmp_path / "usb"}" is already configured under another name.', retries=int(DEADLINE * 10)
    )
    assert targets_stored() == [('usb', str(tmp_path / 'usb'))]
    assert not (tmp_path / 'other').exists()


async def test_it_makes_the_sftp_key_off_the_event_loop_and_shows_it(
    user: UIUser, team: Team, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[bool] = []
    real = targets.ssh_public_key

    def watched(folder: Path) -> str:
        try:
            asyncio.get_running_loop()  # only the event loop's own thread has one
        except RuntimeError:
            threads.append(False)
        else:
            threads.append(True)
        return real(folder)

    monkeypatch.setattr(backup_services, 'ssh_public_key', watched)
    await user.open(sign_in_url('alice', next_path=PATH))
    await open_dialog(user)
    user.find(marker='target-repo').type('sftp:backup@nas:/srv/enclave')

    shown = await wait_for(
        lambda: [t for t in label_texts(user, 'ssh-public-key') if t.startswith('ssh-ed25519 ')],
        lambda: f'no public key shown: {label_texts(user, "ssh-public-key")}',
    )
    assert shown == [real(data_dir)]
    assert threads and not any(threads), 'ssh-keygen ran on the event loop'


# ---- backing up, drilling, the kit -----------------------------------------------------------------------------


async def test_back_up_now_adds_an_ok_backup_row_and_a_drill_proves_the_restore(
    user: UIUser, team: Team, tmp_path: Path
) -> None:
    arrange(team, tasks=3)
    add_target(team.alice, tmp_path / 'usb')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='backup-usb')
    await user.should_see(marker='history-table')
    assert history_rows(user) == []

    user.find(marker='backup-usb').click()
    await user.should_see('Backup started.')
    rows = await wait_for(
        lambda: [r for r in history_rows(user) if r['kind'] == 'Backup' and r['status'] == 'OK'],
        lambda: f'no OK backup row in the history: {history_rows(user)}',
    )
    await user.should_see('Backup finished.')
    assert rows[0]['target'] == 'usb'
    assert rows[0]['added'].endswith(('B', 'KiB', 'MiB')) and rows[0]['files']
    with get_database().session() as session:
        backup_run = session.scalars(select(Run).where(Run.kind == 'backup')).one()
        assert backup_run.status == 'ok' and backup_run.actor == 'alice'
        assert rows[0]['text'] == backup_run.snapshot_id[:8]
    assert any(r['kind'] == 'Retention' and r['status'] == 'OK' for r in history_rows(user))
    await user.should_not_see('Last proven restore')

    await user.should_see(marker='drill-usb')  # the targets' list is drawn again after the backup
    user.find(marker='drill-usb').click()
    await user.should_see('Restore drill started.')
    await wait_for(
        lambda: any(r['kind'] == 'Restore drill' and r['status'] == 'OK' for r in history_rows(user)),
        lambda: f'no OK drill row in the history: {history_rows(user)}',
    )
    await user.should_see('Restore drill finished.')
    texts = await wait_for(
        lambda: [t for t in label_texts(user, 'last-proven') if t.startswith('Last proven restore: ')],
        lambda: f'the page does not say "Last proven restore": {label_texts(user, "last-proven")}',
        timeout=10,
    )
    status, message = backup_checks.drills()
    assert status == 'green' and texts == [message]


async def test_a_second_task_while_one_runs_is_refused_on_the_page(user: UIUser, team: Team, tmp_path: Path) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='backup-usb')
    user.find(marker='backup-usb').click()
    user.find(marker='check-usb').click()  # same page, while the backup is running
    await user.should_see('Wait for the current task to finish.')
    await wait_for(
        lambda: any(r['kind'] == 'Backup' and r['status'] == 'OK' for r in history_rows(user)),
        lambda: f'no OK backup row in the history: {history_rows(user)}',
    )
    assert count(Run, Run.kind == 'check') == 0


async def test_downloading_the_recovery_kit_is_recorded(
    user: UIUser, team: Team, tmp_path: Path, data_dir: Path
) -> None:
    add_target(team.alice, tmp_path / 'usb')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='kit-missing-usb')
    assert stored_target().kit_downloaded_at is None

    user.find(marker='kit-usb').click()
    response = await user.download.next(timeout=10)
    text = response.content.decode()
    assert 'ENCLAVE RECOVERY KIT' in text
    assert f'Repository:    {tmp_path / "usb"}' in text
    password = targets.password_file(data_dir, 'usb').read_text(encoding='utf-8').strip()
    assert f'Password:      {password}' in text
    await user.should_not_see(marker='kit-missing-usb')
    await user.should_see('Recovery kit downloaded')
    target = stored_target()
    assert target.kit_downloaded_at is not None and target.kit_downloaded_by == 'alice'


async def test_the_settings_dialog_refuses_a_bad_schedule_and_saves_a_good_one(
    user: UIUser, team: Team, tmp_path: Path
) -> None:
    add_target(team.alice, tmp_path / 'usb')
    before = stored_target().backup_cron
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='settings-usb')
    user.find(marker='settings-usb').click()
    await user.should_see(marker='setting-backup_cron')

    [kind] = user.find(marker='setting-backup_cron-kind').elements
    assert kind.value == 'daily'  # the default 0 2 * * * is shown in the picker, not as a crontab
    assert user.find(marker='setting-backup_cron-sentence').elements.pop().text == 'Every day at 02:00'
    kind.set_value('custom')
    user.find(marker='setting-backup_cron-cron').clear().type('every night')
    user.find(marker='save-settings').click()
    await user.should_see(
        '"every night" is not a schedule: write five fields, minute hour day month weekday, e.g. 0 2 * * *.'
    )
    assert stored_target().backup_cron == before

    kind.set_value('weekly')
    user.find(marker='setting-backup_cron-weekday').elements.pop().set_value(0)
    user.find(marker='setting-backup_cron-time').elements.pop().set_value('03:30')
    assert user.find(marker='setting-backup_cron-sentence').elements.pop().text == 'Every Sunday at 03:30'
    user.find(marker='save-settings').click()
    await user.should_see('Saved.')
    assert stored_target().backup_cron == '30 3 * * 0'
    await user.should_see('Backup: Every Sunday at 03:30', retries=10)


# ---- restore ---------------------------------------------------------------------------------------------------


async def test_the_restore_dialog_refuses_a_wrong_confirmation(
    user: UIUser, team: Team, tmp_path: Path, data_dir: Path
) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=team.alice, registry=current_registry(), target='usb').status == 'ok'
    restores = count(Run, Run.kind == 'restore')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='restore-usb')
    user.find(marker='restore-usb').click()
    await user.should_see(marker='restore-confirm', retries=int(DEADLINE * 10))
    await user.should_see(marker='restore-snapshot')

    user.find(marker='restore-confirm').type('USB')
    user.find(marker='restore-go').click()
    await user.should_see('Type "usb" to confirm.')
    assert count(Run, Run.kind == 'restore') == restores
    assert not maintenance.active()
    assert not list(data_dir.glob('before-restore-*'))


async def test_the_restore_dialog_asks_for_a_backup_first(user: UIUser, team: Team, tmp_path: Path) -> None:
    add_target(team.alice, tmp_path / 'usb')
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='restore-usb')
    user.find(marker='restore-usb').click()
    await user.should_see('There is no backup in this repository yet. Run a backup first.', retries=int(DEADLINE * 10))
    await user.should_not_see(marker='restore-confirm')


def hold_a_lock(repository: Repository, args: list[str], prefix: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start a real restic that takes its repository lock and waits on stdin (until killed or stdin closes).

    `backup --stdin` takes the shared lock a backup takes; `key passwd` (waiting for the new password) takes the
    exclusive lock a retention pass takes, which refuses every other restic, readers included, until removed.
    """
    before = set(locks(repository))
    process = subprocess.Popen(
        [*prefix, *repository.uncached()._argv(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=repository._environment(),
    )
    deadline = time.monotonic() + 20
    while not set(locks(repository)) - before:
        assert process.poll() is None, process.stderr.read() if process.stderr else b''
        assert time.monotonic() < deadline, 'restic took no lock'
        time.sleep(0.1)
    return process


def leave_a_stale_lock(repository: Repository, args: list[str]) -> None:
    """kill -9 a restic holding its lock (see `hold_a_lock`): the lock stays behind, stale."""
    before = set(locks(repository))
    process = hold_a_lock(repository, args)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert len(locks(repository)) == len(before) + 1, 'kill -9 left the lock behind'


async def restore_from_the_dialog(user: UIUser, *, between: Callable[[], None] = lambda: None) -> None:
    """Open the restore dialog, see a snapshot, call `between`, confirm and restore; wait for the outcome."""
    await user.should_see(marker='restore-usb')
    user.find(marker='restore-usb').click()
    await user.should_see(marker='restore-confirm', retries=int(DEADLINE * 10))
    choice = user.find(marker='restore-snapshot').elements.pop()
    assert isinstance(choice, ui.select) and choice.value and len(choice.options) == 1
    between()
    user.find(marker='restore-confirm').type('usb')
    user.find(marker='restore-go').click()
    await wait_for(
        lambda: user.notify.contains('Restored the snapshot of'),
        lambda: f'no "Restored the snapshot of"; notifications {user.notify.messages}, dialog {label_texts_all(user)}',
    )


def label_texts_all(user: UIUser) -> list[str]:
    return [item.text for item in user.find(kind=ui.label).elements if isinstance(item, ui.label) and item.text]


@pytest.mark.parametrize(
    'killed',
    [
        pytest.param(['key', 'passwd'], id='exclusive-like-retention'),
        pytest.param(['backup', '--stdin', '--stdin-filename', 'upload.bin'], id='shared-like-backup'),
    ],
)
async def test_it_opens_the_restore_dialog_and_restores_after_a_killed_restic_left_its_lock(
    user: UIUser, team: Team, tmp_path: Path, data_dir: Path, killed: list[str]
) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=team.alice, registry=current_registry(), target='usb').status == 'ok'
    repository = repository_of()
    # Killed midway: a retention pass's exclusive lock refused even the list of snapshots, and the pre-check.
    leave_a_stale_lock(repository, killed)
    await user.open(sign_in_url('alice', next_path=PATH))

    # Killed again while the dialog is open: the pre-check meets the lock before the restore could remove it.
    await restore_from_the_dialog(user, between=lambda: leave_a_stale_lock(repository, killed))

    assert list(data_dir.glob('before-restore-*'))
    with get_database().session() as session:
        restored = session.scalars(select(Run).where(Run.kind == 'restore')).one()
        assert restored.status == 'ok' and restored.actor == 'alice'
    assert not maintenance.active()
    assert locks(repository) == []  # only stale locks were there, and they are gone


async def test_it_names_a_live_lock_of_another_computer_in_the_restore_dialog_and_leaves_it(
    user: UIUser, team: Team, tmp_path: Path, data_dir: Path
) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=team.alice, registry=current_registry(), target='usb').status == 'ok'
    repository = repository_of()
    unshare = shutil.which('unshare')
    probe = subprocess.run([unshare or 'unshare', '-u', 'true'], capture_output=True, check=False)
    if unshare is None or probe.returncode != 0:
        pytest.skip('needs `unshare -u` (root) to run restic under another host name')
    other = hold_a_lock(
        repository, ['key', 'passwd'], (unshare, '-u', 'sh', '-c', 'hostname other-box && exec "$0" "$@"')
    )
    try:
        await user.open(sign_in_url('alice', next_path=PATH))
        await user.should_see(marker='restore-usb')
        user.find(marker='restore-usb').click()
        await wait_for(
            lambda: user.notify.contains('on the computer "other-box"'),
            lambda: f'the live lock is not named: {user.notify.messages}',
        )
        await user.should_not_see(marker='restore-confirm')
        assert len(locks(repository)) == 1, 'the live lock stays'
    finally:
        other.kill()
        other.wait()
    assert count(Run, Run.kind == 'restore') == 0
    assert not list(data_dir.glob('before-restore-*'))


async def test_it_runs_every_restic_of_the_restore_dialog_off_the_event_loop(
    user: UIUser, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=team.alice, registry=current_registry(), target='usb').status == 'ok'
    on_loop: list[list[str]] = []
    off_loop: list[list[str]] = []
    real_run = Repository.run

    def watched(self: Repository, args: Any, **kwargs: Any) -> str:
        try:
            asyncio.get_running_loop()  # only the event loop's own thread has one
        except RuntimeError:
            off_loop.append(list(args))
        else:
            on_loop.append(list(args))
        return real_run(self, args, **kwargs)

    monkeypatch.setattr(Repository, 'run', watched)
    await user.open(sign_in_url('alice', next_path=PATH))

    await restore_from_the_dialog(user)

    # Each restic call of the pre-check blocked every page of every user while it ran on the loop.
    assert on_loop == [], f'restic ran on the event loop: {on_loop}'
    ran = [' '.join(args) for args in off_loop]
    assert ran.count('unlock') >= 3 and 'list snapshots' in ran, ran  # the dialog, the pre-check, the restore


# ---- who may --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('who', ['bob', 'erin'])
async def test_it_refuses_the_page_to_non_admins(user: UIUser, team: Team, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    response = await user.http_client.get(PATH, follow_redirects=False)
    assert response.status_code == 403
    assert 'You do not have permission to open this page.' in response.text
    assert 'Add target' not in response.text


async def test_a_run_without_progress_yet_shows_a_moving_bar_and_no_number(user: UIUser, team: Team) -> None:
    """Before restic's first progress line the bar moves on its own; it showed a literal "0" in its middle."""
    from console.models import Run

    with get_database().session() as session:
        session.add(Run(kind='backup', target_name='usb-disk', status='running'))
    await user.open(sign_in_url('alice', next_path='/console/backups'))
    await user.should_see('running since', retries=30)  # the progress box is polled once a second
    [box] = user.find(marker='progress').elements
    [bar] = [element for element in box.descendants() if isinstance(element, ui.linear_progress)]
    assert bar.props.get('indeterminate') is True
    assert not [child for child in bar.descendants() if isinstance(child, ui.label)]
