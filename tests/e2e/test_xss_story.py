"""No user text runs as code, in a real Chromium (issue 11, item 6: stored XSS).

A member and an admin put script payloads in every field a user can write: display names, the organisation's
name, API token names, the project's name and description, a milestone, task titles, descriptions, labels, board
columns, checklist lines, comments with an @mention (so the notification carries them), time notes, attachment
names, a sign-in with a payload as its user name (the log and the audit) and a browser session whose user agent is
one. The data goes in through the REST API and the services (fast); then the admin opens every page in Chromium,
hovers the timeline's bars and milestone and the workload chart's bars so that their tooltips render, and the
story fails if a payload ran; then it checks that the payloads read as the literal text people typed.

The trap: before any page script runs, every page gets a `window.__xss` whose setter records where it fired (in
sessionStorage, so a navigation cannot lose it), and a recorder for error events and console errors (a failed
`<img src=x>` is an element error: HTML got parsed where text was meant). The payloads only ever set `__xss`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from appliance.services.auth import LoginFailed
from tests.e2e.conftest import SCREENSHOTS, Page
from tests.livesrv import LiveServer, complete_setup, create_api_token, create_user, http_client, login_ticket, sign_in

pytestmark = pytest.mark.e2e

PASSWORD = 'Correct-Horse-Battery-42'
ADMIN, MEMBER = 'alice', 'bob'

# Each one sets window.__xss when it runs: as HTML (an attribute handler), after breaking out of an attribute, as a
# Vue template expression, as a script after closing one, and inside a JavaScript template literal.
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
VUE = "{{[].at.constructor('__xss=1')()}}"
SCRIPT = '</script><script>__xss=1</script>'
TICK = '`${__xss=1}`'
PAYLOADS = (IMG, SVG, VUE, SCRIPT, TICK)
ALL = ' '.join(PAYLOADS)
# Markdown fields also get raw HTML and a javascript: link (markdown-it must escape and refuse them).
MARKDOWN = f'{ALL}\n\n<img src=x onerror=__xss=1>\n\n[click me](javascript:__xss=1) <b onmouseover=__xss=1>b</b>'

TRAP = r"""
(() => {
  const note = (what) => {
    try {
      const seen = JSON.parse(sessionStorage.getItem('__xss_log') || '[]');
      seen.push(location.pathname + location.search + ': ' + what);
      sessionStorage.setItem('__xss_log', JSON.stringify(seen));
    } catch (e) {}
  };
  let value;
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return value; },
    set(v) { value = v; note('PAYLOAD RAN'); },
  });
  window.addEventListener('error', (e) => {
    const target = e.target;
    if (target && target !== window && target.tagName) {
      note('element error: <' + target.tagName.toLowerCase() + ' src=' + (target.getAttribute('src') || '') + '>');
    } else {
      note('script error: ' + e.message);
    }
  }, true);
  for (const level of ['error', 'warn']) {
    const original = console[level];
    console[level] = function (...args) {
      note('console.' + level + ': ' + args.map((a) => (a && a.message) || String(a)).join(' ').slice(0, 300));
      return original.apply(this, args);
    };
  }
})();
"""
# What in a console message shows that a payload was parsed or evaluated somewhere.
PAYLOAD_TRACES = ('xss', 'constructor', 'onerror', 'onload', '<img', '<svg', '<script', 'src=x', 'template')

story: dict[str, Any] = {}


def today() -> date:
    """Today for the accounts of this story (their time zone is the default, UTC)."""
    return datetime.now(UTC).date()


# ---- helpers ---------------------------------------------------------------------------------------------------


def api(server: LiveServer, token: str) -> httpx.Client:
    """A REST client with `token`."""
    client = http_client(server.url + '/api/v1')
    client.headers['Authorization'] = f'Bearer {token}'
    return client


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """One API call that must succeed; its JSON (or None)."""
    response = client.request(method, path, **kwargs)
    assert response.status_code < 300, f'{method} {path} answered {response.status_code}: {response.text[:500]}'
    return response.json() if response.content else None


def findings(page: Page) -> list[str]:
    """What the trap recorded since the last call (then cleared), keeping what shows a payload."""
    raw = page.driver.execute_script(
        "const v = sessionStorage.getItem('__xss_log') || '[]'; sessionStorage.removeItem('__xss_log'); return v;"
    )
    seen = [str(line) for line in json.loads(raw)]
    ran = bool(page.driver.execute_script('return window.__xss !== undefined;'))
    suspicious = [
        line
        for line in seen
        if 'PAYLOAD RAN' in line or 'element error' in line or any(t in line.lower() for t in PAYLOAD_TRACES)
    ]
    if ran and not any('PAYLOAD RAN' in line for line in suspicious):
        suspicious.append(f'{page.path()}: window.__xss is set')
    return suspicious


def settle(page: Page) -> None:
    """Wait until NiceGUI mounted the page (one script call per poll: WebDriver round trips are the cost here)."""
    mounted = (
        "return document.readyState === 'complete' && typeof mounted_app !== 'undefined' && !!mounted_app"
        " && !!document.querySelector('.q-page, body > div');"
    )
    page.wait(lambda d: d.execute_script(mounted), f'{page.path()} did not mount')
    # Refreshables and tables fill in after the first render; give them a short, bounded moment.
    page.driver.execute_script('return new Promise((done) => setTimeout(done, 100));')


def shot(page: Page, name: str) -> Path:
    """A screenshot for a person to look at (in tests/e2e/screenshots)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f'xss_{name}.png'
    page.driver.save_screenshot(str(path))
    return path


def browser_sign_in(page: Page, live_server: LiveServer, username: str) -> None:
    """Sign in through the ticket route (what the login page does after checking the password)."""
    ticket = login_ticket(live_server.data_dir, username=username, password=PASSWORD)
    page.open(f'/auth/session?ticket={quote(ticket)}&next=/')
    page.wait_for_path('/')
    settle(page)


# ---- the story ---------------------------------------------------------------------------------------------------


def test_it_puts_payloads_in_every_field(live_server: LiveServer, browser: webdriver.Chrome) -> None:
    data = live_server.data_dir
    # The organisation's name is at most 100 characters, a display name 128, a label 40, a column 60.
    complete_setup(
        data, org_name=f'</title>{IMG} {SVG}', username=ADMIN, display_name=f'Alice {IMG} {SVG}', password=PASSWORD
    )
    create_user(data, admin=ADMIN, username=MEMBER, display_name=f'Bob {VUE} {SCRIPT} {TICK}', password=PASSWORD)
    admin = api(live_server, create_api_token(data, username=ADMIN, name=f'{IMG} {VUE}'))
    create_api_token(data, username=ADMIN, name=f'{SVG} {SCRIPT} {TICK}')
    member = api(live_server, create_api_token(data, username=MEMBER, name=f'{SCRIPT} {TICK}'))

    start, due = today(), today() + timedelta(days=3)
    project = call(admin, 'POST', '/projects', json={'name': ALL, 'key': 'XSS', 'description': MARKDOWN})
    pid = project['id']
    call(admin, 'POST', f'/projects/{pid}/members', json={'username': MEMBER, 'role': 'member'})
    milestone = call(
        admin,
        'POST',
        f'/projects/{pid}/milestones',
        json={'name': ALL, 'due_date': (today() + timedelta(days=6)).isoformat(), 'description': MARKDOWN},
    )
    for payload in PAYLOADS:
        call(admin, 'POST', f'/projects/{pid}/statuses', json={'name': f'Col {payload}'})
    labels = [call(member, 'POST', f'/projects/{pid}/labels', json={'name': payload})['id'] for payload in PAYLOADS]
    me = call(admin, 'GET', '/me')
    bar = call(
        member,
        'POST',
        '/tasks',
        json={
            'project_id': pid,
            'title': f'Bar {ALL}',
            'description': MARKDOWN,
            'start_date': start.isoformat(),
            'due_date': due.isoformat(),
            'label_ids': labels,
            'assignee_ids': [me['id']],
            'milestone_id': milestone['id'],
        },
    )
    point = call(
        member,
        'POST',
        '/tasks',
        json={
            'project_id': pid,
            'title': f'Point {ALL}',
            'description': MARKDOWN,
            'due_date': (today() + timedelta(days=8)).isoformat(),
            'assignee_ids': [me['id']],
            'parent_id': bar['id'],
        },
    )
    late = {'title': f'Late {ALL}', 'start_date': (start - timedelta(days=4)).isoformat()}
    late['due_date'] = (start - timedelta(days=1)).isoformat()  # overdue: the overview lists it
    call(member, 'POST', '/tasks', json={'project_id': pid, 'assignee_ids': [me['id']], **late})
    call(member, 'POST', f'/tasks/{point["id"]}/dependencies', json={'blocker_id': bar['id']})
    call(member, 'POST', f'/tasks/{bar["id"]}/checklist', json={'text': ALL})
    call(member, 'POST', f'/tasks/{bar["id"]}/comments', json={'body': f'@{ADMIN} {MARKDOWN}'})
    call(
        member, 'POST', f'/tasks/{bar["id"]}/time-entries', json={'day': start.isoformat(), 'hours': '1.5', 'note': ALL}
    )
    for payload in (IMG, SVG, VUE, TICK):  # a file name loses everything up to its last slash: SCRIPT would not
        call(
            member,
            'PUT',
            f'/tasks/{bar["id"]}/attachments',
            params={'filename': f'{payload}.txt'},
            content=b'hello',
            headers={'Content-Type': 'text/plain'},
        )
    call(member, 'PATCH', f'/tasks/{point["id"]}', json={'description': MARKDOWN + '\n\nchanged'})
    # An outsider's requests (the server logs the path; the log page and the support bundle's preview show the
    # log; this path would end a Markdown code fence and start HTML), a sign-in attempt with a payload as user name
    # (the log and the audit may show it) and a session whose browser says it is a payload (the admin's sessions
    # page shows the user agent).
    with http_client(live_server.url) as outsider:
        outsider.get('/nothing%0A%60%60%60%0A%3Cimg%20src%3Dx%20onerror%3D__xss%3D1%3E%0A%60%60%60')
        outsider.post('/api/v1/tasks', json={})  # an unauthenticated request: answers 401
    with pytest.raises(LoginFailed):  # refused, but the attempt is written down
        login_ticket(data, username=ALL[:64], password='wrong')
    with http_client(live_server.url) as browser_of_bob:
        browser_of_bob.headers['User-Agent'] = ALL
        sign_in(browser_of_bob, data, username=MEMBER, password=PASSWORD)
    story.update(project_id=pid, bar=bar['id'], point=point['id'], milestone=milestone['id'])
    browser.execute_cdp_cmd('Page.addScriptToEvaluateOnNewDocument', {'source': TRAP})


def test_it_runs_no_payload_on_any_page(page: Page, live_server: LiveServer) -> None:
    browser_sign_in(page, live_server, ADMIN)
    pid, bar = story['project_id'], story['bar']
    paths = [
        '/',
        '/projects',
        f'/projects/{pid}',
        f'/projects/{pid}/board',
        f'/projects/{pid}/tasks',
        f'/projects/{pid}/timeline',
        f'/projects/{pid}/calendar',
        f'/projects/{pid}/members',
        f'/projects/{pid}/milestones',
        f'/projects/{pid}/activity',
        f'/projects/{pid}/workflow',
        f'/projects/{pid}/settings',
        f'/tasks/{bar}',
        f'/tasks/{story["point"]}',
        '/tasks/mine',
        '/tasks/calendar',
        '/search?q=onerror',
        '/search?q=' + quote(ALL),
        '/notifications',
        '/profile',
        '/admin/users',
        '/admin/sessions',
        '/admin/audit',
        '/admin/settings',
        '/admin/mail',
        '/console',
        '/console/backups',
        '/console/logs',
        '/console/support',
        '/console/license',
        '/console/certificate',
    ]
    # What folds away is opened too: the timeline's list, the support bundle's preview of the log.
    unfold: dict[str, Callable[[], None]] = {
        f'/projects/{pid}/timeline': lambda: (
            page.driver.find_element(By.XPATH, "//*[normalize-space()='As a list']").click(),
            page.wait_for_text('.q-page .q-expansion-item', f'Bar {IMG}'),
        ),
        '/console/support': lambda: (
            page.button('Prepare a bundle').click(),
            page.wait_for_text('.q-page', 'files in the bundle'),
        ),
    }
    problems: list[str] = []
    for path in paths:
        page.open(path)
        settle(page)
        if not page.driver.execute_script("return !!document.querySelector('.q-drawer nav a');"):
            # An error page instead of the page: nothing was looked at.
            problems.append(f'{path}: did not open ({page.driver.title!r})')
        if path in unfold:
            unfold[path]()
        problems += findings(page)
    assert not problems, 'a payload was parsed or ran:\n' + '\n'.join(problems)


def hover_points(page: Page, chart: WebElement) -> list[tuple[str, float, float]]:
    """(what, x, y) in CSS pixels from the chart's top left: the middle of every bar and every point."""
    script = """
      const chart = getElement(arguments[0].closest('[id^=c]')).chart;
      const out = [];
      chart.getOption().series.forEach((series, index) => {
        if (series.type === 'lines') return;
        series.data.forEach((item, n) => {
          const v = typeof item === 'number' ? [item / 2, n] : item.value;
          const x = series.type === 'custom' ? (v[0] + v[1]) / 2 : v[0];
          const row = series.type === 'custom' ? v[2] : v[1];
          const [px, py] = chart.convertToPixel({seriesIndex: index}, [x, row]);
          out.push([series.type + ' ' + index + '.' + n, px, py]);
        });
      });
      return out;
    """
    return [(str(what), float(x), float(y)) for what, x, y in page.driver.execute_script(script, chart)]


def tooltip_text(page: Page, chart: WebElement) -> str:
    """The text of the chart's visible tooltip ('' while none shows): ECharts adds it as the container's last div."""
    script = """
      const tips = Array.from(arguments[0].querySelectorAll(':scope > div')).slice(1);
      const shown = tips.filter((t) => getComputedStyle(t).display !== 'none' && t.textContent.trim());
      return shown.map((t) => t.textContent).join('\\n');
    """
    return str(page.driver.execute_script(script, chart))


def hover_everything(page: Page, chart: WebElement, screenshot: str) -> dict[str, str]:
    """Move the mouse over every bar and point of `chart`; what each tooltip said ('' for none)."""
    size = chart.size
    shown: dict[str, str] = {}
    for what, x, y in hover_points(page, chart):
        ActionChains(page.driver).move_to_element_with_offset(
            chart, int(x - size['width'] / 2), int(y - size['height'] / 2)
        ).perform()
        try:
            page.wait(lambda _d: tooltip_text(page, chart), f'no tooltip over {what}', timeout=3)
        except TimeoutException:
            shown[what] = ''
            continue
        shown[what] = tooltip_text(page, chart)
        if screenshot:
            shot(page, screenshot)
            screenshot = ''
        ActionChains(page.driver).move_to_element_with_offset(chart, 0, -int(size['height'] / 2) + 2).perform()
    return shown


def chart_on(page: Page, path: str) -> WebElement:
    """Open `path` and wait for its (first) chart to draw."""
    page.open(path)
    settle(page)
    found = page.wait(lambda _d: next(iter(page.visible('[_echarts_instance_]')), None), f'no chart on {path}')
    assert isinstance(found, WebElement)
    page.wait(lambda _d: hover_points(page, found), f'the chart on {path} has nothing to hover')
    return found


def test_it_shows_chart_tooltips_as_text(page: Page) -> None:
    pid = story['project_id']
    timeline = hover_everything(page, chart_on(page, f'/projects/{pid}/timeline'), 'timeline_tooltip')
    problems = findings(page)
    workload = hover_everything(page, chart_on(page, f'/projects/{pid}'), 'workload_tooltip')
    problems += findings(page)
    assert not problems, 'a payload ran in a chart:\n' + '\n'.join(problems)
    # Every bar and point showed its tooltip, with the payloads as the literal text a person typed.
    assert len(timeline) >= 4 and all(timeline.values()), timeline
    assert any(f'Bar {ALL}' in text for text in timeline.values()), timeline
    assert any(f'Point {ALL}' in text for text in timeline.values()), timeline
    assert any(text.startswith(ALL) for text in timeline.values()), timeline  # the milestone
    assert workload and all(f'Alice {IMG} {SVG}' in text for text in workload.values()), workload


def test_it_shows_the_payloads_as_the_text_people_typed(page: Page) -> None:
    page.open(f'/tasks/{story["bar"]}')
    settle(page)
    page.wait_for_text('.q-page', f'Bar {ALL}')
    text = page.text_of('.q-page')
    for expected in (f'Bar {ALL}', ALL, '<img src=x onerror=__xss=1>', '[click me](javascript:__xss=1)', f'{IMG}.txt'):
        assert expected in text, expected
    shot(page, 'task')
    page.open(f'/projects/{story["project_id"]}/board')
    settle(page)
    page.wait_for_text('.q-page', f'Col {VUE}')
    text = page.text_of('.q-page')
    assert all(f'Col {payload}' in text for payload in PAYLOADS), text
    shot(page, 'board')
    assert not findings(page)
