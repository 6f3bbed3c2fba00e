"""A team's first project, in a real Chromium: create it, invite a member, build a board, drag cards, comment with
an @mention that notifies, log time, read the timeline, and find a task by a Chinese word (issue 3, "Done when").

The org (alice the admin, bob and dave the members) is arranged through the services; everything after that goes
through the browser. The steps run in file order against one server and one browser (see conftest.py); a failed
step fails the rest at once. Board cards are found by their DOM ids (`card-<task id>`, `column-<status id>`), everything
else by visible text and aria-labels (NiceGUI's marks are not in the DOM). Before reloading after a drag, a step
waits until the server's database holds the new order (read-only, through `server_database`), so the reload
cannot overtake the drop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import select

from tests.e2e.conftest import Page
from tests.livesrv import LiveServer, complete_setup, create_user, outbound_attempts, server_database

pytestmark = pytest.mark.e2e

ORG = 'Acme Robotics'
PASSWORD = 'Correct-Horse-Battery-42'
ADMIN, ADMIN_NAME = 'alice', 'Alice Admin'
OWNER, OWNER_NAME = 'bob', 'Bob Builder'
MEMBER, MEMBER_NAME = 'dave', 'Dave Designer'
PROJECT, KEY = 'Website relaunch', 'WEB'
TASKS = ('设计首页', 'Write copy', 'Deploy')
NAV = '.q-drawer nav a'  # the navigation's links (appliance/ui/frame.py)
USER_MENU = "//header//button[.//i[normalize-space()='account_circle']]"

# What the steps learn from the pages and hand to the later ones: the project, its columns, the tasks' ids.
story: dict[str, Any] = {}


def today() -> date:
    """Today for the accounts of this story (their time zone is the default, UTC)."""
    return datetime.now(UTC).date()


# ---- helpers ---------------------------------------------------------------------------------------------------


def sign_in(page: Page, username: str) -> None:
    """Sign in on the login page (the browser holds no session yet)."""
    page.open('/login')
    page.type_into('Username', username)
    page.type_into('Password', PASSWORD)
    page.button('Sign in').click()
    page.wait_for_path('/')
    page.wait(lambda _d: page.visible(NAV), f'no navigation after signing in as {username}')


def sign_out(page: Page) -> None:
    """Sign out through the header's user menu (its last item)."""
    page.driver.find_element(By.XPATH, USER_MENU).click()
    items = page.wait(
        lambda _d: len(page.visible('.q-menu .q-item')) == 3 and page.visible('.q-menu .q-item'),
        'the user menu did not open with its three items',
    )
    assert isinstance(items, list)
    items[-1].click()
    page.wait_for_path('/login')
    page.input('Username')


def wait_until(page: Page, condition: Callable[[], object], describe: Callable[[], str]) -> None:
    """Wait for `condition`; on time-out fail with `describe()`, i.e. with the state at the end of the wait."""
    try:
        page.wait(lambda _d: condition(), 'timed out')
    except TimeoutException:
        raise AssertionError(describe()) from None


def click_nav(page: Page, label: str) -> None:
    """Follow the left navigation entry labelled `label` (opening its group first when it is closed)."""
    page.open_nav_group_of(label)

    def find(_d: object) -> WebElement | None:
        return next((e for e in page.visible(NAV) if e.text.splitlines()[-1:] == [label]), None)

    entry = page.wait(find, f'no navigation entry {label!r}')
    assert isinstance(entry, WebElement)
    entry.click()


def open_tab(page: Page, label: str, path: str) -> None:
    """Follow a project tab (a link whose text is the label; its icon is drawn by CSS) and wait for its page."""
    xpath = f"//a[normalize-space()='{label}']"
    tab = page.wait(lambda d: next((a for a in d.find_elements(By.XPATH, xpath) if a.is_displayed()), None), label)
    assert isinstance(tab, WebElement), f'no project tab {label!r}'
    tab.click()
    page.wait_for_path(path)


def board_path() -> str:
    return f'/projects/{story["project_id"]}/board'


def columns(page: Page) -> list[int]:
    """The status ids of the board's columns, left to right (from their DOM ids `column-<status id>`)."""
    ids = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('.tk-board .tk-column')).map(c => c.id);"
    )
    assert all(re.fullmatch(r'column-\d+', i) for i in ids), ids
    return [int(i.removeprefix('column-')) for i in ids]


def titles_in(page: Page, status_id: int) -> list[str]:
    """The card titles of one column, top to bottom, as the browser shows them."""
    script = (
        'return Array.from(document.querySelectorAll(`#column-${arguments[0]} .tk-card`))'
        '.map(c => c.querySelector(".tk-title").textContent.trim());'
    )
    return list(page.driver.execute_script(script, status_id))


def card(page: Page, title: str) -> WebElement:
    """The visible board card `#card-<id>` whose title is `title`."""
    xpath = f"//div[contains(@class, 'tk-card') and @data-task-id][.//a[normalize-space()='{title}']]"
    found = page.wait(lambda d: next(iter(d.find_elements(By.XPATH, xpath)), None), f'no card {title!r} on the board')
    assert isinstance(found, WebElement)
    assert found.get_attribute('id') == f'card-{found.get_attribute("data-task-id")}'
    return found


def wait_for_board(page: Page, expected: dict[int, list[str]]) -> None:
    """Wait until every column listed in `expected` shows exactly those titles, in that order."""
    wait_until(
        page,
        lambda: all(titles_in(page, sid) == titles for sid, titles in expected.items()),
        lambda: f'the board does not show {expected}; it shows { {sid: titles_in(page, sid) for sid in expected} }',
    )


def stored_board(server: LiveServer) -> dict[int, list[str]]:
    """The titles per status as the server stored them, in board order (status, position, id)."""
    from appliance.db import get_database
    from modules.tasks.models import Task

    with server_database(server.data_dir), get_database().session() as session:
        rows = session.execute(
            select(Task.status_id, Task.title)
            .where(Task.project_id == story['project_id'])
            .order_by(Task.status_id, Task.position, Task.id)
        ).all()
    board: dict[int, list[str]] = {sid: [] for sid in story['columns']}
    for status_id, title in rows:
        board.setdefault(status_id, []).append(title)
    return board


def quick_add(page: Page, status_id: int, title: str) -> None:
    """Type a title into a column's "New task" field and press Enter; wait until the field is empty again."""
    field = page.wait(
        lambda _d: next(iter(page.visible(f'#column-{status_id} input[placeholder="New task"]')), None),
        f'no quick-add field in column {status_id}',
    )
    assert isinstance(field, WebElement)
    field.send_keys(title, Keys.ENTER)
    page.wait(lambda _d: not field.get_attribute('value'), 'the quick-add field was not emptied')


def center(page: Page, element: WebElement) -> tuple[float, float]:
    rect = page.driver.execute_script(
        'const r = arguments[0].getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];', element
    )
    return float(rect[0]), float(rect[1])


def drag(page: Page, source: WebElement, target: WebElement, *, steps: int = 12) -> None:
    """A real pointer drag: press on the card's top edge (not its title link), glide to `target`'s centre, release.

    SortableJS in pointer mode (forceFallback) follows pointermove events, so the move goes in small steps.
    """
    page.driver.execute_script('arguments[0].scrollIntoView({block: "center"});', source)
    height = source.size['height']
    grab_dy = -height / 2 + 3  # the card's top padding: a press there cannot become a click on the title link
    (sx, sy), (tx, ty) = center(page, source), center(page, target)
    sy += grab_dy
    dx, dy = tx - sx, ty - sy
    chain = ActionChains(page.driver, duration=20)
    chain.move_to_element_with_offset(source, 0, int(grab_dy)).click_and_hold().pause(0.1)
    moved_x = moved_y = 0
    for step in range(1, steps + 1):
        x, y = round(dx * step / steps), round(dy * step / steps)
        chain.move_by_offset(x - moved_x, y - moved_y).pause(0.03)
        moved_x, moved_y = x, y
    chain.pause(0.2).release().perform()


def set_date(page: Page, label: str, day: date) -> None:
    """Put a day into the browser's own date input labelled `label` (typing into it is locale-dependent).

    `input` and `change` go in two scripts, as a real picker sends them in two tasks: NiceGUI forwards the new
    value from a Vue watcher (a microtask), and the page's change handler reads that value. Then the user leaves
    the field (the task page saves a date when its field is left, not at every "change" of a key typed).
    """
    element = page.input(label)
    element.click()
    page.driver.execute_script(
        """
        const input = arguments[0];
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, arguments[1]);
        input.dispatchEvent(new Event('input', {bubbles: true}));
        """,
        element,
        day.isoformat(),
    )
    page.driver.execute_script("arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", element)
    page.driver.execute_script('arguments[0].blur();', element)


def stored_task(server: LiveServer, task_id: int) -> Any:
    """The task row as the server stored it."""
    from appliance.db import get_database
    from modules.tasks.models import Task

    with server_database(server.data_dir), get_database().session() as session:
        task = session.get(Task, task_id)
        assert task is not None
        session.expunge(task)
        return task


def pick_option(page: Page, label: str, option: str) -> None:
    """Open the select labelled `label` and click its option `option`."""
    page.field(label).click()
    choice = page.wait(
        lambda _d: next((o for o in page.visible('.q-menu [role=option]') if o.text.strip() == option), None),
        f'no option {option!r} in {label!r}',
    )
    assert isinstance(choice, WebElement)
    choice.click()


# ---- the story -------------------------------------------------------------------------------------------------


def test_the_org_has_an_admin_and_two_members(live_server: LiveServer) -> None:
    complete_setup(live_server.data_dir, org_name=ORG, username=ADMIN, display_name=ADMIN_NAME, password=PASSWORD)
    for username, name in ((OWNER, OWNER_NAME), (MEMBER, MEMBER_NAME)):
        create_user(live_server.data_dir, admin=ADMIN, username=username, display_name=name, password=PASSWORD)


def test_bob_signs_in_and_creates_a_project(page: Page) -> None:
    sign_in(page, OWNER)
    click_nav(page, 'Projects')
    page.wait_for_path('/projects')
    page.wait_for_text('.q-page', 'No projects here yet.')

    page.button('New project').click()
    page.type_into('Name', PROJECT)
    page.type_into('Key', KEY)
    page.button('Create').click()

    page.wait(lambda _d: re.fullmatch(r'/projects/\d+', urlsplit(page.driver.current_url).path), 'not on the project')
    story['project_id'] = int(urlsplit(page.driver.current_url).path.rsplit('/', 1)[1])
    page.wait_for_text('.q-page', PROJECT)
    page.wait_for_text('.q-page', KEY)


def test_bob_adds_dave_as_a_member(page: Page) -> None:
    open_tab(page, 'Members', f'/projects/{story["project_id"]}/members')
    page.wait_for_text('.q-page', f'@{OWNER}')
    assert f'@{MEMBER}' not in page.text_of('.q-page')

    # A manager picks the person by typing part of their name; the list offers them with their username.
    page.type_into('Person', MEMBER_NAME.split()[0])

    def option(_d: object) -> WebElement | None:
        return next((item for item in page.visible('.q-menu .q-item') if f'@{MEMBER}' in item.text), None)

    found = page.wait(option, f'{MEMBER_NAME} is not offered')
    assert isinstance(found, WebElement)
    found.click()
    assert 'Member' in page.field('Role').text.splitlines(), page.field('Role').text  # the default role
    page.button('Add member').click()

    page.wait_for_text('.q-notification', 'Member added.')
    page.wait_for_text('.q-page', MEMBER_NAME)
    page.wait_for_text('.q-page', f'@{MEMBER}')


def test_bob_builds_a_board_with_three_quick_added_tasks(page: Page) -> None:
    open_tab(page, 'Board', board_path())
    page.wait(lambda _d: len(columns(page)) >= 3, 'the board has fewer than three columns')
    story['columns'] = columns(page)
    first = story['columns'][0]
    column_text = page.text_of(f'#column-{first}')
    assert column_text.startswith('To do'), column_text

    for count, title in enumerate(TASKS, start=1):
        quick_add(page, first, title)
        wait_for_board(page, {first: list(TASKS[:count])})

    wait_for_board(page, {first: list(TASKS)})
    story['ids'] = {title: int(card(page, title).get_attribute('data-task-id') or 0) for title in TASKS}
    refs = page.text_of(f'#column-{first} .tk-ref').splitlines()
    assert refs == [f'{KEY}-1', f'{KEY}-2', f'{KEY}-3'], refs


def test_dragging_a_card_into_in_progress_persists(page: Page, live_server: LiveServer) -> None:
    first, second = story['columns'][:2]
    assert page.text_of(f'#column-{second}').startswith('In progress'), page.text_of(f'#column-{second}')
    target = page.driver.find_element(By.CSS_SELECTOR, f'#column-{second} .tk-cards')  # the drop zone of column 2

    drag(page, card(page, TASKS[0]), target)

    wait_for_board(page, {first: [TASKS[1], TASKS[2]], second: [TASKS[0]]})
    wait_until(
        page,
        lambda: stored_board(live_server)[second] == [TASKS[0]],
        lambda: f'the move was not saved: {stored_board(live_server)}',
    )
    page.driver.refresh()
    wait_for_board(page, {first: [TASKS[1], TASKS[2]], second: [TASKS[0]]})
    assert page.driver.find_element(By.CSS_SELECTOR, f'#column-{second} #card-{story["ids"][TASKS[0]]}')


def test_dragging_within_a_column_reorders_and_persists(page: Page, live_server: LiveServer) -> None:
    first = story['columns'][0]
    drag(page, card(page, 'Deploy'), card(page, 'Write copy'))

    wait_for_board(page, {first: ['Deploy', 'Write copy']})
    wait_until(
        page,
        lambda: stored_board(live_server)[first] == ['Deploy', 'Write copy'],
        lambda: f'the new order was not saved: {stored_board(live_server)}',
    )
    page.driver.refresh()
    wait_for_board(page, {first: ['Deploy', 'Write copy'], story['columns'][1]: [TASKS[0]]})


def test_bob_assigns_dave_comments_with_a_mention_and_logs_time(page: Page, live_server: LiveServer) -> None:
    task_id = story['ids']['Write copy']
    link = card(page, 'Write copy').find_element(By.CSS_SELECTOR, 'a.tk-title')
    link.click()
    page.wait_for_path(f'/tasks/{task_id}')
    page.wait_for_text('.q-page', f'{KEY}-2 · Write copy')

    pick_option(page, 'Assignees', MEMBER_NAME)
    page.wait_for_text('.q-notification', 'Saved.')
    page.driver.find_element(By.TAG_NAME, 'body').send_keys(Keys.ESCAPE)
    page.wait(lambda _d: MEMBER_NAME in page.field('Assignees').text, 'dave is not shown as an assignee')

    # A due date puts the task on the timeline (a later step reads it).
    story['due'] = today() + timedelta(days=3)
    set_date(page, 'Due', story['due'])
    wait_until(
        page,
        lambda: stored_task(live_server, task_id).due_date == story['due'],
        lambda: f'the due date was not saved: {stored_task(live_server, task_id).due_date}',
    )
    page.wait(lambda _d: page.input('Due').get_attribute('value') == story['due'].isoformat(), 'the due date is lost')

    box = page.wait(lambda _d: next(iter(page.visible('textarea[placeholder="Write a comment"]')), None), 'no box')
    assert isinstance(box, WebElement)
    box.send_keys(f'@{MEMBER} please review')
    page.button('Comment').click()
    page.wait_for_text('.q-page .enclave-md', 'please review')
    assert f'@{MEMBER}' in page.text_of('.q-page .enclave-md')

    page.type_into('Hours', '1.5')
    page.button('Log time').click()
    page.wait_for_text('.q-notification', 'Time logged.')
    page.wait_for_text('.q-page', '1.5 h logged of')
    page.wait_for_text('.q-page', f'{today().isoformat()}\n1.5 h\n{OWNER_NAME}')


def test_dave_is_notified_of_the_mention(page: Page) -> None:
    sign_out(page)
    sign_in(page, MEMBER)

    bell = 'header [aria-label="Notifications"] .q-badge'  # a link (appliance/static/frame_header.js)
    page.wait(lambda _d: page.visible(bell), 'the bell shows no unread count')
    count = page.text_of(bell).strip()
    assert count.isdigit() and int(count) >= 1, count

    page.driver.find_element(By.CSS_SELECTOR, 'header [aria-label="Notifications"]').click()
    page.wait_for_path('/notifications')
    page.wait_for_text('.q-page .q-list', f'{OWNER_NAME} mentioned you in')
    mention = next(line for line in page.text_of('.q-page .q-list').splitlines() if 'mentioned you' in line)
    assert 'Write copy' in mention, mention
    assert f'{OWNER_NAME} assigned you' in page.text_of('.q-page .q-list')


def test_the_timeline_draws_the_dated_task(page: Page) -> None:
    sign_out(page)
    sign_in(page, OWNER)
    page.open(f'/projects/{story["project_id"]}')
    open_tab(page, 'Timeline', f'/projects/{story["project_id"]}/timeline')

    page.wait(lambda _d: page.visible('.q-page canvas, .q-page svg'), 'the timeline chart did not render')
    assert 'Nothing on the timeline yet' not in page.text_of('.q-page')
    assert not page.visible('.q-notification.bg-negative'), page.text_of('.q-notification')
    chart = page.driver.find_element(By.CSS_SELECTOR, '.q-page canvas, .q-page svg')
    assert chart.size['width'] > 100 and chart.size['height'] > 50, chart.size

    as_a_list = "//div[contains(@class, 'q-expansion-item')]//*[normalize-space()='As a list']"
    page.driver.find_element(By.XPATH, as_a_list).click()
    page.wait_for_text('.q-page .q-expansion-item', f'{KEY}-2 Write copy')
    assert story['due'].isoformat() in page.text_of('.q-page .q-expansion-item')


def test_global_search_finds_the_task_by_a_two_character_chinese_word(page: Page) -> None:
    box = page.wait(lambda _d: next(iter(page.visible('header input[name="q"]')), None), 'no search box in the header')
    assert isinstance(box, WebElement)
    box.send_keys('首页', Keys.ENTER)

    page.wait_for_path('/search')
    assert parse_qs(urlsplit(page.driver.current_url).query).get('q') == ['首页']
    page.wait_for_text('.q-page .q-item', f'{KEY}-1 设计首页')
    hit = next(item for item in page.visible('.q-page .q-item') if f'{KEY}-1 设计首页' in item.text)
    hit.click()
    page.wait_for_path(f'/tasks/{story["ids"]["设计首页"]}')
    page.wait_for_text('.q-page', f'{KEY}-1 · 设计首页')


def test_neither_the_browser_nor_the_server_reached_another_host(page: Page, live_server: LiveServer) -> None:
    requested = page.drain_requests()
    base = live_server.url
    websocket = 'ws' + base.removeprefix('http')
    # chrome:// and chrome-untrusted:// are the browser's own built-in new-tab page (and its frames) before the
    # first page load: served from the browser's resources, not the network.
    internal = ('data:', 'blob:', 'chrome:', 'chrome-untrusted:')
    elsewhere = sorted(url for url in requested if not url.startswith((base + '/', websocket + '/', *internal)))
    assert not elsewhere, elsewhere
    network = {url for url in requested if not url.startswith(internal)}
    assert len(network) > 20, sorted(network)
    assert any(url.startswith(f'{base}/projects/') for url in network), sorted(network)
    assert any(url.startswith(websocket + '/') for url in network), 'no websocket to the server was seen'
    assert not outbound_attempts(live_server.log_text()), live_server.log_text()
