"""Attachments over HTTP: streamed uploads (PUT raw, POST form), limits, safe downloads, deletes, the outsider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from sqlalchemy import select

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.db import get_database
from appliance.models import BlobRef
from modules.tasks.models import Attachment
from modules.tasks.services.attachments import clean_content_type, clean_filename
from tests.appliance.support import (  # noqa: F401 - fixtures
    api_fixture,
    app_client_fixture,
    bearer,
    error_of,
    sign_in_url,
)
from tests.conftest import make_token, make_user
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture
def task_id(team: Team) -> int:
    project = make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})
    return make_task(project=project).id


@pytest.fixture
def tokens(team: Team) -> Iterator[dict[str, dict[str, str]]]:
    yield {name: bearer(make_token(getattr(team, name))) for name in ('bob', 'charlie', 'dave')}


def _rows() -> list[Attachment]:
    with get_database().session() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


def _refs() -> list[tuple[str, str]]:
    with get_database().session() as session:
        return [(r.owner, r.owner_id) for r in session.scalars(select(BlobRef).order_by(BlobRef.id))]


def test_it_streams_an_upload_and_downloads_it_with_its_chinese_name(
    api: TestClient, task_id: int, tokens: dict[str, dict[str, str]]
) -> None:
    data = bytes(range(256)) * 5000
    name = '项目 计划.pdf'
    response = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename={quote(name)}',
        content=data,
        headers={**tokens['dave'], 'Content-Type': 'application/pdf; charset=binary'},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body['filename'], body['size'], body['content_type']) == (name, len(data), 'application/pdf')
    assert body['uploaded_by']['username'] == 'dave'
    assert _refs() == [('tasks.attachment', str(body['id']))]

    download = api.get(body['url'], headers=tokens['bob'])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers['x-content-type-options'] == 'nosniff'
    disposition = download.headers['content-disposition']
    assert disposition.startswith('attachment; ')
    assert "filename*=UTF-8''%E9%A1%B9%E7%9B%AE%20%E8%AE%A1%E5%88%92.pdf" in disposition
    assert download.headers['content-type'] == 'application/octet-stream'  # a PDF would open inline

    listing = api.get(f'/api/v1/tasks/{task_id}/attachments', headers=tokens['bob']).json()
    assert [(item['id'], item['can_delete']) for item in listing] == [(body['id'], True)]


def test_it_never_serves_html_inline(api: TestClient, task_id: int, tokens: dict[str, dict[str, str]]) -> None:
    response = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename=../../evil%0A.html',
        content=b'<script>alert(1)</script>',
        headers={**tokens['dave'], 'Content-Type': 'text/html'},
    )
    assert response.status_code == 201, response.text
    assert response.json()['filename'] == 'evil.html'
    download = api.get(response.json()['url'], headers=tokens['dave'])
    assert download.headers['content-type'] == 'application/octet-stream'
    assert download.headers['content-disposition'].startswith('attachment;')


def test_it_refuses_a_file_over_the_limit_with_413_and_keeps_nothing(
    api: TestClient, task_id: int, tokens: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('ENCLAVE_MAX_UPLOAD_MB', '1')
    get_settings.cache_clear()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while streaming
        for _ in range(5):
            yield b'x' * 300_000

    response = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename=big.bin', content=chunks(), headers=tokens['dave']
    )
    error = error_of(response, 413)
    assert 'larger than the limit of 1.0 MiB' in error['message']
    declared = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename=big.bin',
        content=b'x' * (1024 * 1024 + 1),
        headers=tokens['dave'],
    )
    assert error_of(declared, 413)['code'] == 'too_large'
    assert _rows() == [] and _refs() == []
    assert get_blobstore().usage() == (0, 0)
    assert list((get_settings().data_dir / 'blobs' / 'tmp').iterdir()) == []


def test_it_accepts_a_multipart_form_upload(api: TestClient, task_id: int, tokens: dict[str, dict[str, str]]) -> None:
    response = api.post(
        f'/api/v1/tasks/{task_id}/attachments',
        files={'file': ('报告.txt', b'hello', 'text/plain')},
        headers=tokens['dave'],
    )
    assert response.status_code == 201, response.text
    assert (response.json()['filename'], response.json()['size']) == ('报告.txt', 5)
    assert api.get(response.json()['url'], headers=tokens['dave']).content == b'hello'


def test_it_accepts_the_session_cookie_only_from_the_same_origin(api: TestClient, task_id: int, team: Team) -> None:
    assert api.get(sign_in_url('dave'), follow_redirects=False).status_code == 303
    url = f'/api/v1/tasks/{task_id}/attachments?filename=a.txt'
    assert api.put(url, content=b'a', headers={'Origin': 'http://evil.example'}).status_code == 401
    assert api.put(url, content=b'a').status_code == 401  # no Origin at all
    response = api.put(url, content=b'a', headers={'Origin': 'http://test'})
    assert response.status_code == 201, response.text
    assert api.get(response.json()['url']).content == b'a'


def test_it_hides_files_from_the_outsider_and_refuses_viewers(
    api: TestClient, task_id: int, tokens: dict[str, dict[str, str]], team: Team
) -> None:
    uploaded = api.put(
        f'/api/v1/tasks/{task_id}/attachments?filename=secret.txt', content=b'secret', headers=tokens['dave']
    ).json()
    charlie = tokens['charlie']
    assert error_of(api.get(uploaded['url'], headers=charlie), 404)['code'] == 'not_found'
    assert error_of(api.get(f'/api/v1/attachments/{uploaded["id"] + 1}', headers=charlie), 404)
    assert error_of(api.get(f'/api/v1/tasks/{task_id}/attachments', headers=charlie), 404)
    assert error_of(api.delete(uploaded['url'], headers=charlie), 404)
    put = api.put(f'/api/v1/tasks/{task_id}/attachments?filename=x.txt', content=b'x', headers=charlie)
    assert error_of(put, 404)
    vera = make_user(username='vera', roles=['member'])
    with get_database().session() as session:
        from modules.projects.models import Member
        from modules.tasks.models import Task

        task = session.get(Task, task_id)
        assert task is not None
        session.add(Member(project_id=task.project_id, user_id=vera.id, role='viewer'))
    viewer = bearer(make_token(vera))
    assert api.get(uploaded['url'], headers=viewer).content == b'secret'
    put = api.put(f'/api/v1/tasks/{task_id}/attachments?filename=x.txt', content=b'x', headers=viewer)
    assert error_of(put, 403)
    assert error_of(api.delete(uploaded['url'], headers=viewer), 403)
    assert [row.filename for row in _rows()] == ['secret.txt']
    assert get_blobstore().usage()[0] == 1


def test_it_deletes_a_file_and_its_reference(api: TestClient, task_id: int, tokens: dict[str, dict[str, str]]) -> None:
    first = api.put(f'/api/v1/tasks/{task_id}/attachments?filename=a.txt', content=b'same', headers=tokens['dave'])
    second = api.put(f'/api/v1/tasks/{task_id}/attachments?filename=b.txt', content=b'same', headers=tokens['bob'])
    assert len(_refs()) == 2
    assert error_of(api.delete(second.json()['url'], headers=tokens['dave']), 403)  # bob's file, dave no manager
    assert api.delete(first.json()['url'], headers=tokens['dave']).status_code == 204
    assert _refs() == [('tasks.attachment', str(second.json()['id']))]
    assert api.delete(second.json()['url'], headers=tokens['bob']).status_code == 204
    assert _rows() == [] and _refs() == []
    assert error_of(api.get(first.json()['url'], headers=tokens['dave']), 404)


@pytest.mark.parametrize(
    ('raw', 'clean'),
    [
        ('C:\\Users\\bob\\report.docx', 'report.docx'),
        ('../../etc/passwd', 'passwd'),
        ('a\x00b\x1fc\u202e.txt', 'abc.txt'),
        ('', 'file'),
        ('..', 'file'),
        ('名' * 300 + '.txt', '名' * 251 + '.txt'),
    ],
)
def test_it_cleans_file_names(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ('raw', 'clean'),
    [
        ('image/PNG; charset=x', 'image/png'),
        ('text/html\r\nX-Evil: 1', 'application/octet-stream'),
        (None, 'application/octet-stream'),
        ('nonsense', 'application/octet-stream'),
    ],
)
def test_it_cleans_content_types(raw: str | None, clean: str) -> None:
    assert clean_content_type(raw) == clean
