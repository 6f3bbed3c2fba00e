"""Dates typed on the keyboard in a real Chromium are saved whole, never half-typed (issue 11, item 18).

Chromium's date field is three segments (month/day/year for an en-US browser, year/month/day for zh-CN) and holds a
valid date, firing "change", as soon as every segment has a digit: typing the year 2027 after month and day passes
through 0002, 0020 and 0202. A user types the date key by key here, while the story polls the server's database after
every key; what was stored at any moment, and the task's activity lines, must never show a half-typed date.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
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
    except Exception:
        raise AssertionError(f'stored {stored(server, task_id)}, expected {expected}') from None


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.driver.save_screenshot(str(SCREENSHOTS / f'dates_{name}.png'))


def test_bob_has_a_task_without_dates(live_server: LiveServer) -> None:
    complete_setup(live_server.data_dir, org_name='Acme', username='alice', display_name='Alice', password=PASSWORD)
    create_user(live_server.data_dir, admin='alice', username='bob', display_name='Bob', password=PASSWORD)
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
        story['project_id'] = project.id


def test_it_saves_a_due_date_typed_key_by_key_only_when_complete(page: Page, live_server: LiveServer) -> None:
    task_id = story['task_id']
    sign_in(page, 'bob')
    page.open(f'/tasks/{task_id}')
    date_input(page, 'Due')
    print(page.driver.execute_script('return navigator.language'))
    before = updates(live_server, task_id)
    seen = type_date(page, live_server, 'Due', '03152027', task_id)
    shot(page, 'due_typed')
    print(seen, date_input(page, 'Due').get_attribute('value'))
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
    print(seen, date_input(page, 'Due').get_attribute('value'))
    shot(page, 'due_retyped')
    date_input(page, 'Due').send_keys(Keys.ENTER)
    wait_stored(page, live_server, task_id, (None, date(2028, 4, 20)))
    assert seen <= {(None, date(2027, 3, 15)), (None, date(2028, 4, 20))}, seen
    assert updates(live_server, task_id) - before == 1
