"""Back up, prove, lose, restore, in a real Chromium (issue 4, "Done when"): alice follows the README's first run.

She has a project with a task (made through the pages). She opens Maintenance → Backups, adds a local target (a
folder under the test's tmp dir, outside the data dir), presses "Back up now" and finds the OK run in the history,
runs a restore drill and reads "Last proven restore", downloads the recovery kit, deletes the project (archive,
then delete by typing its key), restores the latest snapshot by typing the target's name, is sent to sign in,
signs in again and finds the project and its task back.

The steps run in file order against one server and one browser (see conftest.py); a failed step fails the rest at
once, naming it. Every wait is on a wall-clock deadline; the slow ones (restic) get a longer one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.e2e.conftest import Page
from tests.livesrv import HOST, LiveServer, complete_setup, http_client, outbound_attempts, wait_until_healthy
from tests.livesrv import sign_in as livesrv_sign_in

pytestmark = pytest.mark.e2e

ORG = 'Acme Robotics'
PASSWORD = 'Correct-Horse-Battery-42'
ADMIN, ADMIN_NAME = 'alice', 'Alice Admin'
PROJECT, KEY, TASK = 'Website relaunch', 'WEB', '设计首页 Design the home page'
TARGET = 'usb-disk'
NAV = '.q-drawer nav a'  # the navigation's links (appliance/ui/frame.py)
# Two workers, as on a 2-core appliance: the restore in one worker must bring every worker onto the restored data.
WORKERS = 2
SLOW = 90.0  # seconds: a restic run (backup, drill, restore) on a loaded shared machine

# What the steps learn and hand to the later ones: the project's id, the repository, the snapshot backed up.
story: dict[str, Any] = {}


# ---- helpers ---------------------------------------------------------------------------------------------------


def press(page: Page, text: str) -> None:
    """Click the visible button labelled `text`, even while a notification toast lies over it (as a person would,
    who waits for the toast to move; a toast's position depends on timing, which made a plain click flaky)."""
    page.driver.execute_script('arguments[0].click();', page.button(text))


def sign_in(page: Page, username: str) -> None:
    """Sign in on the login page."""
    page.open('/login')
    page.type_into('Username', username)
    page.type_into('Password', PASSWORD)
    press(page, 'Sign in')
    page.wait_for_path('/')
    page.wait(lambda _d: page.visible(NAV), f'no navigation after signing in as {username}')


def click_nav(page: Page, label: str) -> None:
    """Follow the left navigation entry labelled `label` (opening its group first when it is closed)."""
    page.open_nav_group_of(label)

    def find(_d: object) -> WebElement | None:
        return next((e for e in page.visible(NAV) if e.text.splitlines()[-1:] == [label]), None)

    entry = page.wait(find, f'no navigation entry {label!r}')
    assert isinstance(entry, WebElement)
    entry.click()


def click_link(page: Page, text: str) -> None:
    """Follow the visible link (inside the page) whose text is `text`."""
    xpath = f"//main//a[normalize-space()='{text}'] | //div[contains(@class, 'q-page')]//a[normalize-space()='{text}']"
    link = page.wait(
        lambda d: next((a for a in d.find_elements(By.XPATH, xpath) if a.is_displayed()), None), f'no link {text!r}'
    )
    assert isinstance(link, WebElement)
    link.click()


def wait_until(page: Page, condition: Callable[[], object], describe: Callable[[], str], timeout: float) -> None:
    """Wait for `condition`; on time-out fail with `describe()`, i.e. with the state at the end of the wait."""
    try:
        page.wait(lambda _d: condition(), 'timed out', timeout=timeout)
    except TimeoutException:
        raise AssertionError(describe()) from None


def notified(page: Page, text: str, timeout: float) -> None:
    """Wait until a notification says `text`; fail at once, quoting it, when a negative one appears instead."""

    def check(_d: object) -> bool:
        negative = page.text_of('.q-notification.bg-negative')
        assert not negative, f'waiting for {text!r}, the page said: {negative}'
        return text in page.text_of('.q-notification')

    page.wait(check, f'no notification {text!r} within {timeout:.0f} s', timeout=timeout)


def history(page: Page) -> list[list[str]]:
    """The history table's rows as the browser shows them: a list of cell texts per row."""
    script = (
        'return Array.from(document.querySelectorAll(".q-page .q-table tbody tr"))'
        '.map(r => Array.from(r.querySelectorAll("td")).map(c => c.textContent.trim()));'
    )
    return [list(row) for row in page.driver.execute_script(script)]


def row_of(page: Page, kind: str, status: str) -> list[str] | None:
    """The newest history row of task `kind` with result `status` (columns: started, target, task, ... result)."""
    return next((row for row in history(page) if len(row) >= 7 and row[2] == kind and row[6] == status), None)


def project_path() -> str:
    return f'/projects/{story["project_id"]}'


# ---- the story -------------------------------------------------------------------------------------------------


def test_the_org_has_an_admin(live_server: LiveServer) -> None:
    complete_setup(live_server.data_dir, org_name=ORG, username=ADMIN, display_name=ADMIN_NAME, password=PASSWORD)


def test_alice_has_a_project_with_a_task(page: Page) -> None:
    sign_in(page, ADMIN)
    click_nav(page, 'Projects')
    page.wait_for_path('/projects')
    press(page, 'New project')
    page.type_into('Name', PROJECT)
    page.type_into('Key', KEY)
    press(page, 'Create')
    page.wait(lambda _d: re.fullmatch(r'/projects/\d+', urlsplit(page.driver.current_url).path), 'not on the project')
    story['project_id'] = int(urlsplit(page.driver.current_url).path.rsplit('/', 1)[1])

    page.open(project_path() + '/board')
    field = page.wait(
        lambda _d: next(iter(page.visible('.tk-board .tk-column input[placeholder="New task"]')), None),
        'no quick-add field on the board',
    )
    assert isinstance(field, WebElement)
    field.send_keys(TASK, Keys.ENTER)
    page.wait_for_text('.tk-board', TASK)
    page.wait_for_text('.tk-board', f'{KEY}-1')


def test_alice_opens_maintenance_then_backups(page: Page) -> None:
    click_nav(page, 'Health')  # under Maintenance
    page.wait_for_path('/console')
    click_link(page, 'Backups')
    page.wait_for_path('/console/backups')
    page.wait_for_text('.q-page', 'No backup target yet.')
    page.wait_for_text('.q-page', 'No restore has been proven yet')


def test_alice_adds_a_local_target_after_testing_the_connection(page: Page, tmp_path_factory: Any) -> None:
    story['repository'] = tmp_path_factory.mktemp('usb-disk') / 'enclave'
    press(page, 'Add target')
    page.type_into('Name', TARGET)
    page.type_into('Repository', str(story['repository']))
    press(page, 'Test connection')
    wait_until(
        page,
        lambda: 'Reached. There is no repository there yet; saving creates one.' in page.text_of('.q-dialog'),
        lambda: f'"Test connection" did not answer; the dialog says: {page.text_of(".q-dialog")}',
        SLOW,
    )
    press(page, 'Save')
    notified(page, f'Target "{TARGET}" added.', SLOW)
    page.wait(lambda _d: not page.visible('.q-dialog'), 'the dialog stayed open')
    page.wait_for_text('.q-page', str(story['repository']))
    page.wait_for_text('.q-page', 'The recovery kit was never downloaded')
    assert (story['repository'] / 'config').is_file(), 'restic made no repository there'


def test_back_up_now_shows_an_ok_backup_in_the_history(page: Page) -> None:
    press(page, 'Back up now')
    notified(page, 'Backup finished.', SLOW)
    wait_until(page, lambda: row_of(page, 'Backup', 'OK'), lambda: f'no OK backup in the history: {history(page)}', 15)
    row = row_of(page, 'Backup', 'OK')
    assert row is not None and row[1] == TARGET, row
    assert re.fullmatch(r'\d+ s', row[3]) and int(row[4]) > 0 and re.fullmatch(r'[\d.]+ (B|KiB|MiB)', row[5]), row
    assert re.fullmatch(r'[0-9a-f]{8}', row[7]), row  # the snapshot's short id
    story['snapshot'] = row[7]


def test_a_restore_drill_proves_the_backup(page: Page) -> None:
    press(page, 'Restore drill')
    notified(page, 'Restore drill finished.', SLOW)
    wait_until(
        page, lambda: row_of(page, 'Restore drill', 'OK'), lambda: f'no OK drill in the history: {history(page)}', 15
    )
    page.wait_for_text('.q-page', 'Last proven restore: ')


def test_alice_downloads_the_recovery_kit(page: Page, browser: webdriver.Chrome, tmp_path_factory: Any) -> None:
    downloads: Path = tmp_path_factory.mktemp('downloads')
    browser.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
    press(page, 'Recovery kit')
    kit = downloads / f'enclave-recovery-kit-{TARGET}.txt'
    page.wait(lambda _d: kit.is_file() and kit.stat().st_size > 0, f'the recovery kit did not arrive as {kit}')
    text = kit.read_text(encoding='utf-8')
    assert 'ENCLAVE RECOVERY KIT' in text
    assert f'Repository:    {story["repository"]}' in text
    assert re.search(r'^Password:      \S{20,}$', text, re.MULTILINE), text
    page.wait_for_text('.q-page', 'Recovery kit downloaded')
    assert 'The recovery kit was never downloaded' not in page.text_of('.q-page')


def test_alice_archives_and_deletes_the_project(page: Page) -> None:
    page.open(project_path() + '/settings')
    press(page, 'Archive')
    # The page reloads at once (the notification goes with it): the settings page says what happened.
    page.wait_for_text('.q-page', 'This project is archived.')
    press(page, 'Delete…')
    page.type_into('Project key', KEY)
    press(page, 'Delete')
    page.wait_for_path('/projects')
    page.wait_for_text('.q-page', 'No projects here yet.')
    page.open(project_path())
    page.wait_for_text('body', 'This project does not exist')
    page.driver.find_element(By.LINK_TEXT, 'Back to the projects').click()
    page.wait_for_path('/projects')


def test_alice_restores_the_latest_snapshot_and_is_sent_to_sign_in(page: Page) -> None:
    click_nav(page, 'Backups')
    page.wait_for_path('/console/backups')
    press(page, 'Restore…')
    page.wait_for_text('.q-dialog', f'Restore from "{TARGET}"')
    wait_until(
        page,
        lambda: story['snapshot'] in page.field('Snapshot').text,
        lambda: f'the latest snapshot {story["snapshot"]} is not the one chosen: {page.field("Snapshot").text}',
        15,
    )
    page.type_into('Type the target name to confirm', TARGET)
    began = time.monotonic()
    press(page, 'Restore')
    wait_until(
        page,
        lambda: urlsplit(page.driver.current_url).path == '/login',
        lambda: (
            f'not sent to sign in; still at {page.path()}: {page.text_of(".q-dialog") or page.text_of("body")[:500]}'
        ),
        SLOW,
    )
    page.input('Username')
    assert time.monotonic() - began < SLOW


def test_alice_signs_in_again_and_finds_the_project_and_its_task(page: Page, live_server: LiveServer) -> None:
    sign_in(page, ADMIN)
    click_nav(page, 'Projects')
    page.wait_for_path('/projects')
    page.wait_for_text('.q-page', PROJECT)
    assert 'No projects here yet.' not in page.text_of('.q-page')
    page.open(project_path() + '/board')
    page.wait_for_text('.tk-board', TASK)
    page.wait_for_text('.tk-board', f'{KEY}-1')
    page.open('/console/backups')
    page.wait(lambda _d: row_of(page, 'Restore', 'OK'), 'the restore is not in the history', timeout=15)
    aside = list(live_server.data_dir.glob('before-restore-*'))  # the data found before the restore is kept
    assert len(aside) == 1 and (aside[0] / 'enclave.db').is_file(), aside


def test_every_worker_serves_the_restored_data_and_maintenance_is_over(live_server: LiveServer) -> None:
    """The browser talked to worker 1, which restored and reopened the data; worker 2 held the old database open
    and was restarted by the supervisor, which lifted maintenance mode once it had stopped."""
    wait_until_healthy(live_server, 120)
    assert not (live_server.data_dir / 'maintenance-mode').exists()
    for _socket, port in live_server.worker_addresses():
        with http_client(f'http://{HOST}:{port}') as client:
            assert client.get('/healthz').status_code == 200
            livesrv_sign_in(client, live_server.data_dir, username=ADMIN, password=PASSWORD, next_path='/projects')
            assert PROJECT in client.get('/projects').text, port
    log = live_server.log_text()
    assert 'restarting 1 of 2 workers on the restored data' in log, log[-3000:]


def test_neither_the_browser_nor_the_server_reached_another_host(page: Page, live_server: LiveServer) -> None:
    requested = page.drain_requests()
    base = live_server.url
    websocket = 'ws' + base.removeprefix('http')
    # The recovery kit is a blob: URL made in the page; chrome:// and chrome-untrusted:// are the browser's own
    # built-in new-tab page before the first load (its resources, not the network).
    internal = ('data:', 'blob:', 'chrome:', 'chrome-untrusted:')
    elsewhere = sorted(url for url in requested if not url.startswith((base + '/', websocket + '/', *internal)))
    assert not elsewhere, elsewhere
    network = {url for url in requested if not url.startswith(internal)}
    assert any(url.startswith(f'{base}/console/backups') for url in network), sorted(network)
    assert any(url.startswith(websocket + '/') for url in network), 'no websocket to the server was seen'
    assert not outbound_attempts(live_server.log_text()), live_server.log_text()
