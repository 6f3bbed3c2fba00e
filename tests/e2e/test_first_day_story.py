"""First day with Enclave, in a real Chromium: set up, sign in, add a colleague, switch to Chinese, search, sign out.

The steps run in file order against one server and one browser (see conftest.py); a failed step fails the rest at once.
Labels are English until the profile switches to 简体中文; after that, elements are found by what does not
depend on the language (the search box's `name=q`, the user menu's icon, the position of "Sign out").
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of

from appliance.i18n import catalog
from tests.e2e.conftest import Page
from tests.livesrv import LiveServer, http_client, outbound_attempts

pytestmark = pytest.mark.e2e

ORG = 'Acme Robotics'
ADMIN = 'alice'
ADMIN_NAME = 'Alice Admin'
PASSWORD = 'Correct-Horse-Battery-42'
COLLEAGUE = 'bob'
COLLEAGUE_NAME = '张伟'
CJK = re.compile(r'[\u3400-\u9fff]')
NAV = '.q-drawer nav a'  # the navigation's links (appliance/ui/frame.py)
USER_MENU = "//header//button[.//i[normalize-space()='account_circle']]"


def open_user_menu(page: Page) -> list[WebElement]:
    """Open the header's user menu; its items, in order (name, Profile, Sign out)."""
    page.driver.find_element(By.XPATH, USER_MENU).click()
    items = page.wait(
        lambda _d: len(page.visible('.q-menu .q-item')) == 3 and page.visible('.q-menu .q-item'),
        'the user menu did not open with its three items',
    )
    assert isinstance(items, list)
    return items


def test_a_fresh_server_leads_to_the_setup_wizard_and_then_to_sign_in(page: Page) -> None:
    page.open('/')
    page.wait_for_path('/setup')
    page.wait_for_text('body', 'Set up Enclave')

    page.type_into('Organisation name', ORG)
    page.type_into('Administrator username', ADMIN)
    page.type_into('Your name', ADMIN_NAME)
    page.type_into('Password', PASSWORD)
    page.type_into('Repeat the password', PASSWORD)
    page.button('Finish setup').click()

    page.wait_for_path('/login')
    page.wait_for_text('body', ORG)
    page.input('Username')


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_home_page(page: Page) -> None:
    page.type_into('Username', ADMIN)
    page.type_into('Password', 'not-the-password-1').send_keys(Keys.ENTER)
    page.wait_for_text('.text-negative', 'Wrong username or password.')
    assert urlsplit(page.driver.current_url).path == '/login'

    page.type_into('Password', PASSWORD)
    page.button('Sign in').click()
    page.wait_for_path('/')
    page.wait_for_text('body', f'Welcome, {ADMIN_NAME}.')
    assert 'Home' in page.text_of(NAV).splitlines()


def nav_labels(page: Page) -> list[str]:
    """The navigation labels, without the icons' ligature names."""
    return [element.text.splitlines()[-1].strip() for element in page.visible(NAV) if element.text.strip()]


def click_nav(page: Page, label: str) -> None:
    """Follow the navigation entry labelled `label` (opening its group first when it is closed)."""
    page.open_nav_group_of(label)
    for element in page.visible(NAV):
        if element.text.splitlines()[-1].strip() == label:
            element.click()
            return
    raise AssertionError(f'no navigation entry {label!r} in {nav_labels(page)}')


def test_the_admin_adds_a_colleague_with_a_chinese_name(page: Page) -> None:
    click_nav(page, 'Users')
    page.wait_for_path('/admin/users')
    page.button('New user').click()

    page.type_into('Username', COLLEAGUE)
    page.type_into('Display name', COLLEAGUE_NAME)
    page.type_into('Password', PASSWORD)
    page.button('Save').click()

    page.wait_for_text('.q-notification', 'User created.')
    page.wait_for_text('.q-table', COLLEAGUE_NAME)
    row = next(line for line in page.text_of('.q-table tbody').splitlines() if COLLEAGUE_NAME in line)
    assert COLLEAGUE in row and 'Member' in row, row  # the role as people read it


def test_switching_the_profile_to_chinese_translates_the_navigation(page: Page) -> None:
    profile = next(item for item in open_user_menu(page) if item.text.strip() == 'Profile')
    profile.click()
    page.wait_for_path('/profile')

    language = page.field('Language')
    language.click()
    option = page.wait(
        lambda _d: next((o for o in page.visible('.q-menu [role=option]') if o.text.strip() == '简体中文'), None),
        'no 简体中文 in the language list',
    )
    assert isinstance(option, WebElement)
    option.click()
    page.wait(lambda _d: '简体中文' in language.text, 'the language was not picked')
    save = page.button('Save')
    save.click()

    # Saving reloads the page, which then speaks the stored language: wait for the old page to go away.
    page.wait(lambda _d: staleness_of(save)(_d), 'the profile page did not reload after saving')
    page.wait(lambda _d: nav_labels(page), 'the navigation did not come back after the reload')
    page.wait(
        lambda _d: any(
            box.get_attribute('value') == '简体中文'
            for box in page.driver.find_elements(By.CSS_SELECTOR, 'input[role=combobox]')
        ),
        'the profile does not show 简体中文 as the stored language',
    )

    translated_home = catalog('zh_CN').get('Home', '')
    assert translated_home, 'the zh_CN catalog has no translation of "Home"'
    # Whatever the translator wrote: the English label is gone and the navigation speaks Chinese.
    page.wait(
        lambda _d: 'Home' not in nav_labels(page) and CJK.search(' '.join(nav_labels(page))),
        'the navigation is still in English after switching to 简体中文',
    )
    labels = nav_labels(page)
    assert translated_home in labels, (translated_home, labels)
    # Also the entries of the closed Administration and Maintenance groups.
    every = [link.get_attribute('textContent').strip() for link in page.driver.find_elements(By.CSS_SELECTOR, NAV)]
    assert catalog('zh_CN')['Users'] in every and catalog('zh_CN')['Backups'] in every, every
    assert not {'Users', 'Sessions', 'Audit log', 'Organisation', 'Backups', 'Health'} & set(every), every


def test_the_header_search_finds_the_colleague_by_part_of_the_chinese_name(page: Page) -> None:
    part = COLLEAGUE_NAME[1:]  # 伟: a single character from the middle of the name, not a prefix
    box = page.wait(lambda _d: next(iter(page.visible('header input[name="q"]')), None), 'no search box in the header')
    assert isinstance(box, WebElement)
    box.send_keys(part, Keys.ENTER)

    page.wait_for_path('/search')
    assert parse_qs(urlsplit(page.driver.current_url).query).get('q') == [part]
    page.wait_for_text('.q-page .q-item', f'{COLLEAGUE_NAME} ({COLLEAGUE})')
    assert ADMIN_NAME not in page.text_of('.q-page .q-item'), 'the admin does not match 伟'


def test_signing_out_returns_to_sign_in_and_ends_the_session(page: Page, live_server: LiveServer) -> None:
    cookie = page.driver.get_cookie('enclave_session')
    assert cookie is not None, 'no session cookie while signed in'

    open_user_menu(page)[-1].click()  # Sign out, whatever the language
    page.wait_for_path('/login')
    page.input('Username')
    assert page.driver.get_cookie('enclave_session') is None

    page.open('/')
    page.wait_for_path('/login')
    assert parse_qs(urlsplit(page.driver.current_url).query).get('next') == ['/']

    # The old cookie is dead on the server too, not just deleted in this browser.
    with http_client(live_server.url) as client:
        client.cookies.set('enclave_session', cookie['value'])
        response = client.get('/', follow_redirects=False)
    assert response.status_code == 303
    assert response.headers['location'].startswith('/login')


def test_neither_the_browser_nor_the_server_reached_another_host(page: Page, live_server: LiveServer) -> None:
    requested = page.drain_requests()
    network = {url for url in requested if urlsplit(url).scheme in {'http', 'https', 'ws', 'wss'}}
    assert len(network) > 20, sorted(requested)
    origin = urlsplit(page.base_url).netloc
    elsewhere = sorted(url for url in network if urlsplit(url).netloc != origin)
    assert not elsewhere, elsewhere
    assert any(urlsplit(url).scheme == 'ws' for url in network), 'no websocket to the server was seen'
    assert not outbound_attempts(live_server.log_text()), live_server.log_text()
