"""The appliance's nginx site in front of the real app on its Unix socket (issue 11, items 7 and 8).

The shipped provisioning/nginx/enclave.conf runs under the Debian nginx on loopback ports, with a throwaway
certificate, proxying to a real Enclave listening on a socket as in the appliance. A client that writes its own
X-Forwarded-For is still known by its true address (the audit log, the sign-in ticket's address binding); request
bodies over a location's limit get 413 from nginx, while the upload routes let larger bodies through."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from tests import livesrv
from tests.support import nginx

FORGED = '203.0.113.9'
ADMIN = 'root-admin'
PASSWORD = 'correct horse battery'
WORKERS = 2


@dataclass
class Stack:
    app: livesrv.LiveServer
    https: str
    folder: Path
    nginx: list[str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.https, verify=False, trust_env=False, timeout=30)  # the test certificate


@pytest.fixture(scope='module')
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp('nginx')
    app_socket = folder / 'app.sock'
    # Two workers, as on a 2-core appliance, and the upstream block `enclave proxy-config` writes for them.
    argv, https_port = nginx.prepare(folder, app_socket, WORKERS)
    app = livesrv.start_server(tmp_path_factory.mktemp('data'), socket=app_socket, timeout=180, workers=WORKERS)
    try:
        livesrv.complete_setup(
            app.data_dir, org_name='Proxy Co', username=ADMIN, display_name='Admin', password=PASSWORD
        )
        with nginx.running(argv, https_port) as https:
            yield Stack(app=app, https=https, folder=folder, nginx=argv)
    finally:
        app.stop()


def audit_rows(data_dir: Path, action: str) -> list[tuple[str, str]]:
    from appliance.db import get_database
    from appliance.models import AuditEvent

    with livesrv.server_database(data_dir), get_database().session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(row.target, row.ip) for row in rows]


def test_it_ships_a_site_that_nginx_accepts(stack: Stack) -> None:
    checked = subprocess.run([*stack.nginx, '-t'], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert 'syntax is ok' in checked.stderr


def answering_worker(client: httpx.Client) -> int:
    response = client.get('/healthz')
    assert response.status_code == 200, response.text
    worker: int = response.json()['worker']
    return worker


def test_it_keeps_a_browser_on_one_worker_from_its_first_request(stack: Stack) -> None:
    """nginx's cookie is hashed on the request that sets it and on every later one: a page and its WebSocket meet
    the same process. Twenty browsers spread over both workers."""
    seen = set()
    for _ in range(20):
        with stack.client() as browser:
            first = answering_worker(browser)  # no cookie yet: nginx sets it on this answer
            assert 'enclave_route' in browser.cookies
            assert {answering_worker(browser) for _ in range(10)} == {first}
            seen.add(first)
    assert seen == set(range(1, WORKERS + 1))


def test_its_route_cookie_is_for_this_site_only(stack: Stack) -> None:
    with stack.client() as browser:
        cookies = browser.get('/healthz').headers.get_list('set-cookie')
    [cookie] = [value for value in cookies if value.startswith('enclave_route=')]
    assert {'httponly', 'secure', 'samesite=lax', 'path=/'} <= {part.strip().lower() for part in cookie.split(';')}
    assert 'expires' not in cookie.lower()  # gone with the browser session


def test_a_browser_whose_worker_is_down_is_answered_by_another(stack: Stack) -> None:
    """While the supervisor starts a dead worker again, nginx passes its browsers to the one that is up."""
    import psutil

    with stack.client() as browser:
        while answering_worker(browser) != 2:
            browser.cookies.clear()
        [worker] = [
            child
            for child in psutil.Process(stack.app.process.pid).children()
            if child.cmdline()[-2:] == ['--worker', '2']
        ]
        worker.kill()
        worker.wait(10)
        assert answering_worker(browser) == 1
    livesrv.wait_until_healthy(stack.app, 180)  # back for the tests after this one


class _JustStarted(http.server.BaseHTTPRequestHandler):
    """A worker that has just come up: 200 to everything."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'up')

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def worker_up(path: Path) -> Iterator[None]:
    """Something answering HTTP on the worker socket `path` until the body ends."""
    server = socketserver.ThreadingUnixStreamServer(str(path), _JustStarted)
    os.chmod(path, 0o777)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_the_first_worker_back_answers_at_once_and_until_then_a_page_says_the_box_is_starting(
    tmp_path: Path,
) -> None:
    """At boot every worker is down, and each nginx process sees them fail. Whichever process takes the next
    connection, the first worker back answers it: never nginx's "no live upstreams" for another 10 s (which the
    image test met: / answered, then /setup got 502 from the other nginx process). Until a worker is up, a browser
    gets a page in both languages that says the box is starting and asks again."""
    argv, https_port = nginx.prepare(tmp_path, tmp_path / 'app.sock', WORKERS, processes=2)

    def fresh_get(client: httpx.Client) -> httpx.Response:  # a new browser on a new connection
        client.cookies.clear()
        return client.get('/', headers={'Connection': 'close'})

    with (
        nginx.running(argv, https_port) as https,
        httpx.Client(base_url=https, verify=False, trust_env=False, timeout=10) as client,  # the test certificate
    ):
        for _ in range(10):
            down = fresh_get(client)
            assert (down.status_code, down.headers.get('retry-after')) == (503, '5'), down.text
            assert 'Enclave 正在启动' in down.text and 'Enclave is starting' in down.text
            assert 'http-equiv="refresh"' in down.text and '502 Bad Gateway' not in down.text
        with worker_up(tmp_path / 'app-1.sock'):
            answers = [fresh_get(client).status_code for _ in range(20)]
    assert answers == [200] * 20


def test_a_page_and_its_websocket_work_through_the_proxy(stack: Stack) -> None:
    """The real thing: a NiceGUI page from nginx, then its Socket.IO handshake, in one browser's cookie jar.
    Polling first, as engine.io starts: the handshake's sid is known only to the worker that built the page's
    client, so a request routed to the other worker would get 400 "Invalid session"."""
    for _ in range(6):
        with stack.client() as browser:
            page = browser.get('/login')
            assert page.status_code == 200
            client_id = re.search(r'"query":\{"client_id":"([0-9a-f-]+)"', page.text) or re.search(
                r'client_id["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', page.text
            )
            assert client_id, page.text[:2000]
            query = f'client_id={client_id.group(1)}&EIO=4&transport=polling'
            opened = browser.get(f'/_nicegui_ws/socket.io/?{query}')
            assert opened.status_code == 200, opened.text
            sid = json.loads(opened.text[1:])['sid']
            for _ in range(5):
                polled = browser.post(f'/_nicegui_ws/socket.io/?{query}&sid={sid}', content=b'40')
                assert polled.status_code == 200, polled.text


def test_it_records_the_true_address_when_a_client_forges_x_forwarded_for(stack: Stack) -> None:
    token = livesrv.create_api_token(stack.app.data_dir, username=ADMIN)
    forged = {'X-Forwarded-For': FORGED, 'X-Real-IP': FORGED, 'Authorization': f'Bearer {token}'}
    with stack.client() as client:
        made = client.post('/api/v1/projects', json={'name': 'Forged', 'key': 'FRG'}, headers=forged)
    assert made.status_code == 201, made.text
    assert audit_rows(stack.app.data_dir, 'project.created')[-1] == (f'project:{made.json()["id"]}', '127.0.0.1')


def test_it_binds_the_sign_in_ticket_to_the_true_address(stack: Stack) -> None:
    from appliance.db import get_database
    from appliance.services import auth

    # A ticket made for another address (as a forged header would have made it) does not work from here ...
    with livesrv.server_database(stack.app.data_dir), get_database().session() as session:
        elsewhere = auth.authenticate(session=session, username=ADMIN, password=PASSWORD, ip=FORGED)
    with stack.client() as client:
        refused = client.get(f'/auth/session?ticket={quote(elsewhere)}', headers={'X-Forwarded-For': FORGED})
        assert refused.status_code == 303 and refused.headers['location'] == '/login?expired=1'
        assert 'enclave_session' not in client.cookies
    # ... and one made for this client's address works whatever the client claims to be.
    here = livesrv.login_ticket(stack.app.data_dir, username=ADMIN, password=PASSWORD)
    with stack.client() as client:
        taken = client.get(f'/auth/session?ticket={quote(here)}', headers={'X-Forwarded-For': '198.51.100.1'})
        assert taken.status_code == 303 and taken.headers['location'] == '/'
        assert 'enclave_session' in client.cookies


def first_answer(stack: Stack, method: str, path: str, length: int) -> str:
    """nginx's first status line for a request announcing a body of `length` bytes with `Expect: 100-continue`:
    "413" when the location's limit refuses it, "100" when nginx would pass the body on (none is sent, so the
    answer does not depend on when the app stops reading)."""
    port = int(stack.https.rsplit(':', 1)[1])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own certificate
    with socket.create_connection(('127.0.0.1', port), timeout=30) as raw, context.wrap_socket(raw) as tls:
        tls.sendall(
            f'{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\n'
            f'Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n'.encode()
        )
        status_line = tls.recv(4096).split(b'\r\n', 1)[0].decode()
    return status_line.split(' ')[1]


@pytest.mark.parametrize(
    ('method', 'path', 'size_mib', 'answer'),
    [
        ('POST', '/api/v1/projects', 2, '413'),  # pages and the API: 1 MiB
        ('POST', '/login', 2, '413'),
        ('PATCH', '/api/v1/tasks/1', 2, '413'),
        ('PUT', '/api/v1/tasks/1/attachments?filename=a.bin', 2048, '100'),  # uploads: the app's max_upload_mb
        ('POST', '/api/v1/tasks/1/attachments', 2048, '100'),
        ('POST', '/api/v1/tasks/1/attachments', 2050, '413'),
        ('POST', '/api/v1/projects/1/import/preview', 20, '100'),  # CSV import: 20 MiB
        ('POST', '/api/v1/projects/1/import', 22, '413'),
        ('POST', '/_nicegui/client/abc/upload/1', 20, '100'),
        ('POST', '/_nicegui/client/abc/upload/1', 22, '413'),
    ],
)
def test_it_limits_request_bodies_per_location(
    stack: Stack, method: str, path: str, size_mib: int, answer: str
) -> None:
    assert first_answer(stack, method, path, size_mib * 1024 * 1024) == answer


def test_it_answers_413_from_nginx_for_a_body_sent_over_the_limit(stack: Stack) -> None:
    with stack.client() as client:
        answer = client.post('/api/v1/projects', content=b'x' * (2 * 1024 * 1024))
    assert answer.status_code == 413
    assert 'nginx' in answer.text  # nginx's own page: the app never saw the body


def test_it_throttles_and_audits_a_failed_sign_in_by_the_true_address(stack: Stack, tmp_path: Path) -> None:
    """Chromium signs in wrongly through nginx, sending a forged X-Forwarded-For with every request (pages and the
    websocket): the failure counts against 127.0.0.1 and the audit log says 127.0.0.1."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys

    from appliance.db import get_database
    from appliance.models import LoginFailure
    from tests.e2e.conftest import CHROME_ARGS, CHROMEDRIVER, CHROMIUM, Page

    assert os.access(CHROMIUM, os.X_OK), f'needs {CHROMIUM}: make test-system-deps installs it'
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [*CHROME_ARGS, '--ignore-certificate-errors', f'--user-data-dir={tmp_path / "profile"}']:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd('Network.enable', {})
        driver.execute_cdp_cmd('Network.setExtraHTTPHeaders', {'headers': {'X-Forwarded-For': FORGED}})
        page = Page(driver, stack.https)
        page.open('/login')
        page.type_into('Username', 'mallory')
        page.type_into('Password', 'not the password').send_keys(Keys.ENTER)

        def failures() -> dict[str, int]:
            with livesrv.server_database(stack.app.data_dir), get_database().session() as session:
                return {row.key: row.failures for row in session.scalars(select(LoginFailure))}

        page.wait(lambda _d: 'user:mallory' in failures(), 'the failed sign-in was not counted')
    finally:
        driver.quit()
    counted = failures()
    assert counted.get('ip:127.0.0.1', 0) >= 1
    assert f'ip:{FORGED}' not in counted
    assert audit_rows(stack.app.data_dir, 'login.failure')[-1] == ('user:mallory', '127.0.0.1')
