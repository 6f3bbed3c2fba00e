"""`bulk_insert` stores exactly what the ORM would: time zones, dates, decimals, NULLs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import String, Table, select

from appliance.db import bulk_insert, get_database
from appliance.models import Notification
from modules.projects.models import Project
from modules.tasks.models import Status, Task
from tests.conftest import People


def test_it_stores_what_the_orm_reads_back(people: People) -> None:
    shanghai = timezone(timedelta(hours=8))
    created = datetime(2026, 11, 29, 20, 30, 5, 123456, tzinfo=shanghai)
    with get_database().session() as session:
        project = Project(key='BLK', name='Bulk')
        session.add(project)
        session.flush()
        status = Status(project_id=project.id, name='To do')
        session.add(status)
        session.flush()
        table = Task.__table__
        assert isinstance(table, Table)
        bulk_insert(
            session,
            table,
            [
                {
                    'project_id': project.id,
                    'number': n,
                    'status_id': status.id,
                    'position': n * 1024,
                    'title': f'任务 {n}',
                    'description': '',
                    'priority': 'normal',
                    'due_date': date(2027, 1, n) if n == 1 else None,
                    'estimate_hours': Decimal('1.25') if n == 1 else None,
                    'created_at': created,
                    'updated_at': created,
                }
                for n in (1, 2)
            ],
        )
        notes = Notification.__table__
        assert isinstance(notes, Table)
        bulk_insert(
            session,
            notes,
            [
                {
                    'user_id': people.bob.id,
                    'module': 'x',
                    'kind': 'k',
                    'title': 't',
                    'created_at': created,
                    'read_at': None,
                }
            ],
        )
    with get_database().session() as session:
        first, second = session.scalars(select(Task).order_by(Task.number)).all()
        assert (first.title, first.due_date, first.estimate_hours) == ('任务 1', date(2027, 1, 1), Decimal('1.25'))
        assert (second.due_date, second.estimate_hours) == (None, None)
        assert first.created_at == created and first.created_at.tzinfo is not None
        note = session.scalars(select(Notification)).one()
        assert note.created_at == created.astimezone(UTC) and note.read_at is None


def test_it_writes_datetimes_as_the_orm_does_so_range_queries_agree(people: People) -> None:
    """On SQLite datetimes are text: a whole-second value must still carry `.000000`, or `>=` misses it."""
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    with get_database().session() as session:
        table = Notification.__table__
        assert isinstance(table, Table)
        bulk_insert(
            session,
            table,
            [{'user_id': people.bob.id, 'module': 'core', 'kind': 'test', 'title': 'bulk', 'created_at': moment}],
        )
        session.add(Notification(user_id=people.bob.id, module='core', kind='test', title='orm', created_at=moment))
        session.flush()
        found = session.scalars(select(Notification.title).where(Notification.created_at >= moment)).all()
        raw = [row[0] for row in session.execute(select(table.c.created_at.cast(String)))]
    assert sorted(found) == ['bulk', 'orm']
    if get_database().engine.dialect.name == 'sqlite':
        assert len(set(raw)) == 1
