"""GET /api/v1/notifications and the read routes: only one's own, in one's own language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from appliance.db import get_database
from appliance.models import Notification, User
from appliance.services import notifications
from appliance.services.notifications import safe_local_url
from tests.appliance.support import Keys, api_fixture, app_client_fixture, error_of, keys_fixture  # noqa: F401
from tests.conftest import People

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def _notify(people: People, user: User, title: str) -> int:
    with get_database().session() as session:
        actor = session.get(User, people.alice.id)
        notifications.notify(
            session, user_ids=[user.id], module='tasks', kind='commented', title=title, url='/tasks/1', actor=actor
        )
        return session.scalars(select(Notification.id).order_by(Notification.id.desc())).first() or 0


def test_it_lists_only_the_callers_notifications(api: TestClient, keys: Keys, people: People) -> None:
    _notify(people, people.bob, 'WEB-1 One')
    _notify(people, people.bob, 'WEB-2 Two')
    _notify(people, people.charlie, 'OPS-1 Secret')
    body = api.get('/api/v1/notifications', headers=keys.bob).json()
    assert [item['title'] for item in body['items']] == ['WEB-2 Two', 'WEB-1 One']
    assert body['items'][0]['text'] == 'Alice Admin commented on WEB-2 Two'
    assert (body['total'], body['unread'], body['items'][0]['read']) == (2, 2, False)
    assert 'Secret' not in str(body)


def test_it_marks_one_and_all_read_but_never_someone_elses(api: TestClient, keys: Keys, people: People) -> None:
    first = _notify(people, people.bob, 'WEB-1 One')
    _notify(people, people.bob, 'WEB-2 Two')
    charlies = _notify(people, people.charlie, 'OPS-1 Secret')
    assert error_of(api.post(f'/api/v1/notifications/{charlies}/read', headers=keys.bob), 404)
    assert api.post(f'/api/v1/notifications/{first}/read', headers=keys.bob).status_code == 204
    assert api.get('/api/v1/notifications?unread_only=true', headers=keys.bob).json()['total'] == 1
    assert api.post('/api/v1/notifications/read-all', headers=keys.bob).json() == {'marked': 1}
    charlie = api.get('/api/v1/notifications', headers=keys.charlie).json()
    assert (charlie['unread'], charlie['items'][0]['read']) == (1, False)


def test_it_speaks_the_users_language(api: TestClient, keys: Keys, people: People) -> None:
    with get_database().session() as session:
        session.execute(update(User).where(User.id == people.bob.id).values(language='zh_CN'))
    _notify(people, people.bob, 'WEB-1 One')
    text = api.get('/api/v1/notifications', headers=keys.bob).json()['items'][0]['text']
    from appliance import i18n

    msgid = '{actor} commented on {title}'
    assert text == i18n.catalog('zh_CN').get(msgid, msgid).format(actor='Alice Admin', title='WEB-1 One')


def test_it_needs_a_signed_in_caller(api: TestClient) -> None:
    assert error_of(api.get('/api/v1/notifications'), 401)
    assert error_of(api.post('/api/v1/notifications/read-all'), 401)


def test_it_only_follows_local_links() -> None:
    assert safe_local_url('/tasks/4#comment-2') == '/tasks/4#comment-2'
    for bad in ('https://evil.example', '//evil.example', '/\\evil', 'javascript:alert(1)'):
        assert safe_local_url(bad) == '/notifications'
