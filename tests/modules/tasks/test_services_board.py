"""Tasks services: drag-and-drop order, the board, the list, my tasks and the calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from appliance.db import get_database
from appliance.errors import ValidationError
from modules.projects.models import Activity
from modules.tasks import services
from modules.tasks.models import Task
from modules.tasks.views import TaskFilter
from tests.appliance.support import count
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.support import run


@pytest.fixture
def web(team: Team) -> Any:
    return make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})


def column(status_id: int) -> list[str]:
    with get_database().session() as session:
        stmt = select(Task.title).where(Task.status_id == status_id).order_by(Task.position, Task.id)
        return list(session.scalars(stmt))


def board_titles(actor: Any, project_id: int, **kwargs: Any) -> list[list[str]]:
    result = run(services.board, actor=actor, project_id=project_id, **kwargs)
    return [[card.title for card in col.cards] for col in result.columns]


def test_it_moves_cards_to_the_top_between_the_bottom_and_another_column(team: Team, web: Any) -> None:
    todo, doing, _done = statuses_of(web.id)
    a, b, c = (make_task(project=web, title=t) for t in 'abc')
    run(services.move_task, actor=team.dave, task_id=c.id, status_id=todo.id)
    assert column(todo.id) == ['c', 'a', 'b']
    run(services.move_task, actor=team.dave, task_id=c.id, status_id=todo.id, after_id=a.id)
    assert column(todo.id) == ['a', 'c', 'b']
    run(services.move_task, actor=team.dave, task_id=a.id, status_id=todo.id, after_id=b.id)
    assert column(todo.id) == ['c', 'b', 'a']
    run(services.move_task, actor=team.dave, task_id=b.id, status_id=doing.id)
    run(services.move_task, actor=team.dave, task_id=a.id, status_id=doing.id, after_id=b.id)
    assert (column(todo.id), column(doing.id)) == (['c'], ['b', 'a'])
    assert board_titles(team.bob, web.id) == [['c'], ['b', 'a'], []]
    with get_database().session() as session:
        moved = session.scalars(select(Activity.details).where(Activity.action == 'task.moved')).all()
    assert len(moved) == 2 and '"from_status": "To do"' in moved[0] and '"to_status": "In progress"' in moved[0]


def test_it_renumbers_a_column_when_the_gaps_run_out(team: Team, web: Any) -> None:
    todo = statuses_of(web.id)[0]
    tasks = [make_task(project=web, title=str(n)) for n in range(5)]
    # Always drop the last card right under the first: the gap above halves each time until none is left.
    expected = [str(n) for n in range(5)]
    for _ in range(14):
        last = expected.pop()
        expected.insert(1, last)
        run(
            services.move_task,
            actor=team.dave,
            task_id=int(tasks[int(last)].id),
            status_id=todo.id,
            after_id=tasks[0].id,
        )
        assert column(todo.id) == expected
    for _ in range(12):  # and to the top, whose gap to zero runs out too
        last = expected.pop()
        expected.insert(0, last)
        run(services.move_task, actor=team.dave, task_id=int(tasks[int(last)].id), status_id=todo.id)
        assert column(todo.id) == expected
    with get_database().session() as session:
        positions = list(session.scalars(select(Task.position).where(Task.status_id == todo.id)))
    assert len(set(positions)) == 5 and min(positions) > 0


def test_it_renumbers_tied_positions(team: Team, web: Any) -> None:
    todo = statuses_of(web.id)[0]
    a, _b, c = (make_task(project=web, title=t) for t in 'abc')
    with get_database().session() as session:
        session.execute(update(Task).values(position=5))
    run(services.move_task, actor=team.dave, task_id=c.id, status_id=todo.id, after_id=a.id)
    assert column(todo.id) == ['a', 'c', 'b']


def test_it_refuses_a_drop_after_a_card_of_another_column_and_changes_nothing(team: Team, web: Any) -> None:
    todo, doing, _ = statuses_of(web.id)
    a = make_task(project=web, title='a')
    b = make_task(project=web, title='b', status='In progress')
    for after in (b.id, a.id, 999_999):
        with pytest.raises(ValidationError) as caught:
            run(services.move_task, actor=team.dave, task_id=a.id, status_id=todo.id, after_id=after)
        assert caught.value.field == 'after_id'
    assert (column(todo.id), column(doing.id)) == (['a'], ['b'])


def test_it_paginates_board_columns_with_totals_and_filters(team: Team, web: Any) -> None:
    for n in range(7):
        make_task(project=web, title=f't{n}', priority='high' if n % 2 else 'low')
    make_task(project=web, title='done', status='Done')
    result = run(services.board, actor=team.dave, project_id=web.id, per_column=3)
    assert [(len(c.cards), c.total) for c in result.columns] == [(3, 7), (0, 0), (1, 1)]
    assert result.can_edit and result.project_key == 'WEB'
    assert result.columns[0].cards[0].ref == 'WEB-1'
    more = run(
        services.column_page,
        actor=team.dave,
        project_id=web.id,
        status_id=result.columns[0].status.id,
        offset=3,
        limit=3,
    )
    assert [c.title for c in more.cards] == ['t3', 't4', 't5'] and more.total == 7
    high = run(services.board, actor=team.dave, project_id=web.id, filters=TaskFilter(priority='high'))
    assert [c.total for c in high.columns] == [3, 0, 0]


def test_it_lists_filters_sorts_and_paginates(team: Team, web: Any) -> None:
    label = run(services.create_label, actor=team.bob, project_id=web.id, name='bug')
    ids = []
    for n, (title, due) in enumerate(
        [
            ('项目管理 plan', date(2030, 1, 3)),
            ('Write docs', date(2030, 1, 1)),
            ('项 single', None),
            ('Ship it', date(2030, 2, 1)),
        ]
    ):
        task = run(
            services.create_task,
            actor=team.bob,
            project_id=web.id,
            title=title,
            due_date=due,
            priority=('low', 'urgent', 'normal', 'high')[n],
        )
        ids.append(task.id)
    run(
        services.update_task,
        actor=team.bob,
        task_id=ids[1],
        changes={'assignee_ids': [team.dave.id], 'label_ids': [label.id]},
    )
    run(services.move_task, actor=team.bob, task_id=ids[3], status_id=statuses_of(web.id)[2].id)

    def titles(**kwargs: Any) -> list[str]:
        page = run(services.list_tasks, actor=team.dave, filters=TaskFilter(project_id=web.id, **kwargs))
        return [card.title for card in page.items]

    assert titles() == ['项目管理 plan', 'Write docs', '项 single', 'Ship it']
    assert titles(sort='due') == ['Write docs', '项目管理 plan', 'Ship it', '项 single']
    assert titles(sort='due', descending=True) == ['Ship it', '项目管理 plan', 'Write docs', '项 single']
    assert titles(sort='priority') == ['项目管理 plan', '项 single', 'Ship it', 'Write docs']
    assert titles(sort='ref', descending=True)[0] == 'Ship it'
    assert titles(text='项目') == ['项目管理 plan']
    assert titles(text='项') == ['项目管理 plan', '项 single']
    assert titles(text='DOC') == ['Write docs']
    assert titles(text='web-2') == ['Write docs']
    assert titles(assignee_id=team.dave.id) == titles(label_id=label.id) == ['Write docs']
    assert titles(open_only=True) == ['项目管理 plan', 'Write docs', '项 single']
    assert titles(due_from=date(2030, 1, 2), due_to=date(2030, 1, 31)) == ['项目管理 plan']
    assert titles(priority='urgent') == ['Write docs']
    page = run(services.list_tasks, actor=team.dave, filters=TaskFilter(project_id=web.id), offset=1, limit=2)
    assert (page.total, [c.title for c in page.items]) == (4, ['Write docs', '项 single'])
    card = run(services.list_tasks, actor=team.dave, filters=TaskFilter(assignee_id=team.dave.id)).items[0]
    assert (card.ref, [p.username for p in card.assignees], [lb.name for lb in card.labels]) == (
        'WEB-2',
        ['dave'],
        ['bug'],
    )
    with pytest.raises(ValidationError):
        run(services.list_tasks, actor=team.dave, filters=TaskFilter(sort='colour'))


def test_it_buckets_my_tasks_and_fills_the_calendar(team: Team, web: Any) -> None:
    today = date(2030, 3, 10)
    for title, due in [
        ('late', date(2030, 3, 1)),
        ('now', today),
        ('soon', date(2030, 3, 15)),
        ('later', date(2030, 4, 20)),
        ('whenever', None),
        ('closed', date(2030, 3, 2)),
    ]:
        task = run(
            services.create_task,
            actor=team.bob,
            project_id=web.id,
            title=title,
            due_date=due,
            assignee_ids=[team.dave.id],
        )
        if title == 'closed':
            run(services.move_task, actor=team.bob, task_id=task.id, status_id=statuses_of(web.id)[2].id)
    run(services.create_task, actor=team.bob, project_id=web.id, title='not mine', due_date=today)
    buckets = run(services.my_tasks, actor=team.dave, today=today)
    assert {k: [c.title for c in v] for k, v in buckets.items()} == {
        'overdue': ['late'],
        'today': ['now'],
        'week': ['soon'],
        'later': ['later'],
        'undated': ['whenever'],
    }
    days = run(services.calendar, actor=team.dave, year=2030, month=3)
    assert {d.day: [c.title for c in cards] for d, cards in days.items()} == {
        1: ['late'],
        2: ['closed'],
        10: ['now', 'not mine'],
        15: ['soon'],
    }
    mine = run(services.calendar, actor=team.dave, year=2030, month=3, mine_only=True)
    assert [c.title for c in mine[today]] == ['now']
    assert (
        run(services.calendar, actor=team.dave, year=2030, month=4, project_id=web.id)[date(2030, 4, 20)][0].title
        == 'later'
    )
    with pytest.raises(ValidationError):
        run(services.calendar, actor=team.dave, year=2030, month=13)
    assert count(Task) == 7
