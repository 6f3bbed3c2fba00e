"""Comments and time entries over the REST API: members use them, the outsider gets 404 and changes nothing."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest

from appliance.db import get_database
from appliance.models import Notification
from modules.tasks.models import Comment, TimeEntry
from tests.appliance.support import api_fixture, app_client_fixture, bearer, count, error_of  # noqa: F401 - fixtures
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture
def task_id(team: Team) -> int:
    project = make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})
    return make_task(project=project, title='Fix the login').id


def test_it_comments_edits_and_deletes_over_the_api(api: TestClient, team: Team, task_id: int) -> None:
    bob, dave = bearer(make_token(team.bob)), bearer(make_token(team.dave))
    created = api.post(f'/api/v1/tasks/{task_id}/comments', json={'body': 'Hi @dave, **look**'}, headers=bob)
    assert created.status_code == 201, created.text
    comment = created.json()
    assert (comment['author']['username'], comment['can_edit']) == ('bob', True)
    assert '<strong>look</strong>' in comment['html']
    assert count(Notification, Notification.user_id == team.dave.id) == 1
    assert error_of(api.patch(f'/api/v1/comments/{comment["id"]}', json={'body': 'x'}, headers=dave), 403)
    edited = api.patch(f'/api/v1/comments/{comment["id"]}', json={'body': 'edited'}, headers=bob).json()
    assert edited['body'] == 'edited' and edited['edited_at'] is not None
    listed = api.get(f'/api/v1/tasks/{task_id}/comments', headers=dave).json()
    assert [(c['body'], c['can_edit']) for c in listed] == [('edited', False)]
    assert error_of(api.post(f'/api/v1/tasks/{task_id}/comments', json={'body': ' '}, headers=bob), 422)
    assert api.delete(f'/api/v1/comments/{comment["id"]}', headers=bob).status_code == 204
    assert count(Comment) == 0


def test_it_logs_and_deletes_time_over_the_api(api: TestClient, team: Team, task_id: int) -> None:
    dave = bearer(make_token(team.dave))
    logged = api.post(f'/api/v1/tasks/{task_id}/time-entries', json={'day': '2026-01-05', 'hours': 1.5}, headers=dave)
    assert logged.status_code == 201, logged.text
    assert (logged.json()['hours'], logged.json()['day']) == ('1.50', '2026-01-05')
    too_much = api.post(f'/api/v1/tasks/{task_id}/time-entries', json={'day': '2026-01-05', 'hours': 25}, headers=dave)
    assert error_of(too_much, 422)['field'] == 'hours'
    assert [e['id'] for e in api.get(f'/api/v1/tasks/{task_id}/time-entries', headers=dave).json()] == [
        logged.json()['id']
    ]
    assert api.delete(f'/api/v1/time-entries/{logged.json()["id"]}', headers=dave).status_code == 204
    assert count(TimeEntry) == 0


def test_it_refuses_every_collaboration_route_to_the_outsider(api: TestClient, team: Team, task_id: int) -> None:
    bob, charlie = bearer(make_token(team.bob)), bearer(make_token(team.charlie))
    comment = api.post(f'/api/v1/tasks/{task_id}/comments', json={'body': 'secret'}, headers=bob).json()
    entry = api.post(
        f'/api/v1/tasks/{task_id}/time-entries', json={'day': date.today().isoformat(), 'hours': 1}, headers=bob
    ).json()
    for response in (
        api.get(f'/api/v1/tasks/{task_id}/comments', headers=charlie),
        api.post(f'/api/v1/tasks/{task_id}/comments', json={'body': 'hi'}, headers=charlie),
        api.patch(f'/api/v1/comments/{comment["id"]}', json={'body': 'x'}, headers=charlie),
        api.delete(f'/api/v1/comments/{comment["id"]}', headers=charlie),
        api.get(f'/api/v1/tasks/{task_id}/time-entries', headers=charlie),
        api.post(f'/api/v1/tasks/{task_id}/time-entries', json={'day': '2026-01-05', 'hours': 1}, headers=charlie),
        api.delete(f'/api/v1/time-entries/{entry["id"]}', headers=charlie),
    ):
        assert 'secret' not in error_of(response, 404)['message']
    with get_database().session() as session:
        assert [c.body for c in session.query(Comment)] == ['secret']
    assert count(TimeEntry) == 1
    assert count(Notification, Notification.user_id == team.charlie.id) == 0
