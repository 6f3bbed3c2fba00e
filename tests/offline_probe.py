"""Does Enclave load anything from another host? The crawler of tests/test_offline.py, and a probe to run offline.

`crawl` fetches pages and every asset they make a browser load (HTML src/href/srcset/..., the import map, CSS
url() and @import, JS module imports, NiceGUI's element props) and reports each reference to another host.
Only places that make a browser load something are read: a licence comment or an error message in a JS library
that merely mentions a URL is not a request. <a href> is a link the user may follow, not a load.

Run as `python -m tests.offline_probe` (from the repository root), typically inside `unshare -n`: it starts a
server, sets it up through the services, signs in through the ticket route, opens every page and asset, calls the
API with a personal access token and prints one JSON summary on stdout.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

if __package__ in {None, ''}:  # run as a script: make `tests.livesrv` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import livesrv

ADMIN = 'alice'
ADMIN_NAME = 'Alice Admin'
COLLEAGUE = 'bob'
COLLEAGUE_NAME = '张伟'
PASSWORD = 'Correct-Horse-Battery-42'
SIGNED_IN_PAGES = [
    '/',
    '/profile',
    '/search?q=x',
    f'/search?q={COLLEAGUE_NAME}',
    '/admin/users',
    '/admin/sessions',
    '/admin/audit',
    '/admin/settings',
    '/login',
]

# Attributes whose URL the browser fetches by itself (per tag: None = any tag).
LOADING_ATTRIBUTES: dict[str, set[str] | None] = {
    'src': None,
    'poster': {'video'},
    'data': {'object'},
    'action': {'form'},
    'formaction': {'button', 'input'},
    'background': None,
    'manifest': {'html'},
    'ping': {'a', 'area'},
}
LINK_HREF_TAGS = {'link', 'base', 'use', 'image'}
CSS_URL = re.compile(r'url\(\s*([\'"]?)(.*?)\1\s*\)', re.IGNORECASE | re.DOTALL)
CSS_IMPORT = re.compile(r'@import\s+([\'"])(.*?)\1', re.IGNORECASE)
JS_STATIC_IMPORT = re.compile(
    r'(?:^|[;\s})])(?:import|export)\s*(?:[\w*{}\s,$]{0,500}?\s*from\s*)?([\'"])([^\'"\n]+)\1'
)
JS_DYNAMIC_IMPORT = re.compile(r'\bimport\s*\(\s*([\'"`])([^\'"`\n]+)\1\s*\)')
# Only in the page's own inline scripts (library code is checked for imports only).
JS_INLINE_LOADS = re.compile(
    r'\b(?:fetch|new\s+WebSocket|new\s+EventSource|io|importScripts|sendBeacon)\s*\(\s*([\'"`])([^\'"`\n]+)\1'
)
ELEMENT_PROPS = re.compile(r'"(src|srcset|poster|data|url|url_template|urlTemplate|background|image)"\s*:\s*"([^"]*)"')
QUASAR_IMG_ICON = re.compile(r'img:((?:https?:|wss?:)?//[^"\'\s)]+)')
ABSOLUTE = re.compile(r'^(?:[a-z][a-z0-9+.-]*:)?//', re.IGNORECASE)


@dataclass
class Reference:
    """One URL a response makes the browser load."""

    url: str
    found_in: str
    how: str


@dataclass
class CrawlResult:
    """What was fetched and what pointed elsewhere."""

    pages: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    references: int = 0
    external: list[Reference] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    page_problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            'pages': len(self.pages),
            'assets': len(self.assets),
            'references': self.references,
            'external': [f'{ref.url}  (in {ref.found_in}, {ref.how})' for ref in self.external],
            'broken': self.broken,
            'page_problems': self.page_problems,
        }


def is_external(url: str, origin: str) -> bool:
    """True when `url` names a host other than `origin`'s (relative URLs, data:, blob: are local)."""
    url = url.strip()
    if not ABSOLUTE.match(url):
        return False
    parts = urlsplit(url if '://' in url or not url.startswith('//') else 'http:' + url)
    if parts.scheme not in {'http', 'https', 'ws', 'wss', 'ftp', ''}:
        return False
    return parts.netloc.lower() != urlsplit(origin).netloc.lower()


def _is_fetchable(url: str) -> bool:
    return (
        not re.match(r'^(?:data|blob|about|javascript|mailto|tel):', url.strip(), re.IGNORECASE)
        and not url.strip().startswith('#')
        and bool(url.strip())
    )


class _HTMLRefs(HTMLParser):
    """Collect loading URLs, inline styles and scripts from one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self.scripts: list[tuple[str, str]] = []
        self._in: tuple[str, str] | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or '' for name, value in attrs}
        for name, value in values.items():
            tags = LOADING_ATTRIBUTES.get(name, set())
            if name == 'src' and tag == 'script':
                self.refs.append((value, f'<script src type={values.get("type", "")}>'))
            elif name in LOADING_ATTRIBUTES and (tags is None or tag in tags):
                self.refs.append((value, f'<{tag} {name}>'))
            elif name in {'srcset', 'imagesrcset'}:
                self.refs.extend(
                    (part.strip().split(' ')[0], f'<{tag} {name}>') for part in value.split(',') if part.strip()
                )
            elif name in {'href', 'xlink:href'} and tag in LINK_HREF_TAGS:
                self.refs.append((value, f'<{tag} {name} rel={values.get("rel", "")}>'))
            elif name == 'style':
                self.styles.append(value)
        if tag == 'meta' and values.get('http-equiv', '').lower() == 'refresh':
            match = re.search(r'url\s*=\s*(.+)', values.get('content', ''), re.IGNORECASE)
            if match:
                self.refs.append((match.group(1).strip('\'" '), '<meta refresh>'))
        if tag in {'style', 'script'}:
            self._in = (tag, values.get('type', ''))
            self._buffer = []

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._in is not None and tag == self._in[0]:
            text = ''.join(self._buffer)
            if tag == 'style':
                self.styles.append(text)
            else:
                self.scripts.append((self._in[1], text))
            self._in = None


def css_references(css: str) -> list[tuple[str, str]]:
    """(url, how) for every url(...) and @import in a style sheet."""
    found = [(m.group(2).strip(), 'css @import') for m in CSS_IMPORT.finditer(css)]
    found += [(m.group(2).strip(), 'css url()') for m in CSS_URL.finditer(css)]
    return found


def js_imports(js: str) -> list[tuple[str, str]]:
    """(specifier, how) for static and dynamic module imports (nothing else a library's text mentions)."""
    found = [(m.group(2), 'js import') for m in JS_STATIC_IMPORT.finditer(js)]
    found += [(m.group(2), 'js import()') for m in JS_DYNAMIC_IMPORT.finditer(js)]
    return found


class Crawler:
    """Fetch pages and the assets they load (recursively through CSS and JS modules) with one client."""

    def __init__(self, client: httpx.Client, origin: str) -> None:
        self.client = client
        self.origin = origin.rstrip('/')
        self.result = CrawlResult()
        self.import_map: dict[str, str] = {}
        self._seen: set[str] = set()

    def _note(self, url: str, found_in: str, how: str) -> str | None:
        """Count a reference; record it when external; return the absolute local URL to fetch, if any."""
        self.result.references += 1
        if is_external(url, self.origin):
            self.result.external.append(Reference(url=url, found_in=found_in, how=how))
            return None
        if not _is_fetchable(url):
            return None
        return urljoin(found_in, url).split('#')[0]

    def _resolve_specifier(self, specifier: str, found_in: str, *, strict: bool = True) -> str:
        if specifier.startswith(('/', './', '../')) or ABSOLUTE.match(specifier):
            return specifier
        if specifier in self.import_map:
            return self.import_map[specifier]
        prefixes = [key for key in self.import_map if key.endswith('/') and specifier.startswith(key)]
        if prefixes:
            key = max(prefixes, key=len)
            return self.import_map[key] + specifier[len(key) :]
        if strict:  # in a page's own script; inside a library it may be text, and would not load anyway
            self.result.page_problems.append(f'bare import {specifier!r} in {found_in} is not in the import map')
        return ''

    def _module(self, specifier: str, found_in: str, how: str, *, strict: bool = True) -> str | None:
        resolved = self._resolve_specifier(specifier, found_in, strict=strict)
        return self._note(resolved, found_in, how) if resolved else None

    def page(self, path: str, *, expect_status: int = 200) -> str:
        """Fetch one page, check it and everything it loads; return its HTML."""
        url = self.origin + path
        response = self.client.get(url, follow_redirects=False)
        self.result.pages.append(path)
        if response.status_code != expect_status:
            self.result.page_problems.append(f'{path} answered {response.status_code}, expected {expect_status}')
            return ''
        self._headers(response, url)
        if expect_status != 200:
            return ''
        html = response.text
        parser = _HTMLRefs()
        parser.feed(html)
        queue: list[tuple[str, str]] = []
        for ref, how in parser.refs:
            target = self._note(ref, url, how)
            if target:
                queue.append((target, how))
        for css in parser.styles:
            for ref, how in css_references(css):
                target = self._note(ref, url, f'inline style, {how}')
                if target:
                    queue.append((target, how))
        for kind, script in parser.scripts:
            if kind == 'importmap':
                self._import_map(script, url)
                continue
            for ref, how in js_imports(script):
                target = self._module(ref, url, f'inline script, {how}')
                if target:
                    queue.append((target, how))
            for match in JS_INLINE_LOADS.finditer(script):
                self._note(match.group(2), url, 'inline script, request')
        for match in ELEMENT_PROPS.finditer(html):
            target = self._note(match.group(2).replace('\\/', '/'), url, f'element prop {match.group(1)}')
            if target and match.group(1) in {'src', 'poster', 'data', 'image', 'background'}:
                queue.append((target, f'element prop {match.group(1)}'))
        for match in QUASAR_IMG_ICON.finditer(html):
            self._note(match.group(1), url, 'quasar img: icon')
        self._options(html, path)
        for target, how in queue:
            self.asset(target, how)
        return html

    def _headers(self, response: httpx.Response, url: str) -> None:
        csp = response.headers.get('content-security-policy', '')
        for token in re.split(r'[\s;]+', csp):
            if ABSOLUTE.match(token) or re.match(r'^(?:https?|wss?):?$', token) or token == '*':
                self.result.external.append(Reference(url=token, found_in=url, how='content-security-policy'))
        for link in response.headers.get_list('link'):
            for match in re.finditer(r'<([^>]+)>', link):
                self._note(match.group(1), url, 'Link header')

    def _import_map(self, text: str, url: str) -> None:
        try:
            imports = json.loads(text).get('imports', {})
        except ValueError:
            self.result.page_problems.append(f'unreadable import map in {url}')
            return
        for name, target in imports.items():
            self._note(target, url, f'import map {name!r}')
            self.import_map[name] = target

    def _options(self, html: str, path: str) -> None:
        """NiceGUI's socket options: no prefix (on_air and proxies add one), no host in them."""
        match = re.search(r'createApp\(parseElements\(.*?`\),\s*\{(.*?)\}\);', html, re.DOTALL)
        if match is None:
            self.result.page_problems.append(f'{path}: NiceGUI createApp options not found')
            return
        options = match.group(1)
        prefix = re.search(r'prefix:\s*"([^"]*)"', options)
        if prefix is None or prefix.group(1):
            self.result.page_problems.append(f'{path}: socket prefix is {prefix.group(1) if prefix else None!r}')
        for absolute in re.findall(r'(?:https?|wss?):\/\/[^\s"\']+', options):
            self.result.external.append(Reference(url=absolute, found_in=path, how='socket options'))
        for marker in ('on-air', 'on_air', 'nicegui.io'):
            if marker in html:
                self.result.page_problems.append(f'{path}: mentions {marker!r}')

    def asset(self, url: str, how: str) -> None:
        """Fetch an asset once; follow CSS and JS module references."""
        if url in self._seen:
            return
        self._seen.add(url)
        if urlsplit(url).netloc != urlsplit(self.origin).netloc:
            return
        response = self.client.get(url, follow_redirects=False)
        self.result.assets.append(url)
        if response.status_code != 200:
            self.result.broken.append(f'{url} ({how}) answered {response.status_code}')
            return
        content_type = response.headers.get('content-type', '')
        path = urlsplit(url).path
        if 'css' in content_type or path.endswith('.css'):
            for ref, ref_how in css_references(response.text):
                target = self._note(ref, url, ref_how)
                if target:
                    self.asset(target, ref_how)
        elif 'javascript' in content_type or path.endswith(('.js', '.mjs')):
            # A classic script (<script src> without type=module) cannot hold `import` statements, only import().
            module = path.endswith('.mjs') or any(word in how for word in ('import', 'modulepreload', 'type=module'))
            for ref, ref_how in js_imports(response.text):
                if ref_how == 'js import' and not module:
                    continue
                target = self._module(ref, url, ref_how, strict=False)
                if target:
                    self.asset(target, ref_how)


def crawl_pages(client: httpx.Client, origin: str, paths: Iterable[str], crawler: Crawler | None = None) -> Crawler:
    """Crawl `paths` (each must answer 200) with one crawler; return it."""
    crawler = crawler or Crawler(client, origin)
    for path in paths:
        crawler.page(path)
    return crawler


def ensure_loopback_up() -> None:
    """Bring `lo` up if it is down (as in a fresh `unshare -n` namespace without ip(8)); needs CAP_NET_ADMIN."""
    import fcntl
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack('16sH14x', b'lo', 0)
        flags = struct.unpack('16sH14x', fcntl.ioctl(sock.fileno(), siocgifflags, request))[1]
        if not flags & iff_up:
            fcntl.ioctl(sock.fileno(), siocsifflags, struct.pack('16sH14x', b'lo', flags | iff_up))


def network_isolation() -> dict[str, Any]:
    """Which interfaces exist, and whether a connection to a public address fails at once (no route)."""
    interfaces = [name for _index, name in socket.if_nameindex()]
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(3)
    try:
        probe.connect(('192.0.2.1', 80))  # TEST-NET-1: never a real host
        outcome = 'connected'
    except OSError as error:
        outcome = errno.errorcode.get(error.errno or 0, str(error)) if error.errno else type(error).__name__
    finally:
        probe.close()
    return {'interfaces': interfaces, 'connect_public': outcome}


def run_probe(work_dir: Path) -> dict[str, Any]:
    """Start a server, set it up, sign in, open everything, call the API; return a summary."""
    began = time.monotonic()
    summary: dict[str, Any] = {'network': network_isolation()}
    server = livesrv.start_server(work_dir / 'data', network_audit=True)
    summary['server_start_seconds'] = round(server.started_in, 1)
    try:
        with livesrv.http_client(server.url) as client:
            setup = Crawler(client, server.url)
            setup.page('/setup')
            summary['before_setup'] = {
                'root': client.get('/', follow_redirects=False).headers.get('location'),
                'login': client.get('/login', follow_redirects=False).headers.get('location'),
            }
            livesrv.complete_setup(
                server.data_dir, org_name='Acme 离线', username=ADMIN, display_name=ADMIN_NAME, password=PASSWORD
            )
            livesrv.create_user(
                server.data_dir, admin=ADMIN, username=COLLEAGUE, display_name=COLLEAGUE_NAME, password=PASSWORD
            )
            livesrv.sign_in(client, server.data_dir, username=ADMIN, password=PASSWORD)
            crawler = crawl_pages(client, server.url, SIGNED_IN_PAGES, setup)
            crawler.page('/setup', expect_status=303)
            search = client.get('/search', params={'q': COLLEAGUE_NAME[1:]})
            summary['search_finds_colleague'] = f'{COLLEAGUE_NAME} ({COLLEAGUE})' in search.text
            summary['crawl'] = crawler.result.summary()

            token = livesrv.create_api_token(server.data_dir, username=ADMIN, name='offline probe')
            me = client.get('/api/v1/me', headers={'Authorization': f'Bearer {token}'})
            summary['api_me'] = {
                'status': me.status_code,
                'username': me.json().get('username') if me.status_code == 200 else None,
            }
            health = client.get('/healthz')
            summary['healthz'] = {'status': health.status_code, 'body': health.json()}
            logout = client.post('/auth/logout', follow_redirects=False)
            after = client.get('/', follow_redirects=False)
            summary['logout'] = {'status': logout.status_code, 'then_root': after.headers.get('location')}
        summary['server_alive'] = server.alive()
    finally:
        server.stop()
        log = server.log_text()
    summary['server_log_tail'] = log.splitlines()[-40:]
    summary['outbound_attempts'] = livesrv.outbound_attempts(log)
    summary['server_log_mentions_on_air'] = 'on air' in log.lower() or 'on-air' in log.lower()
    summary['seconds'] = round(time.monotonic() - began, 1)
    return summary


def main() -> None:
    """Run the probe in a temporary directory and print its JSON summary as the last line of stdout."""
    ensure_loopback_up()
    with tempfile.TemporaryDirectory(prefix='enclave-offline-') as directory:
        summary = run_probe(Path(directory))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == '__main__':
    main()
