"""The personal iCalendar feed: secret URL shown once, revocable, correct iCalendar, access re-checked on read."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import User
from appliance.services import touches
from modules.projects.models import Member
from modules.tasks.models import Assignee, CalendarFeed, Task
from modules.tasks.services import ical
from tests.appliance.support import api_fixture, app_client_fixture, bearer, error_of  # noqa: F401 - fixtures
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def _actor(user: User) -> User:
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        session.expunge(actor)
        return actor


def _assign(task: Task, user: User) -> None:
    with get_database().session() as session:
        session.add(Assignee(task_id=task.id, user_id=user.id))


def _token(path: str) -> str:
    return path.rsplit('/', 1)[1].removesuffix('.ics')


def _feed(token: str) -> str | None:
    with get_database().session() as session:
        return ical.render_feed(session=session, token=token, site_url='https://enclave.example.lan')


def _unfold(text: str) -> list[str]:
    return text.replace('\r\n ', '').split('\r\n')


def test_it_lists_open_assigned_dated_tasks_as_all_day_events(team: Team) -> None:
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    mine = make_task(project=project, title='Plan, review; ship\\now\nplease', due_date=date(2026, 3, 10))
    for task in (
        make_task(project=project, title='Undated'),
        make_task(project=project, title='Done already', status='Done', due_date=date(2026, 3, 11)),
        make_task(project=project, title='Not mine', due_date=date(2026, 3, 12)),
    ):
        _assign(task, team.dave if task.title == 'Not mine' else team.bob)
    _assign(mine, team.bob)
    with get_database().session() as session:
        path = ical.create_feed(session=session, actor=_actor(team.bob))
    text = _feed(_token(path))
    assert text is not None and text.endswith('\r\n')
    assert '\n' not in text.replace('\r\n', '')  # CRLF only
    assert all(len(line.encode()) <= 75 for line in text.split('\r\n'))
    lines = _unfold(text)
    assert lines[0] == 'BEGIN:VCALENDAR' and lines[-2] == 'END:VCALENDAR'
    assert lines.count('BEGIN:VEVENT') == 1
    assert f'UID:task-{mine.id}@enclave' in lines
    assert 'DTSTART;VALUE=DATE:20260310' in lines and 'DTEND;VALUE=DATE:20260311' in lines
    assert 'SUMMARY:WEB-1 Plan\\, review\\; ship\\\\now\\nplease' in lines
    assert f'URL:https://enclave.example.lan/tasks/{mine.id}' in lines
    assert any(line.startswith('DTSTAMP:') and line.endswith('Z') for line in lines)
    with get_database().session() as session:
        (row,) = session.scalars(select(CalendarFeed))
        assert row.token_hash == hashlib.sha256(_token(path).encode()).hexdigest()
        assert _token(path) not in row.token_hash
        assert row.last_used_at is None  # noted, not yet written: a feed read is a read
    touches.flush_now()  # what the app does every few seconds
    with get_database().session() as session:
        assert session.scalars(select(CalendarFeed.last_used_at)).one() is not None


def test_it_folds_long_chinese_lines_without_splitting_a_character() -> None:
    line = 'SUMMARY:' + '项目管理' * 30
    folded = ical.fold(line)
    parts = folded.split('\r\n')
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(' ') for part in parts[1:])
    assert folded.replace('\r\n ', '') == line


def test_it_replaces_and_revokes_the_feed(team: Team) -> None:
    with get_database().session() as session:
        first = ical.create_feed(session=session, actor=_actor(team.bob))
    with get_database().session() as session:
        second = ical.create_feed(session=session, actor=_actor(team.bob))
    assert first != second
    assert _feed(_token(first)) is None
    assert _feed(_token(second)) is not None
    with get_database().session() as session:
        assert ical.revoke_feed(session=session, actor=_actor(team.bob)) is True
    assert _feed(_token(second)) is None
    with get_database().session() as session:
        assert ical.feed_status(session=session, actor=_actor(team.bob)).exists is False


def test_it_drops_tasks_of_a_project_the_user_was_removed_from(team: Team) -> None:
    project = make_project(members={team.charlie.id: 'member'})
    task = make_task(project=project, title='Secret launch', due_date=date(2026, 5, 1))
    _assign(task, team.charlie)
    with get_database().session() as session:
        path = ical.create_feed(session=session, actor=_actor(team.charlie))
    assert 'Secret launch' in (_feed(_token(path)) or '')
    with get_database().session() as session:
        session.delete(session.get(Member, (project.id, team.charlie.id)))
    text = _feed(_token(path))
    assert text is not None and 'Secret launch' not in text and 'BEGIN:VEVENT' not in text


@pytest.mark.parametrize('token', ['', 'x', 'a' * 43, '../../etc/passwd', 'Z' * 200])
def test_it_knows_no_guessed_token(team: Team, token: str) -> None:
    with get_database().session() as session:
        ical.create_feed(session=session, actor=_actor(team.bob))
    assert _feed(token) is None


def test_it_serves_the_feed_without_sign_in_and_404s_unknown_ones(api: TestClient, team: Team) -> None:
    project = make_project(members={team.bob.id: 'member'})
    task = make_task(project=project, title='Ship', due_date=date(2026, 3, 10))
    _assign(task, team.bob)
    bob = bearer(make_token(team.bob))
    created = api.post('/api/v1/calendar-feed', headers=bob)
    assert created.status_code == 201, created.text
    url = created.json()['url']
    assert url.startswith('http://test/api/v1/calendar/') and url.endswith('.ics')
    assert api.get('/api/v1/calendar-feed', headers=bob).json()['url'] is None  # shown once only
    feed = api.get(url.removeprefix('http://test'))
    assert feed.status_code == 200
    assert feed.headers['content-type'].startswith('text/calendar')
    assert 'SUMMARY:WEB-1 Ship' in feed.text
    assert error_of(api.get('/api/v1/calendar/' + 'A' * 43 + '.ics'), 404)
    assert api.delete('/api/v1/calendar-feed', headers=bob).status_code == 204
    assert error_of(api.get(url.removeprefix('http://test')), 404)
    assert error_of(api.post('/api/v1/calendar-feed'), 401)
