"""Time tracking: hours and days validated, viewers and outsiders refused, managers log for members."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from appliance.db import get_database
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import User
from modules.projects.models import Activity
from modules.tasks.models import TimeEntry
from modules.tasks.services import timelog
from tests.conftest import make_user
from tests.modules.conftest import Team, make_project, make_task


def _actor(user: User) -> User:
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        session.expunge(actor)
        return actor


def _log(user: User, task_id: int, hours: object, day: date | None = None, **kw: object) -> int:
    with get_database().session() as session:
        entry = timelog.log_time(
            session=session, actor=_actor(user), task_id=task_id, day=day or date.today(), hours=hours, **kw
        )
        return entry.id


def _entries() -> list[tuple[int | None, Decimal, str]]:
    with get_database().session() as session:
        return [(e.user_id, e.hours, e.note) for e in session.scalars(select(TimeEntry).order_by(TimeEntry.id))]


@pytest.fixture
def task_id(team: Team) -> int:
    vera = make_user(username='vera', roles=['member'])
    project = make_project(members={team.bob.id: 'manager', team.dave.id: 'member', vera.id: 'viewer'})
    return make_task(project=project).id


def test_it_logs_hours_rounded_to_two_places_and_sums_them(team: Team, task_id: int) -> None:
    _log(team.dave, task_id, '1,5', note='  review  ')
    _log(team.dave, task_id, 0.333, day=date.today() - timedelta(days=1))
    assert _entries() == [(team.dave.id, Decimal('1.50'), 'review'), (team.dave.id, Decimal('0.33'), '')]
    with get_database().session() as session:
        assert timelog.logged_hours(session, [task_id, 999]) == {task_id: Decimal('1.83')}
        views = timelog.list_time(session=session, actor=_actor(team.dave), task_id=task_id)
        assert [v.day for v in views] == [date.today(), date.today() - timedelta(days=1)]
        assert all(v.can_delete for v in views)
        assert session.scalars(select(Activity.action)).all() == ['time.logged', 'time.logged']


@pytest.mark.parametrize(
    ('hours', 'day', 'note', 'field'),
    [
        (0, None, '', 'hours'),
        (-1, None, '', 'hours'),
        (24.01, None, '', 'hours'),
        ('abc', None, '', 'hours'),
        ('nan', None, '', 'hours'),
        (1, date.today() + timedelta(days=2), '', 'day'),
        (1, date(1999, 12, 31), '', 'day'),
        (1, None, 'x' * 501, 'note'),
    ],
)
def test_it_refuses_bad_entries(
    team: Team, task_id: int, hours: object, day: date | None, note: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _log(team.dave, task_id, hours, day=day, note=note)
    assert caught.value.field == field
    assert _entries() == []


def test_it_accepts_24_hours_on_the_first_day_of_2000(team: Team, task_id: int) -> None:
    _log(team.dave, task_id, 24, day=date(2000, 1, 1))
    assert _entries() == [(team.dave.id, Decimal('24.00'), '')]


def test_it_lets_a_manager_log_for_a_member_but_not_a_member_for_another(team: Team, task_id: int) -> None:
    _log(team.bob, task_id, 2, user_id=team.dave.id)
    with pytest.raises(PermissionDenied):
        _log(team.dave, task_id, 2, user_id=team.bob.id)
    with pytest.raises(ValidationError):
        _log(team.bob, task_id, 2, user_id=team.charlie.id)  # not a member
    assert _entries() == [(team.dave.id, Decimal('2.00'), '')]


def test_it_refuses_viewers_and_outsiders(team: Team, task_id: int) -> None:
    with get_database().session() as session:
        vera = session.scalars(select(User).where(User.username == 'vera')).one()
        session.expunge(vera)
    with pytest.raises(PermissionDenied):
        _log(vera, task_id, 1)
    entry = _log(team.dave, task_id, 1)
    with pytest.raises(NotFound):
        _log(team.charlie, task_id, 1)
    for call in (
        lambda s: timelog.list_time(session=s, actor=_actor(team.charlie), task_id=task_id),
        lambda s: timelog.delete_time(session=s, actor=_actor(team.charlie), entry_id=entry),
    ):
        with pytest.raises(NotFound), get_database().session() as session:
            call(session)
    with pytest.raises(PermissionDenied), get_database().session() as session:
        timelog.delete_time(session=session, actor=vera, entry_id=entry)
    assert len(_entries()) == 1


def test_it_lets_owners_and_managers_delete_entries(team: Team, task_id: int) -> None:
    own = _log(team.dave, task_id, 1)
    other = _log(team.bob, task_id, 1)
    with pytest.raises(PermissionDenied), get_database().session() as session:
        timelog.delete_time(session=session, actor=_actor(team.dave), entry_id=other)
    with get_database().session() as session:
        timelog.delete_time(session=session, actor=_actor(team.dave), entry_id=own)
    with get_database().session() as session:
        timelog.delete_time(session=session, actor=_actor(team.bob), entry_id=other)
    assert _entries() == []
