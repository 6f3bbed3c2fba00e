"""Dates typed on the keyboard in a real Chromium are saved whole, never half-typed (issue 11, item 18).

Chromium's date field is three segments (month/day/year here, in an English and in a Chinese browser alike) and
holds a valid date, firing "change", as soon as every segment has a digit: typing the year 2027 after month and day
passes through 0002, 0020 and 0202; typing a month over an old date passes through "no date". A user types the date
key by key here (task page, time log, list filters), while the story polls the server's database after every key;
what was stored at any moment, and the task's activity lines, must never show a half-typed date.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import select

from tests.e2e.conftest import CHROME_ARGS, CHROMEDRIVER, CHROMIUM, SCREENSHOTS, Page
from tests.livesrv import LiveServer, complete_setup, create_user, server_database

pytestmark = pytest.mark.e2e

PASSWORD = 'Correct-Horse-Battery-42'
KEY_PAUSE = 0.05  # between keys, as a quick typist

story: dict[str, Any] = {}


def sign_in(page: Page, username: str) -> None:
    """Sign in on the login page."""
    page.open('/login')
    page.type_into('Username', username)
    page.type_into('Password', PASSWORD)
    page.button('Sign in').click()
    page.wait_for_path('/')


def stored(server: LiveServer, task_id: int) -> tuple[date | None, date | None]:
    """The task's start and due date as the server stored them."""
    from appliance.db import get_database
    from modules.tasks.models import Task

    with server_database(server.data_dir), get_database().session() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task.start_date, task.due_date


def updates(server: LiveServer, task_id: int) -> int:
    """How many 'task.updated' lines the project's activity feed has for the task."""
    from appliance.db import get_database
    from modules.projects.models import Activity

    with server_database(server.data_dir), get_database().session() as session:
        rows = session.scalars(
            select(Activity.id).where(Activity.target_id == task_id, Activity.action == 'task.updated')
        ).all()
        return len(rows)


def date_input(page: Page, label: str) -> WebElement:
    """The task page's date input labelled `label`."""
    return page.input(label)


def type_date(page: Page, server: LiveServer, label: str, keys: str, task_id: int) -> set[tuple[date | None, ...]]:
    """Click into the left of the date field labelled `label` (its first segment) and type `keys` one by one.

    Returns every (start, due) the server stored while the keys were typed (polled after each key).
    """
    field = date_input(page, label)
    ActionChains(page.driver).move_to_element_with_offset(field, -field.size['width'] // 2 + 8, 0).click().perform()
    seen = {stored(server, task_id)}
    for number, key in enumerate(keys):
        try:
            field.send_keys(key)
        except StaleElementReferenceException:  # the page was redrawn under the typist: the rest of the keys are lost
            raise AssertionError(
                f'the field was redrawn while typing {keys!r}, before key {number + 1}; stored so far: {seen}'
            ) from None
        time.sleep(KEY_PAUSE)
        seen.add(stored(server, task_id))
    return seen


def tab_out(page: Page, label: str) -> None:
    """Press Tab until the focus leaves the date field (Chromium's picker button inside it takes one Tab)."""
    field = date_input(page, label)
    for _ in range(3):
        if page.driver.switch_to.active_element != field:
            return
        field.send_keys(Keys.TAB)
    assert page.driver.switch_to.active_element != field, f'Tab does not leave the field {label!r}'


def wait_stored(page: Page, server: LiveServer, task_id: int, expected: tuple[date | None, date | None]) -> None:
    """Wait until the server stored `expected` as (start, due)."""
    try:
        page.wait(lambda _d: stored(server, task_id) == expected, 'timed out', timeout=5)
    except TimeoutException:
        raise AssertionError(f'stored {stored(server, task_id)}, expected {expected}') from None


def sticks_out(page: Page, label: str) -> float:
    """How many pixels the date field labelled `label` reaches beyond the right edge of the card's other fields."""
    script = """
        const field = arguments[0].closest('.q-field');
        const others = Array.from(field.closest('.q-card').querySelectorAll('.q-field')).filter(f => f !== field);
        return field.getBoundingClientRect().right - Math.max(...others.map(f => f.getBoundingClientRect().right));
    """
    return float(page.driver.execute_script(script, date_input(page, label)))


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.driver.save_screenshot(str(SCREENSHOTS / f'dates_{name}.png'))


def test_bob_has_a_task_without_dates(live_server: LiveServer) -> None:
    complete_setup(live_server.data_dir, org_name='Acme', username='alice', display_name='Alice', password=PASSWORD)
    create_user(live_server.data_dir, admin='alice', username='bob', display_name='Bob', password=PASSWORD)
    create_user(
        live_server.data_dir, admin='alice', username='wang', display_name='王芳', password=PASSWORD, language='zh_CN'
    )
    from appliance.db import get_database
    from appliance.modules import current_registry, load_modules
    from appliance.services import accounts
    from modules.projects import services as projects

    if current_registry().get('projects') is None:  # the services check the modules' permissions
        load_modules(current_registry(), ['projects', 'tasks'])
    from modules.tasks import services as tasks

    with server_database(live_server.data_dir), get_database().session() as session:
        bob = accounts.find_user(session, 'bob')
        assert bob is not None
        project = projects.create_project(session=session, actor=bob, name='Launch', key='WEB')
        task = tasks.create_task(session=session, actor=bob, project_id=project.id, title='Budget')
        story['task_id'] = task.id
        projects.add_member(session=session, actor=bob, project_id=project.id, username='wang')
        other = tasks.create_task(
            session=session, actor=bob, project_id=project.id, title='预算', due_date=date(2026, 12, 24)
        )
        story['zh_task_id'] = other.id
        story['project_id'] = project.id


def test_it_saves_a_due_date_typed_key_by_key_only_when_complete(page: Page, live_server: LiveServer) -> None:
    task_id = story['task_id']
    sign_in(page, 'bob')
    page.open(f'/tasks/{task_id}')
    assert sticks_out(page, 'Due') <= 0.5, 'the Due field pokes out of the card'
    before = updates(live_server, task_id)
    seen = type_date(page, live_server, 'Due', '03152027', task_id)
    shot(page, 'due_typed')
    tab_out(page, 'Due')
    wait_stored(page, live_server, task_id, (None, date(2027, 3, 15)))
    assert seen <= {(None, None), (None, date(2027, 3, 15))}, seen
    assert updates(live_server, task_id) - before == 1


def test_it_saves_a_changed_due_date_typed_over_the_old_one_only_when_complete(
    page: Page, live_server: LiveServer
) -> None:
    task_id = story['task_id']
    page.open(f'/tasks/{task_id}')
    before = updates(live_server, task_id)
    seen = type_date(page, live_server, 'Due', '04202028', task_id)
    shot(page, 'due_retyped')
    date_input(page, 'Due').send_keys(Keys.ENTER)
    wait_stored(page, live_server, task_id, (None, date(2028, 4, 20)))
    assert seen <= {(None, date(2027, 3, 15)), (None, date(2028, 4, 20))}, seen
    assert updates(live_server, task_id) - before == 1


def test_it_saves_a_typed_start_date_and_shows_both_after_a_reload(page: Page, live_server: LiveServer) -> None:
    task_id = story['task_id']
    page.open(f'/tasks/{task_id}')  # fresh: the last save redraws the fields a moment after it is stored
    seen = type_date(page, live_server, 'Start', '03012027', task_id)
    tab_out(page, 'Start')
    wait_stored(page, live_server, task_id, (date(2027, 3, 1), date(2028, 4, 20)))
    assert seen == {(None, date(2028, 4, 20))}, seen
    page.driver.refresh()
    page.wait(lambda _d: date_input(page, 'Start').get_attribute('value') == '2027-03-01', 'start not shown')
    assert date_input(page, 'Due').get_attribute('value') == '2028-04-20'


def test_it_refuses_a_year_outside_the_range_with_a_message_and_keeps_the_date(
    page: Page, live_server: LiveServer
) -> None:
    task_id = story['task_id']
    page.open(f'/tasks/{task_id}')
    before = updates(live_server, task_id)
    type_date(page, live_server, 'Due', '01010002', task_id)
    date_input(page, 'Due').send_keys(Keys.ENTER)
    page.wait_for_text('.q-notification', 'The year 2 is not between 1900 and 2200')
    time.sleep(0.5)  # the notification slides in
    shot(page, 'bad_year')
    assert stored(live_server, task_id) == (date(2027, 3, 1), date(2028, 4, 20))
    assert updates(live_server, task_id) == before
    page.wait(lambda _d: date_input(page, 'Due').get_attribute('value') == '2028-04-20', 'the stored date is not shown')


def test_it_removes_a_cleared_due_date(page: Page, live_server: LiveServer) -> None:
    task_id = story['task_id']
    page.open(f'/tasks/{task_id}')
    field = date_input(page, 'Due')
    ActionChains(page.driver).move_to_element_with_offset(field, -field.size['width'] // 2 + 8, 0).click().perform()
    for _ in range(3):  # a segment emptied by Backspace; Tab to the next one
        field.send_keys(Keys.BACKSPACE, Keys.TAB)
    tab_out(page, 'Due')
    wait_stored(page, live_server, task_id, (date(2027, 3, 1), None))
    page.driver.refresh()
    page.wait(lambda _d: date_input(page, 'Start').get_attribute('value') == '2027-03-01', 'start not shown')
    assert date_input(page, 'Due').get_attribute('value') == ''


def logged_days(server: LiveServer, task_id: int) -> list[date]:
    """The days of the task's time entries."""
    from appliance.db import get_database
    from modules.tasks.models import TimeEntry

    with server_database(server.data_dir), get_database().session() as session:
        return list(session.scalars(select(TimeEntry.day).where(TimeEntry.task_id == task_id)))


def test_it_logs_time_on_the_typed_day_and_refuses_a_half_typed_one(page: Page, live_server: LiveServer) -> None:
    task_id = story['task_id']
    page.open(f'/tasks/{task_id}')
    day = date.today() - timedelta(days=3)
    type_date(page, live_server, 'Day', f'{day:%m%d%Y}', task_id)
    page.type_into('Hours', '1.5')
    page.button('Log time').click()
    page.wait(lambda _d: logged_days(live_server, task_id) == [day], f'no time logged on {day}')
    # Month and day typed, the year not yet: the field holds no date, and the time must not land on today.
    page.open(f'/tasks/{task_id}')
    field = date_input(page, 'Day')
    ActionChains(page.driver).move_to_element_with_offset(field, -field.size['width'] // 2 + 8, 0).click().perform()
    for _ in range(3):
        field.send_keys(Keys.BACKSPACE, Keys.TAB)
    type_date(page, live_server, 'Day', '0301', task_id)
    page.type_into('Hours', '2')
    page.button('Log time').click()
    page.wait_for_text('.q-notification', 'Choose the day the work was done.')
    assert logged_days(live_server, task_id) == [day]


def test_it_filters_the_list_by_typed_due_dates(page: Page, live_server: LiveServer) -> None:
    page.open(f'/projects/{story["project_id"]}/tasks')
    type_date(page, live_server, 'Due from', '01012026', story['task_id'])
    type_date(page, live_server, 'Due to', '12312026', story['task_id'])
    page.button('Apply').click()
    page.wait(lambda _d: 'due_from=2026-01-01' in page.path() and 'due_to=2026-12-31' in page.path(), page.path())
    page.wait_for_text('.q-table', '预算')
    assert 'Budget' not in page.text_of('.q-table tbody')


def type_text(page: Page, label: str, text: str) -> None:
    """Type `text` key by key into the text input labelled `label` (the project dialogs' dates are text)."""
    field = page.input(label)
    field.click()
    for key in text:
        field.send_keys(key)
        time.sleep(KEY_PAUSE / 2)


def test_it_creates_a_project_with_typed_dates_and_refuses_a_bad_year(page: Page, live_server: LiveServer) -> None:
    from appliance.db import get_database
    from modules.projects.models import Project

    page.open('/projects')
    page.button('New project').click()
    page.type_into('Name', 'Dated')
    page.type_into('Key', 'DAT')
    type_text(page, 'Start', '2027-03-15')
    type_text(page, 'End', '0002-01-01')
    page.button('Create').click()
    page.wait_for_text('.q-notification', 'The year 2 is not between 1900 and 2200')
    time.sleep(0.5)
    shot(page, 'project_bad_year')
    page.type_into('End', '')
    type_text(page, 'End', '2027-12-31')
    page.button('Create').click()
    page.wait(lambda _d: page.path().startswith('/projects/') and page.path() != '/projects', 'not created')
    with server_database(live_server.data_dir), get_database().session() as session:
        project = session.scalars(select(Project).where(Project.key == 'DAT')).one()
        assert (project.start_date, project.end_date) == (date(2027, 3, 15), date(2027, 12, 31))


def test_it_adds_a_milestone_with_a_typed_due_date(page: Page, live_server: LiveServer) -> None:
    from appliance.db import get_database
    from modules.projects.models import Milestone

    page.open(f'/projects/{story["project_id"]}/milestones')
    page.button('New milestone').click()
    page.type_into('Name', 'Beta')
    type_text(page, 'Due', '0202-06-30')
    page.button('Save').click()
    page.wait_for_text('.q-notification', 'The year 202 is not between 1900 and 2200')
    page.type_into('Due', '')
    type_text(page, 'Due', '2027-06-30')
    page.button('Save').click()
    page.wait_for_text('.q-page', 'Beta')
    with server_database(live_server.data_dir), get_database().session() as session:
        milestone = session.scalars(select(Milestone).where(Milestone.name == 'Beta')).one()
        assert milestone.due_date == date(2027, 6, 30)


@pytest.fixture(scope='module')
def chinese_phone(tmp_path_factory: pytest.TempPathFactory, live_server: LiveServer) -> Iterator[Page]:
    """A second Chromium, in Chinese (its date fields read year/month/day), at a phone's width."""
    profile = tmp_path_factory.mktemp('chromium-zh')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    arguments = [a for a in CHROME_ARGS if not a.startswith(('--lang=', '--window-size='))]
    for argument in [*arguments, '--lang=zh-CN', '--window-size=390,844', f'--user-data-dir={profile}']:
        options.add_argument(argument)
    options.add_experimental_option('prefs', {'intl.accept_languages': 'zh-CN,zh'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Headless Chromium's window is at least 500 px wide: emulate the phone's screen instead.
    metrics = {'width': 390, 'height': 844, 'deviceScaleFactor': 1, 'mobile': True}
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', metrics)
    try:
        yield Page(driver, live_server.url)
    finally:
        driver.quit()


def open_on_phone(page: Page, task_id: int) -> None:
    """Open the task page on the phone (the navigation drawer stays closed) and scroll the Due field into view."""
    page.open(f'/tasks/{task_id}')
    field = date_input(page, '截止日期')
    # At a phone's width the navigation starts closed (appliance/ui/frame.py, nav_drawer); the header's menu button
    # opens it over the page, and a tap on the dimmed page beside it closes it again.
    assert not page.visible('.q-drawer nav a'), 'the drawer opened over the page on load'
    page.driver.find_element(By.CSS_SELECTOR, 'header button[aria-label="菜单"]').click()
    page.wait(lambda _d: page.visible('.q-drawer nav a'), 'the menu button does not open the drawer')
    for backdrop in page.visible('.q-drawer__backdrop'):  # the drawer covers the backdrop's centre
        page.driver.execute_script('arguments[0].click()', backdrop)
    page.wait(lambda _d: not page.visible('.q-drawer nav a'), 'the drawer does not close')
    page.driver.execute_script('arguments[0].scrollIntoView({block: "center"})', field)


def test_it_saves_a_due_date_typed_in_a_chinese_browser_on_a_phone(
    chinese_phone: Page, live_server: LiveServer
) -> None:
    page, task_id = chinese_phone, story['zh_task_id']
    page.open('/login')
    page.type_into('用户名', 'wang')
    page.type_into('密码', PASSWORD)
    page.button('登录').click()
    # A cold second browser on a busy machine: allow it more time than a step of the first one.
    page.wait(lambda _d: page.path().split('?')[0] == '/', f'wang is not signed in: at {page.path()}', timeout=40)
    open_on_phone(page, task_id)
    shot(page, 'zh_phone_before')
    assert sticks_out(page, '截止日期') <= 0.5, 'the Due field pokes out of the card'
    before = updates(live_server, task_id)
    # This Chromium's field reads month/day/year in Chinese too (its format follows the build's ICU data, not
    # --lang), so the user types in that order.
    seen = type_date(page, live_server, '截止日期', '03152027', task_id)
    shot(page, 'zh_phone_typed')
    tab_out(page, '截止日期')
    wait_stored(page, live_server, task_id, (None, date(2027, 3, 15)))
    assert seen == {(None, date(2026, 12, 24))}, seen
    assert updates(live_server, task_id) - before == 1
    open_on_phone(page, task_id)  # fresh: the save redraws the fields a moment after it is stored
    type_date(page, live_server, '截止日期', '01010002', task_id)
    date_input(page, '截止日期').send_keys(Keys.ENTER)
    page.wait(lambda _d: page.visible('.q-notification'), 'no message for the year 2')
    time.sleep(0.5)
    shot(page, 'zh_phone_bad_year')
    assert '年份 2' in page.text_of('.q-notification') or 'year 2' in page.text_of('.q-notification')
    assert stored(live_server, task_id) == (None, date(2027, 3, 15))
