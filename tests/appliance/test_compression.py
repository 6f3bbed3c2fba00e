"""Gzip for text only: a browser's Accept-Encoding: gzip never makes the server compress a download."""

from __future__ import annotations

import asyncio
import gzip
import os

import pytest
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipResponder
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from appliance.app import run_kwargs
from appliance.config import get_settings
from appliance.web.compression import TextGZipMiddleware, compressible

TEXT = ('<p>' + 'hello world ' * 400 + '</p>').encode()
BINARY = os.urandom(200_000)
BIG_PAGE = ''.join(f'<li data-n="{n}">task {n * 7919 % 100_003}</li>' for n in range(2600)).encode()  # ~80 KiB


def running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def page(request: Request) -> Response:
    return Response(TEXT, media_type='text/html; charset=utf-8')


def big_page(request: Request) -> Response:
    return Response(BIG_PAGE, media_type='text/html; charset=utf-8')


def data(request: Request) -> Response:
    return Response(b'{"items": [' + b'1,' * 2000 + b'1]}', media_type='application/json')


def attachment(request: Request) -> Response:
    return Response(BINARY, media_type='application/octet-stream')


def text_download(request: Request) -> Response:
    headers = {'Content-Disposition': 'attachment; filename="notes.txt"'}
    return Response(TEXT, media_type='text/plain', headers=headers)


def streamed(request: Request) -> StreamingResponse:
    return StreamingResponse(iter([BINARY[:100_000], BINARY[100_000:]]), media_type='application/pdf')


@pytest.fixture
def client() -> TestClient:
    routes = [
        Route(path, view)
        for path, view in (('/page', page), ('/data', data), ('/file', attachment), ('/big', big_page))
    ]
    routes += [Route('/download.txt', text_download), Route('/stream', streamed)]
    app = Starlette(routes=routes)
    return TestClient(TextGZipMiddleware(app))


@pytest.mark.parametrize('path', ['/page', '/data', '/big'])
def test_it_compresses_text_for_a_browser_that_asks(client: TestClient, path: str) -> None:
    response = client.get(path, headers={'Accept-Encoding': 'gzip'})
    assert response.headers['content-encoding'] == 'gzip'
    assert int(response.headers['content-length']) < len(response.content)  # the body was decoded by the client
    assert response.headers['vary'] == 'Accept-Encoding'


def test_a_big_page_is_compressed_off_the_event_loop_and_arrives_whole(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body beyond THREAD_MINIMUM_SIZE is compressed on a thread (zlib lets go of the GIL meanwhile), a small one
    where it is."""
    threads: list[str] = []
    compress = GZipResponder._compress_body

    def recorded(self: GZipResponder, body: bytes, more_body: bool) -> bytes:
        threads.append('loop' if running_loop() else 'thread')
        return compress(self, body, more_body)

    monkeypatch.setattr(GZipResponder, '_compress_body', recorded)
    assert len(BIG_PAGE) > TextGZipMiddleware.THREAD_MINIMUM_SIZE > len(TEXT)
    response = client.get('/big', headers={'Accept-Encoding': 'gzip'})
    assert response.content == BIG_PAGE
    assert threads == ['thread']
    assert client.get('/page', headers={'Accept-Encoding': 'gzip'}).content == TEXT
    assert threads == ['thread', 'loop']
    assert int(response.headers['content-length']) < len(BIG_PAGE) // 3


@pytest.mark.parametrize(('path', 'body'), [('/file', BINARY), ('/download.txt', TEXT), ('/stream', BINARY)])
def test_it_sends_downloads_byte_for_byte(client: TestClient, path: str, body: bytes) -> None:
    response = client.get(path, headers={'Accept-Encoding': 'gzip'})
    assert 'content-encoding' not in response.headers
    assert response.content == body


def test_it_leaves_everything_alone_without_accept_encoding(client: TestClient) -> None:
    response = client.get('/page', headers={'Accept-Encoding': 'identity'})
    assert 'content-encoding' not in response.headers and response.content == TEXT
    assert gzip.compress(TEXT)  # the test's text does compress: the case above is a choice, not an accident


@pytest.mark.parametrize(
    ('content_type', 'disposition', 'expected'),
    [
        ('text/html; charset=utf-8', '', True),
        ('text/css', '', True),
        ('application/javascript', '', True),
        ('image/svg+xml', '', True),
        ('text/plain', 'attachment; filename="a.txt"', False),
        ('application/octet-stream', '', False),
        ('application/pdf', '', False),
        ('image/png', '', False),
        ('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'inline', False),
        ('', '', False),
    ],
)
def test_only_text_served_for_reading_is_compressible(content_type: str, disposition: str, expected: bool) -> None:
    assert compressible(content_type, disposition) is expected


def test_the_app_runs_with_it(data_dir: object) -> None:
    assert run_kwargs(get_settings())['gzip_middleware_factory'] is TextGZipMiddleware
