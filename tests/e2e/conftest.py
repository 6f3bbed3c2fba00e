"""A live server and a headless Chromium for the end-to-end stories; screenshots and the server log on failure.

Each test module is one story: its tests run in file order against one server and one browser. When a step
fails, the later steps of that story fail at once, naming it (they build on it); steps a story names in its
`INDEPENDENT` set build on nothing after them and do not stop the rest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.livesrv import LiveServer, start_server

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
SCREENSHOTS = Path(__file__).parent / 'screenshots'
WAIT_SECONDS = 15.0
CHROME_ARGS = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    '--window-size=1280,900',
    # Not asked for by the brief, but keep the browser from talking to anything but the server under test.
    '--no-proxy-server',
    '--disable-extensions',
    '--disable-default-apps',
    '--no-default-browser-check',
    '--disable-client-side-phishing-detection',
    '--disable-features=Translate,OptimizationHints,MediaRouter',
    '--lang=en-US',
]

_failed_story: dict[str, str] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once a step of a story failed, its later steps fail at once (they build on it) instead of running."""
    failed = _failed_story.get(str(item.fspath))
    if failed:
        pytest.fail(f'not run: the earlier step {failed} of this story failed', pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """On failure: remember it for the story, save a screenshot and the page source, attach the server log."""
    report = yield
    assert isinstance(report, pytest.TestReport)
    independent = getattr(item, 'originalname', item.name) in getattr(getattr(item, 'module', None), 'INDEPENDENT', ())
    if report.failed and report.when in {'setup', 'call'}:
        if not independent:
            _failed_story.setdefault(str(item.fspath), item.name)
        funcargs = getattr(item, 'funcargs', {})
        driver = funcargs.get('browser')
        if isinstance(driver, WebDriver):
            report.sections.append(('e2e artifacts', _save_artifacts(driver, item.name)))
        server = funcargs.get('live_server')
        if isinstance(server, LiveServer):
            tail = '\n'.join(server.log_text().splitlines()[-100:]) or '(the server wrote nothing)'
            report.sections.append(('server log (last 100 lines)', tail))
    return report


def _save_artifacts(driver: WebDriver, name: str) -> str:
    SCREENSHOTS.mkdir(exist_ok=True)
    stem = re.sub(r'[^\w.-]+', '_', name)
    lines = []
    try:
        lines.append(f'url: {driver.current_url}')
        png = SCREENSHOTS / f'{stem}.png'
        driver.save_screenshot(str(png))
        html = SCREENSHOTS / f'{stem}.html'
        html.write_text(driver.page_source, encoding='utf-8')
        lines += [f'screenshot: {png}', f'page source: {html}']
    except WebDriverException as error:
        lines.append(f'could not save artifacts: {error.msg}')
    return '\n'.join(lines)


@pytest.fixture(scope='module')
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per story, on a fresh data dir (no users: the setup wizard comes first).

    It runs `appliance.main` under the network audit of tests/livesrv.py, so a story can check the server side too.
    A story with `WORKERS = n` gets `enclave serve` with n workers (the browser talks to the first, on the port).
    """
    workers = getattr(request.module, 'WORKERS', 1)
    server = start_server(
        tmp_path_factory.mktemp('e2e-server') / 'data', network_audit=True, workers=workers, timeout=180
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='module')
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, driven by the system chromedriver (no Selenium Manager)."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(f'needs {CHROMIUM} and {CHROMEDRIVER}: `make test` installs them (make test-system-deps)')
    profile = tmp_path_factory.mktemp('chromium-profile')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Every request the pages make is logged, so a story can prove that none went to another host.
    options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
    for argument in [*CHROME_ARGS, f'--user-data-dir={profile}']:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """Small helpers over a WebDriver for Quasar pages: inputs by label, buttons by text, waits."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.requested: set[str] = set()

    def drain_requests(self) -> set[str]:
        """Add the URLs of the requests and websockets the pages started since the last call; return all so far."""
        for entry in self.driver.get_log('performance'):  # type: ignore[no-untyped-call]
            message = json.loads(entry['message'])['message']
            params = message.get('params', {})
            if message.get('method') == 'Network.requestWillBeSent':
                self.requested.add(params['request']['url'])
            elif message.get('method') == 'Network.webSocketCreated':
                self.requested.add(params['url'])
        return self.requested

    def open(self, path: str) -> None:
        """Load a path of the server under test."""
        self.driver.get(self.base_url + path)

    def wait(self, condition: Callable[[WebDriver], object], message: str, timeout: float = WAIT_SECONDS) -> object:
        """Wait until `condition` returns something truthy (exceptions count as 'not yet')."""

        def attempt(driver: WebDriver) -> object:
            try:
                return condition(driver)
            except WebDriverException:
                return False

        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt, message)

    def path(self) -> str:
        """The current path and query, without the origin."""
        url = self.driver.current_url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def wait_for_path(self, path: str) -> None:
        """Wait until the browser is on `path` (the query string is not compared)."""
        self.wait(
            lambda _d: urlsplit(self.driver.current_url).path == path,
            f'expected to reach {path}, still at {self.path()}',
        )

    def open_nav_group_of(self, label: str) -> None:
        """Open the navigation group (Administration, Maintenance: a closed <details>) that holds the entry labelled
        `label`, by clicking its heading as a person does; nothing when the entry is not in a closed group."""
        for group in self.driver.find_elements(By.CSS_SELECTOR, '.q-drawer nav details:not([open])'):
            labels = [link.get_attribute('textContent').strip() for link in group.find_elements(By.TAG_NAME, 'a')]
            if label in labels:
                group.find_element(By.TAG_NAME, 'summary').click()
                return

    def visible(self, css: str) -> list[WebElement]:
        """The displayed elements matching a CSS selector."""
        return [element for element in self.driver.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()]

    def input(self, label: str) -> WebElement:
        """The visible <input> whose aria-label (Quasar copies the field's label there) is `label`."""
        selector = f'input[aria-label="{label}"]'
        found = self.wait(lambda _d: next(iter(self.visible(selector)), None), f'no visible input labelled {label!r}')
        assert isinstance(found, WebElement)
        return found

    def field(self, label: str) -> WebElement:
        """The visible Quasar field (the clickable box) around the input labelled `label`, e.g. of a select.

        A select's own <input> is a zero-size focus target that Selenium does not consider displayed.
        """
        xpath = f'//input[@aria-label={_xpath_literal(label)}]/ancestor::label[contains(@class, "q-field")][1]'

        def find(driver: WebDriver) -> WebElement | None:
            return next((f for f in driver.find_elements(By.XPATH, xpath) if f.is_displayed()), None)

        found = self.wait(find, f'no visible field labelled {label!r}')
        assert isinstance(found, WebElement)
        return found

    def button(self, text: str) -> WebElement:
        """The visible button whose label (before CSS upper-casing; icons aside) is `text`."""
        literal = _xpath_literal(text)
        xpath = f'//button[normalize-space(.)={literal} or .//span[@class="block" and normalize-space(.)={literal}]]'

        def find(driver: WebDriver) -> WebElement | None:
            return next((b for b in driver.find_elements(By.XPATH, xpath) if b.is_displayed() and b.is_enabled()), None)

        found = self.wait(find, f'no visible button {text!r}')
        assert isinstance(found, WebElement)
        return found

    def type_into(self, label: str, text: str) -> WebElement:
        """Clear the input labelled `label` and type `text` into it."""
        element = self.input(label)
        # WebElement.clear() empties the DOM value without an input event, so Vue puts the old value back.
        element.send_keys(Keys.CONTROL, 'a')
        element.send_keys(Keys.DELETE)
        element.send_keys(text)
        return element

    def text_of(self, css: str) -> str:
        """The visible text of every element matching `css`, joined by newlines."""
        return '\n'.join(element.text for element in self.visible(css))

    def wait_for_text(self, css: str, text: str) -> None:
        """Wait until an element matching `css` shows `text`."""
        self.wait(lambda _d: text in self.text_of(css), f'{text!r} did not appear in {css}')


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return 'concat(' + ', "\'", '.join(f"'{part}'" for part in parts) + ')'


@pytest.fixture(scope='module')
def page(browser: webdriver.Chrome, live_server: LiveServer) -> Page:
    """The browser, pointed at the live server."""
    return Page(browser, live_server.url)


@pytest.fixture(autouse=True)
def _collect_requests(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each step of a story, keep what the browser requested (the browser's log is drained when read)."""
    yield
    if 'page' in request.fixturenames:
        page = request.getfixturevalue('page')
        try:
            page.drain_requests()
        except WebDriverException:
            pass
