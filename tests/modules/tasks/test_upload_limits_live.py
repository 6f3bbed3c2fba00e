"""Uploads against a real server: the caller, the permission and the size are checked before the body is read.

A 300 MB body is streamed over a raw socket, a megabyte at a time; the test stops sending as soon as an answer
arrives and counts what it had sent by then. The server's TMPDIR is its own folder, watched while the body flows:
no temporary file may grow there (FastAPI's form parsing would spool the whole body to it first).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_token, make_user
from tests.livesrv import HOST, LiveServer, server_database, start_server
from tests.modules.conftest import make_project, make_task

TOTAL = 300 * 1024 * 1024
CHUNK = b'\0' * (1024 * 1024)
BOUNDARY = 'enclave-test-boundary'
LIMIT_MB = 2
# What may be sent before the answer arrives: socket buffers on both sides plus the server's first reads.
SENT_BEFORE_ANSWER = 40 * 1024 * 1024


@dataclass
class Box:
    server: LiveServer
    tmpdir: Path
    task_id: int
    member: str
    outsider: str
    project_id: int = 0


@pytest.fixture(scope='module')
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    work = tmp_path_factory.mktemp('uploads')
    tmpdir = work / 'server-tmp'
    tmpdir.mkdir()
    server = start_server(work / 'data', env={'TMPDIR': str(tmpdir), 'ENCLAVE_MAX_UPLOAD_MB': str(LIMIT_MB)})
    try:
        yield Box(server=server, tmpdir=tmpdir, task_id=0, member='', outsider='')
    finally:
        server.stop()


@pytest.fixture
def live(box: Box) -> Box:
    """The server with a project whose member is `member`; `outsider` has a token but is not in the project."""
    with server_database(box.server.data_dir):
        suffix = str(time.monotonic_ns())[-6:]
        member = make_user(username=f'm{suffix}', roles=['member'])
        outsider = make_user(username=f'o{suffix}', roles=['member'])
        project = make_project(key=f'P{suffix}', members={member.id: 'member'})
        task = make_task(project=project)
        return Box(box.server, box.tmpdir, task.id, make_token(member), make_token(outsider), project.id)


def _tmp_bytes(directory: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


@dataclass
class Sent:
    status: int
    sent: int
    seconds: float
    tmp_peak: int
    body: bytes


def send(box: Box, method: str, path: str, *, token: str = '', form: bool, declare_length: bool) -> Sent:
    """Stream a 300 MB body until the server answers; what came back and how much had been sent."""
    head = b''
    tail = b''
    content_type = 'application/octet-stream'
    if form:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f'\r\n--{BOUNDARY}--\r\n'.encode()
        content_type = f'multipart/form-data; boundary={BOUNDARY}'
    lines = [f'{method} {path} HTTP/1.1', f'Host: {HOST}:{box.server.port}', f'Content-Type: {content_type}']
    if token:
        lines.append(f'Authorization: Bearer {token}')
    lines.append(f'Content-Length: {len(head) + TOTAL + len(tail)}' if declare_length else 'Transfer-Encoding: chunked')
    peak = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tmp_bytes(box.tmpdir))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.monotonic()
    sent = 0
    with socket.create_connection((HOST, box.server.port), timeout=30) as sock:
        sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())

        def put(data: bytes) -> None:
            if not data:
                return  # an empty chunk would end a chunked body
            sock.sendall(f'{len(data):x}\r\n'.encode() + data + b'\r\n' if not declare_length else data)

        try:
            put(head)
            while sent < TOTAL:
                readable, _w, _x = select.select([sock], [], [], 0)
                if readable:
                    break
                put(CHUNK)
                sent += len(CHUNK)
            else:
                put(tail)
                if not declare_length:
                    sock.sendall(b'0\r\n\r\n')
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what matters is what it said
        answer = b''
        while b'\r\n\r\n' not in answer or len(answer) < answer.index(b'\r\n\r\n') + 4 + 10:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    seconds = time.monotonic() - began
    stop.set()
    watcher.join()
    status = int(answer.split(b' ', 2)[1]) if answer.startswith(b'HTTP/1.1 ') else 0
    return Sent(status, sent, seconds, peak[0], answer)


@pytest.mark.parametrize('declare_length', [True, False], ids=['content-length', 'chunked'])
@pytest.mark.parametrize('method', ['POST', 'PUT'])
def test_it_answers_an_anonymous_upload_with_401_before_reading_it(
    live: Box, method: str, declare_length: bool
) -> None:
    path = f'/api/v1/tasks/{live.task_id}/attachments' + ('?filename=big.bin' if method == 'PUT' else '')
    result = send(live, method, path, form=method == 'POST', declare_length=declare_length)
    assert result.status == 401, result.body[:300]
    assert result.sent < SENT_BEFORE_ANSWER, f'{result.sent / 2**20:.0f} MiB sent before the answer'
    assert result.tmp_peak < 1024 * 1024, f'{result.tmp_peak} bytes in the server temp dir'
    assert result.seconds < 10


@pytest.mark.parametrize('declare_length', [True, False], ids=['content-length', 'chunked'])
def test_it_answers_an_outsider_with_404_before_reading_the_form(live: Box, declare_length: bool) -> None:
    path = f'/api/v1/tasks/{live.task_id}/attachments'
    result = send(live, 'POST', path, token=live.outsider, form=True, declare_length=declare_length)
    assert result.status == 404, result.body[:300]
    assert result.sent < SENT_BEFORE_ANSWER
    assert result.tmp_peak < 1024 * 1024


@pytest.mark.parametrize('declare_length', [True, False], ids=['content-length', 'chunked'])
def test_it_answers_a_member_over_the_limit_with_413_without_reading_it_whole(live: Box, declare_length: bool) -> None:
    path = f'/api/v1/tasks/{live.task_id}/attachments'
    result = send(live, 'POST', path, token=live.member, form=True, declare_length=declare_length)
    assert result.status == 413, result.body[:300]
    assert b'"too_large"' in result.body
    assert result.sent < SENT_BEFORE_ANSWER
    assert result.tmp_peak < 1024 * 1024
    blob_tmp = live.server.data_dir / 'blobs' / 'tmp'
    assert not blob_tmp.exists() or _tmp_bytes(blob_tmp) == 0  # the spool of the refused upload is gone


def test_it_stores_a_streamed_form_upload_byte_for_byte(live: Box) -> None:
    import hashlib

    import httpx

    data = os.urandom(LIMIT_MB * 1024 * 1024 - 1000)  # just under the limit, many network chunks
    with httpx.Client(base_url=live.server.url, trust_env=False, timeout=30) as client:
        headers = {'Authorization': f'Bearer {live.member}'}
        response = client.post(
            f'/api/v1/tasks/{live.task_id}/attachments',
            files={'note': (None, 'ignored'), 'file': ('数据.bin', data, 'application/x-test')},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body['filename'], body['size'], body['content_type']) == ('数据.bin', len(data), 'application/x-test')
        download = client.get(body['url'], headers=headers)
        assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(data).hexdigest()
        missing = client.post(
            f'/api/v1/tasks/{live.task_id}/attachments', files={'other': ('a.txt', b'a')}, headers=headers
        )
        assert missing.status_code == 422 and missing.json()['error']['field'] == 'file'


@pytest.mark.parametrize('path', ['import/preview', 'import'])
def test_it_checks_a_csv_import_before_reading_it(live: Box, path: str) -> None:
    url = f'/api/v1/projects/{live.project_id}/{path}'
    outsider = send(live, 'POST', url, token=live.outsider, form=False, declare_length=True)
    assert outsider.status == 404, outsider.body[:300]
    assert outsider.sent < SENT_BEFORE_ANSWER
    member = send(live, 'POST', url, token=live.member, form=False, declare_length=True)
    assert member.status == 422 and b'larger than 20 MB' in member.body, member.body[:400]
    assert member.sent < SENT_BEFORE_ANSWER


@pytest.mark.parametrize('form', [True, False], ids=['form', 'raw'])
def test_it_forgets_an_upload_cut_short_without_a_traceback(live: Box, form: bool) -> None:
    path = f'/api/v1/tasks/{live.task_id}/attachments' + ('' if form else '?filename=cut.bin')
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n'.encode()
        if form
        else b''
    )
    content_type = f'multipart/form-data; boundary={BOUNDARY}' if form else 'application/octet-stream'
    before = live.server.log_text().count('Traceback')
    with socket.create_connection((HOST, live.server.port), timeout=30) as sock:
        sock.sendall(
            f'{"POST" if form else "PUT"} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {live.member}\r\n'
            f'Content-Type: {content_type}\r\nContent-Length: {1024 * 1024}\r\n\r\n'.encode()
            + head
            + b'x' * 100_000
        )
        time.sleep(0.5)
    blob_tmp = live.server.data_dir / 'blobs' / 'tmp'
    deadline = time.monotonic() + 10
    while blob_tmp.exists() and any(blob_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not blob_tmp.exists() or not any(blob_tmp.iterdir())
    time.sleep(0.5)
    assert live.server.log_text().count('Traceback') == before, live.server.log_text()[-3000:]
