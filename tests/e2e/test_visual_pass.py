"""The visual pass: every page, in both languages, at desktop and phone width, as an admin and as a member.

The box holds the demo organisation of `make demo` (scripts/demo.py). Every page that `protected_page` registers is
loaded (path parameters filled from the demo), then also the sign-in page, search with a query, an unknown address,
and for the member a page they may not open. Each is looked at 1366x768 and at 390x844 and fails on what
tests/e2e/visual.py looks for. Every screenshot is saved under tests/e2e/screenshots/visual/ (an artifact of the
run); one pass reports all its pages' problems at once.
"""

from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

import pytest

from scripts.demo import ADMIN, Demo, seed
from tests.e2e.conftest import SCREENSHOTS, Page
from tests.e2e.visual import (
    LOUD_HEADINGS_JS,
    OVERFLOW_JS,
    VISIBLE_TEXT_JS,
    PageSpec,
    english_in,
    foreign_requests,
    raw_ids_in,
    registered_pages,
)
from tests.livesrv import LiveServer, login_ticket, server_database

PASSWORD = 'Visual-Pass-Password-2026'
SHOTS = SCREENSHOTS / 'visual'
WIDTHS = ((1366, 768), (390, 844))
MEMBER = 'emma'  # a member of 官网改版 (WEB), manager of Field app 2.0 (APP); no admin pages

# Each pass reports its own pages; one failing pass does not stop the others.
INDEPENDENT = {'test_every_page_in_both_widths_is_finished'}

story: dict[str, object] = {}


def test_the_demo_organisation_is_seeded(live_server: LiveServer) -> None:
    from appliance.db import get_database
    from appliance.modules import current_registry, load_modules

    if current_registry().get('projects') is None:  # the services check the modules' permissions
        load_modules(current_registry(), ['projects', 'tasks', 'people'])
    with server_database(live_server.data_dir):
        with get_database().session() as session:
            story['demo'] = seed(session, password=PASSWORD)
    story['pages'] = registered_pages()
    pages = story['pages']
    assert isinstance(pages, list) and len(pages) > 20, pages


def _set_language(live_server: LiveServer, username: str, language: str) -> None:
    from sqlalchemy import update

    from appliance.db import get_database
    from appliance.models import User

    with server_database(live_server.data_dir), get_database().session() as session:
        session.execute(update(User).where(User.username == username).values(language=language))


def _fill(path: str, demo: Demo) -> str:
    samples = {'id': demo.project_ids['WEB'], 'task_id': demo.task_ids['WEB-1']}
    if path.startswith('/people/'):
        samples['id'] = demo.employee_ids['wang.fang']
    missing = [name for name in re.findall(r'\{(\w+)\}', path) if name not in samples]
    assert not missing, f'{path}: add a sample value for {missing} to the visual pass'
    return re.sub(r'\{(\w+)\}', lambda m: str(samples[m.group(1)]), path)


def _paths(pages: list[PageSpec], demo: Demo, *, admin: bool) -> list[tuple[str, bool]]:
    """(path, expected to load) for the pass: the pages the user may open (a member may find a project manager's
    page refused), an unknown address, and for a member an admin page."""
    member_may = {None, 'core.search', 'core.directory', 'projects.use', 'tasks.use'}
    hr_only = {'people.manage'}  # an administrator is not HR: refused there, as a member is
    out = [
        (_fill(spec.path, demo), not (admin and spec.permission in hr_only))
        for spec in pages
        if admin or spec.permission in member_may
    ]
    out += [
        ('/search?q=%E9%A6%96%E9%A1%B5', True),  # 首页
        (f'/projects/{demo.project_ids["APP"]}/board', True),
        (f'/tasks/{demo.task_ids["APP-1"]}', True),
        ('/no/such/page', False),
    ]
    if not admin:
        out.append(('/admin/users', False))
    return out


def _shot_name(username: str, language: str, width: int, path: str) -> str:
    stem = re.sub(r'[^\w]+', '_', path.strip('/')).strip('_') or 'home'
    return f'{language}_{username}_{width}_{stem}.png'


def _settle(page: Page) -> int:
    """Wait until the page is loaded (a NiceGUI page: mounted, its socket connected), let layout settle; the HTTP
    status it came with."""
    ready = """
        if (document.readyState !== 'complete') return 0;
        const app = document.querySelector('#app');
        if (app && !(app.firstElementChild && window.socket && window.socket.connected)) return 0;
        return performance.getEntriesByType('navigation')[0].responseStatus || 200;
    """
    status = page.wait(lambda d: d.execute_script(ready), f'{page.path()} did not finish loading')
    time.sleep(0.2)
    assert isinstance(status, int)
    return status


def _look(page: Page, *, language: str, expected_error: bool) -> list[str]:
    problems = []
    scroll_width, inner_width = page.driver.execute_script(OVERFLOW_JS)
    if scroll_width > inner_width:
        problems.append(f'{scroll_width - inner_width} px wider than the screen ({scroll_width} > {inner_width})')
    problems += [
        f'Markdown heading larger than 20 px: {text!r}' for text in page.driver.execute_script(LOUD_HEADINGS_JS)
    ]
    texts = page.driver.execute_script(VISIBLE_TEXT_JS)
    if language == 'zh_CN':
        problems += [f'English in the Chinese UI: {text!r}' for text in sorted(set(english_in(texts)))]
    problems += [f'raw id on the page: {found!r}' for found in sorted(set(raw_ids_in(texts)))]
    for entry in page.driver.get_log('browser'):  # type: ignore[no-untyped-call]
        message = entry['message']
        if entry['level'] != 'SEVERE':
            continue
        if expected_error and re.search(r'status of (403|404)', message):
            continue
        problems.append(f'browser console: {message[:300]}')
    return problems


@pytest.mark.parametrize(('username', 'language'), [(ADMIN, 'zh_CN'), (ADMIN, 'en'), (MEMBER, 'zh_CN'), (MEMBER, 'en')])
def test_every_page_in_both_widths_is_finished(
    page: Page, live_server: LiveServer, username: str, language: str
) -> None:
    demo, pages = story['demo'], story['pages']
    assert isinstance(demo, Demo) and isinstance(pages, list)
    _set_language(live_server, username, language)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = page.driver
    driver.delete_all_cookies()
    # The browser asks for the pass's language, as a browser set to Chinese does (the sign-in page follows it).
    agent = driver.execute_script('return navigator.userAgent')
    accept = 'zh-CN,zh;q=0.9' if language == 'zh_CN' else 'en-US,en;q=0.9'
    driver.execute_cdp_cmd('Network.setUserAgentOverride', {'userAgent': agent, 'acceptLanguage': accept})
    visit = Visit(page, username=username, language=language, tour=username == ADMIN)
    visit.look('/login', loads=True)
    ticket = login_ticket(live_server.data_dir, username=username, password=PASSWORD)
    page.open(f'/auth/session?ticket={ticket}&next=/')
    page.wait_for_path('/')
    paths = _paths(pages, demo, admin=username == ADMIN)
    for path, loads in paths:
        visit.look(path, loads=loads)
    problems = visit.problems
    problems += [f'request to another host: {url}' for url in foreign_requests(page.drain_requests(), page.base_url)]
    driver.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
    assert not problems, f'{len(problems)} problems on {len(paths) + 1} pages:\n' + '\n'.join(problems)


class Visit:
    """Looks at pages for one pass, at both widths, keeping their problems and screenshots."""

    def __init__(self, page: Page, *, username: str, language: str, tour: bool) -> None:
        self.page, self.username, self.language, self.tour = page, username, language, tour
        self.problems: list[str] = []

    def look(self, path: str, *, loads: bool) -> None:
        """Load `path` at desktop width, look; then at phone width, look again."""
        driver = self.page.driver
        driver.get_log('browser')  # type: ignore[no-untyped-call]  # (what earlier pages logged)
        for size in WIDTHS:
            driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', _metrics(size))
            if size == WIDTHS[0]:
                self.page.open(path)
            status = _settle(self.page)
            if loads and status != 200 and not (status == 403 and self.username != ADMIN):
                self.problems.append(f'{path} at {size[0]}: answered {status}')
            driver.save_screenshot(str(SHOTS / _shot_name(self.username, self.language, size[0], path)))
            if self.tour and TOUR_DIR and path in tour_pages():
                _tour_shot(driver, TOUR_DIR / f'{tour_pages()[path]}-{self.language}-{size[0]}.png', size)
            self.problems += [
                f'{path} at {size[0]}: {problem}'
                for problem in _look(
                    self.page, language=self.language, expected_error=not loads or self.username != ADMIN
                )
            ]


# `make screenshots` sets ENCLAVE_TOUR_DIR=docs/screenshots: the admin's passes also save the README's tour there,
# scaled down (sign-in, home, board, task, console at both widths, in both languages).
TOUR_DIR = Path(os.environ['ENCLAVE_TOUR_DIR']) if os.environ.get('ENCLAVE_TOUR_DIR') else None
TOUR_SCALE = {1366: 0.5, 390: 0.6}


def tour_pages() -> dict[str, str]:
    demo = story['demo']
    assert isinstance(demo, Demo)
    return {
        '/login': '1-sign-in',
        '/': '2-home',
        f'/projects/{demo.project_ids["WEB"]}/board': '3-board',
        f'/tasks/{demo.task_ids["WEB-1"]}': '4-task',
        '/console': '5-console',
    }


def _tour_shot(driver: object, target: Path, size: tuple[int, int]) -> None:
    """The viewport as a small PNG (Chromium scales it: no image library needed)."""
    width, height = size
    clip = {'x': 0, 'y': 0, 'width': width, 'height': height, 'scale': TOUR_SCALE[width]}
    shot = driver.execute_cdp_cmd('Page.captureScreenshot', {'format': 'png', 'clip': clip})  # type: ignore[attr-defined]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot['data']))


def _metrics(size: tuple[int, int]) -> dict[str, object]:
    width, height = size
    return {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': width < 500}
