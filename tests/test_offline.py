"""Promise 1, nothing leaves the box: no page makes a browser load anything from another host, and the whole
server works in a network namespace that has nothing but loopback.

The crawler lives in tests/offline_probe.py, which is also the program run inside `unshare -n`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import livesrv
from tests.offline_probe import ADMIN, ADMIN_NAME, COLLEAGUE, COLLEAGUE_NAME, PASSWORD, SIGNED_IN_PAGES, Crawler

PROBE_TIMEOUT = 120


# ---- the crawler finds what it should (so that an empty result means something) ------------------------------

ORIGIN = 'http://127.0.0.1:9'
BAD_PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
<link rel="icon" href="//cdn.example.com/favicon.ico">
<link rel="modulepreload" href="/static/app.js">
<script src="https://cdn.jsdelivr.net/npm/vue"></script>
<script type="importmap">{"imports": {"vue": "/static/vue.js", "lodash": "https://esm.sh/lodash"}}</script>
<style>@import url("https://evil.example/a.css"); body { background: url(https://img.example/bg.png) }</style>
</head><body>
<a href="https://nicegui.io/documentation">a link the user may follow is not a load</a>
<img srcset="/local.png 1x, https://img.example/big.png 2x">
<div style="background-image: url('https://img.example/div.png')"></div>
<form action="https://collector.example/submit"></form>
<script type="module">
  import x from "https://esm.sh/x";
  const y = await import('https://esm.sh/y');
  fetch('https://telemetry.example/ping');
  // see https://vuejs.org/guide for docs (plain text: not a request)
</script>
<script type="module">
const app = createApp(parseElements(String.raw`{"1":{"tag":"img","props":{"src":"https://tiles.example/1.png"}}}`), {
  prefix: "",
  transports: ['websocket'],
});
</script>
</body></html>"""
ASSETS = {
    '/static/app.js': "import {a} from './dep.js';\nimport('https://esm.sh/z');\n"
    "const note = 'https://example.org/licence';\n",
    '/static/dep.js': 'export const a = 1; // https://example.org/comment',
    '/static/vue.js': 'export default {}',
}


def _fake_server(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == '/page':
        return httpx.Response(
            200,
            text=BAD_PAGE,
            headers={'content-type': 'text/html', 'content-security-policy': "default-src 'self' https://cdn.example"},
        )
    if path in ASSETS:
        return httpx.Response(200, text=ASSETS[path], headers={'content-type': 'text/javascript'})
    return httpx.Response(404)


def test_the_crawler_flags_every_kind_of_load_from_another_host_and_nothing_else() -> None:
    with httpx.Client(transport=httpx.MockTransport(_fake_server)) as client:
        crawler = Crawler(client, ORIGIN)
        crawler.page('/page')
    flagged = {ref.url for ref in crawler.result.external}
    assert flagged == {
        'https://fonts.googleapis.com/css?family=Roboto',
        '//cdn.example.com/favicon.ico',
        'https://cdn.jsdelivr.net/npm/vue',
        'https://esm.sh/lodash',
        'https://evil.example/a.css',
        'https://img.example/bg.png',
        'https://img.example/big.png',
        'https://img.example/div.png',
        'https://collector.example/submit',
        'https://esm.sh/x',
        'https://esm.sh/y',
        'https://telemetry.example/ping',
        'https://tiles.example/1.png',
        'https://esm.sh/z',
        'https://cdn.example',
    }, sorted(flagged)
    # The local module graph was followed (app.js → dep.js); the bare 'vue' import map entry is local.
    assert {f'{ORIGIN}/static/app.js', f'{ORIGIN}/static/dep.js'} <= set(crawler.result.assets)
    assert f'{ORIGIN}/local.png' in crawler.result.assets
    assert any('local.png' in broken for broken in crawler.result.broken)


def test_the_network_audit_reports_a_connection_to_another_host_and_not_to_loopback() -> None:
    code = (
        'import socket\n'
        'from tests.livesrv import install_network_audit\n'
        'install_network_audit()\n'
        "for host in ('127.0.0.1', '192.0.2.1'):\n"
        '    with socket.socket() as sock:\n'
        '        sock.settimeout(0.3)\n'
        '        try:\n'
        '            sock.connect((host, 9))\n'
        '        except OSError:\n'
        '            pass\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', code], cwd=livesrv.REPO, capture_output=True, text=True, timeout=30, check=True
    )
    assert livesrv.outbound_attempts(done.stderr) == [f"{livesrv.NETWORK_AUDIT_MARK} socket.connect ('192.0.2.1', 9)"]


# ---- a live server ----------------------------------------------------------------------------------------------


def _check(crawler: Crawler, server: livesrv.LiveServer) -> None:
    result = crawler.result
    print(
        f'offline check: {len(result.pages)} pages, {len(result.assets)} assets fetched, '
        f'{result.references} load references checked, {len(result.external)} to another host'
    )
    assert not result.external, '\n'.join(f'{ref.url}  (in {ref.found_in}, {ref.how})' for ref in result.external)
    assert not result.broken, result.broken
    assert not result.page_problems, result.page_problems
    assert server.alive(), server.log_text()


def test_it_loads_nothing_from_another_host(tmp_path: Path) -> None:
    with (
        livesrv.running_server(tmp_path / 'data', network_audit=True) as server,
        livesrv.http_client(server.url) as client,
    ):
        try:
            crawler = Crawler(client, server.url)
            crawler.page('/setup')
            for path in ('/', '/login', '/profile'):
                response = client.get(path, follow_redirects=False)
                assert (response.status_code, response.headers.get('location')) == (303, '/setup'), path

            livesrv.complete_setup(
                server.data_dir, org_name='Acme 测试', username=ADMIN, display_name=ADMIN_NAME, password=PASSWORD
            )
            livesrv.create_user(
                server.data_dir,
                admin=ADMIN,
                username=COLLEAGUE,
                display_name=COLLEAGUE_NAME,
                password=PASSWORD,
                language='zh_CN',
            )
            livesrv.sign_in(client, server.data_dir, username=ADMIN, password=PASSWORD)
            for path in SIGNED_IN_PAGES:
                crawler.page(path)
            crawler.page('/setup', expect_status=303)  # done: the wizard now sends people to sign in

            # A member who reads Chinese gets the same, local assets (same crawler: each asset is fetched once).
            with livesrv.http_client(server.url) as chinese:
                livesrv.sign_in(chinese, server.data_dir, username=COLLEAGUE, password=PASSWORD)
                crawler.client = chinese
                for path in ('/', '/profile', f'/search?q={COLLEAGUE_NAME[:1]}'):
                    crawler.page(path)
                crawler.client = client

            _check(crawler, server)
            assert len(crawler.result.assets) >= 10, crawler.result.assets  # fonts, Vue, Quasar, components, ...
            assert 'on air' not in server.log_text().lower()
            assert not livesrv.outbound_attempts(server.log_text()), 'the server tried to reach another host'
        except BaseException:
            print(f'--- server log ---\n{server.log_text()}')
            raise


# ---- no network at all ------------------------------------------------------------------------------------------


def _no_network_namespace() -> list[str]:
    """The command prefix that runs a command in a fresh network namespace (needs root or CAP_SYS_ADMIN)."""
    unshare = shutil.which('unshare')
    assert unshare, 'unshare (util-linux) is not installed: the offline promise cannot be checked'
    trial = subprocess.run([unshare, '-n', 'true'], capture_output=True, text=True, timeout=30)
    if trial.returncode != 0:
        message = trial.stderr.strip()
        hint = ' Run the suite as root (as CI does) or with CAP_SYS_ADMIN.' if 'not permitted' in message else ''
        pytest.fail(f'`unshare -n true` failed, so the offline promise cannot be checked: {message}.{hint}')
    return [unshare, '-n', '--']


def test_it_works_with_no_network_at_all() -> None:
    prefix = _no_network_namespace()
    # Loopback starts down in a new namespace; bring it up with ip(8) when present (the probe checks it).
    script = 'if command -v ip >/dev/null 2>&1; then ip link set lo up; fi; exec "$0" -m tests.offline_probe'
    env = {key: value for key, value in os.environ.items() if not key.startswith('ENCLAVE_')}
    # A session of its own, so that a hung probe is ended together with the server it started.
    probe = subprocess.Popen(
        [*prefix, 'sh', '-c', script, sys.executable],
        cwd=livesrv.REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = probe.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(probe.pid, signal.SIGKILL)
        stdout, stderr = probe.communicate()
        pytest.fail(f'the offline probe did not finish in {PROBE_TIMEOUT} s:\n{stdout}\n{stderr}')
    assert probe.returncode == 0, f'probe failed ({probe.returncode}):\n{stdout}\n{stderr}'
    summary = json.loads(stdout.strip().splitlines()[-1])
    print(json.dumps(summary, ensure_ascii=False, indent=1))

    network = summary['network']
    assert network['interfaces'] == ['lo'], f'not an isolated namespace: {network}'
    assert network['connect_public'] == 'ENETUNREACH', f'a public address was reachable somehow: {network}'

    assert summary['before_setup'] == {'root': '/setup', 'login': '/setup'}
    crawl = summary['crawl']
    assert crawl['pages'] == len(SIGNED_IN_PAGES) + 2 and crawl['assets'] >= 10, crawl
    assert crawl['external'] == [] and crawl['broken'] == [] and crawl['page_problems'] == [], crawl
    assert summary['search_finds_colleague'] is True
    assert summary['api_me'] == {'status': 200, 'username': ADMIN}
    assert summary['healthz']['status'] == 200 and summary['healthz']['body']['status'] == 'ok', summary['healthz']
    assert summary['logout'] == {'status': 303, 'then_root': '/login?next=/'}
    assert summary['server_alive'] is True
    assert summary['server_log_mentions_on_air'] is False
    assert summary['outbound_attempts'] == [], 'the server tried to reach another host'
