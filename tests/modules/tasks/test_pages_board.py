"""bob works on the board: columns, cards, moving through the menu, filters, "show more", quick add."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import User
from modules.projects.models import Member, Project
from modules.tasks import services
from modules.tasks.models import Task
from modules.tasks.pages.parts.card import BoardElement
from modules.tasks.pages.parts.filter_bar import FilterBar
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.support import handled


def board_project(team: Team, **kwargs: object) -> Project:
    members = {team.bob.id: 'member', team.dave.id: 'viewer'}
    return make_project(owner=team.bob, members=members, **kwargs)  # type: ignore[arg-type]


def column_order(status_id: int) -> list[str]:
    """Titles of a column's tasks in board order, as stored."""
    with get_database().session() as session:
        rows = session.scalars(select(Task).where(Task.status_id == status_id).order_by(Task.position))
        return [task.title for task in rows]


def board_of(user: UIUser) -> BoardElement:
    """The board element: every column and card of the page is in its props."""
    board = user.find(marker='board').elements.pop()
    assert isinstance(board, BoardElement)
    return board


def column(user: UIUser, status_id: int) -> dict[str, Any]:
    """One column as the board element sends it to the browser."""
    return next(c for c in board_of(user).props['columns'] if c['id'] == status_id)


def shown_titles(user: UIUser, status_id: int) -> list[str]:
    """Titles of the cards a column shows, top to bottom."""
    return [card['title'] for card in column(user, status_id)['cards']]


def shown_card(user: UIUser, task_id: int) -> dict[str, Any]:
    """One card as the board element sends it to the browser."""
    return next(card for c in board_of(user).props['columns'] for card in c['cards'] if card['id'] == task_id)


async def test_it_shows_columns_with_counts_and_cards(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, done = statuses_of(project.id)
    late = make_task(
        project=project, title='Fix the login page', due_date=date.today() - timedelta(days=2), priority='urgent'
    )
    make_task(project=project, title='Write the guide', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    await user.should_see('Fix the login page')
    await user.should_see('Write the guide')
    board = board_of(user)
    assert [c['id'] for c in board.props['columns']] == [todo.id, doing.id, done.id]
    assert [c['name'] for c in board.props['columns']] == ['To do', 'In progress', 'Done']
    assert [c['closed'] for c in board.props['columns']] == [False, False, True]
    assert board.props['editable'] is True
    card = shown_card(user, late.id)
    assert card['overdue'] is True
    assert card['ref'] == 'WEB-1'
    assert card['url'] == f'/tasks/{late.id}'
    assert card['priority_key'] == 'urgent'
    assert card['menu_label'] == 'Move WEB-1'
    assert column(user, todo.id)['total'] == 1
    assert column(user, doing.id)['total'] == 1
    assert column(user, done.id)['total'] == 0


async def test_it_moves_a_card_through_its_menu_and_the_order_persists(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, _done = statuses_of(project.id)
    first = make_task(project=project, title='First')
    make_task(project=project, title='Second')
    third = make_task(project=project, title='Third')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    user.find(marker='board').trigger('menu', {'task_id': third.id})
    await user.should_see('Move WEB-3')
    async with handled():
        user.find(marker='move-up').click()
    assert column_order(todo.id) == ['First', 'Third', 'Second']
    assert shown_titles(user, todo.id) == ['First', 'Third', 'Second']
    user.find(marker='board').trigger('menu', {'task_id': first.id})
    async with handled():
        user.find(marker=f'move-to-{doing.id}').click()
    assert column_order(doing.id) == ['First']
    assert shown_titles(user, doing.id) == ['First']
    assert column(user, todo.id)['total'] == 2
    assert column(user, doing.id)['total'] == 1
    await user.open(f'/projects/{project.id}/board')
    assert shown_titles(user, todo.id) == ['Third', 'Second']
    assert shown_titles(user, doing.id) == ['First']
    assert column(user, doing.id)['total'] == 1


async def test_it_saves_a_drop_after_the_card_above(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, _done = statuses_of(project.id)
    moving = make_task(project=project, title='Moving')
    top = make_task(project=project, title='Top', status='In progress')
    make_task(project=project, title='Bottom', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    # What the component emits when the card is dropped between Top and Bottom.
    async with handled():
        user.find(marker='board').trigger('move', {'task_id': moving.id, 'status_id': doing.id, 'after_id': top.id})
    assert column_order(doing.id) == ['Top', 'Moving', 'Bottom']
    assert column_order(todo.id) == []
    assert shown_titles(user, doing.id) == ['Top', 'Moving', 'Bottom']
    assert (column(user, todo.id)['total'], column(user, doing.id)['total']) == (0, 3)
    # ... and at the top of a column: nothing above it.
    async with handled():
        user.find(marker='board').trigger('move', {'task_id': moving.id, 'status_id': todo.id, 'after_id': None})
    assert column_order(todo.id) == ['Moving']
    assert shown_titles(user, todo.id) == ['Moving']
    assert shown_titles(user, doing.id) == ['Top', 'Bottom']


async def test_it_shows_the_stored_order_again_when_a_drop_is_refused(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, _done = statuses_of(project.id)
    moving = make_task(project=project, title='Moving')
    make_task(project=project, title='Staying', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    other = make_project(owner=team.bob, key='OPS', name='Operations')
    foreign = statuses_of(other.id)[0]
    before = board_of(user).props['columns']
    async with handled():
        user.find(marker='board').trigger('move', {'task_id': moving.id, 'status_id': doing.id, 'after_id': 999999})
    assert column_order(todo.id) == ['Moving']
    assert column_order(doing.id) == ['Staying']
    await user.should_see('Drop the task after a card of the same column, or at the top.')
    assert board_of(user).props['columns'] is not before  # sent again, as stored
    assert shown_titles(user, todo.id) == ['Moving']
    assert shown_titles(user, doing.id) == ['Staying']
    async with handled():
        user.find(marker='board').trigger('move', {'task_id': moving.id, 'status_id': foreign.id, 'after_id': None})
    assert column_order(todo.id) == ['Moving']


async def test_it_filters_the_board_from_the_query_string(user: UIUser, team: Team) -> None:
    project = board_project(team)
    with get_database().session() as session:  # through the services, so that the text search index knows them
        bob = session.get(User, team.bob.id)
        assert bob is not None
        for title, priority in (('Urgent server fix', 'urgent'), ('Paint the wall', 'normal')):
            services.create_task(session=session, actor=bob, project_id=project.id, title=title, priority=priority)
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board?priority=urgent'))
    await user.should_see('Urgent server fix')
    await user.should_not_see('Paint the wall')
    await user.open(f'/projects/{project.id}/board?q=wall')
    await user.should_see('Paint the wall')
    await user.should_not_see('Urgent server fix')


def filter_bar_of(user: UIUser) -> FilterBar:
    """The board's filter bar (one element: its fields are in its props)."""
    bar = user.find(marker='board-filters').elements.pop()
    assert isinstance(bar, FilterBar)
    return bar


async def test_it_reloads_the_board_with_a_changed_filter(user: UIUser, team: Team) -> None:
    project = board_project(team)
    path = f'/projects/{project.id}/board'
    await user.open(sign_in_url('bob', next_path=f'{path}?priority=high'))
    bar = filter_bar_of(user)
    fields = {field['key']: field for field in bar.props['fields']}
    assert [field['label'] for field in bar.props['fields']] == ['Assignee', 'Label', 'Priority', 'Find']
    assert fields['priority']['value'] == 'high'
    assert {'value': team.dave.id, 'label': team.dave.display_name} in fields['assignee']['options']
    assert bar.props['clear'] == 'Clear filters'
    assert bar.target('assignee', team.dave.id) == f'{path}?priority=high&assignee={team.dave.id}'
    assert bar.target('priority', '') == path  # "Any priority" drops the filter
    assert bar.target('q', '  wall ') == f'{path}?priority=high&q=wall'
    # Only the bar's own fields and, for a select, one of its options.
    assert bar.target('assignee', 999_999) is None
    assert bar.target('priority', 'critical') is None
    assert bar.target('status', 1) is None
    assert bar.target('q', ['wall']) is None
    async with handled():
        user.find(marker='board-filters').trigger('go', {'key': 'q', 'value': 'wall'})
    await user.should_see(marker='board')
    assert user.back_history[-1] == f'{path}?priority=high&q=wall'
    async with handled():
        user.find(marker='board-filters').trigger('clear')
    await user.should_see(marker='board')
    assert user.back_history[-1] == path
    assert filter_bar_of(user).props['clear'] == ''  # nothing to clear now


async def test_it_loads_more_cards_on_request(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo = statuses_of(project.id)[0]
    for number in range(1, 58):
        make_task(project=project, title=f'Task number {number:02d}')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    assert len(shown_titles(user, todo.id)) == 50
    assert column(user, todo.id)['total'] == 57
    await user.should_not_see('Task number 51')
    async with handled():
        user.find(marker='board').trigger('more', {'status_id': todo.id})
    await user.should_see('Task number 57')
    assert shown_titles(user, todo.id) == [f'Task number {number:02d}' for number in range(1, 58)]
    assert column(user, todo.id)['total'] == 57  # the component hides "Show more" once every card is shown


async def test_it_adds_a_task_from_the_top_of_a_column(user: UIUser, team: Team) -> None:
    project = board_project(team)
    doing = statuses_of(project.id)[1]
    make_task(project=project, title='Already here', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    async with handled():
        user.find(marker='board').trigger('add', {'status_id': doing.id, 'title': '  Call the printer '})
    await user.should_see('Task added.')
    assert column_order(doing.id) == ['Already here', 'Call the printer']
    assert shown_titles(user, doing.id) == ['Already here', 'Call the printer']
    assert column(user, doing.id)['total'] == 2
    async with handled():
        user.find(marker='board').trigger('add', {'status_id': doing.id, 'title': '   '})
    assert column_order(doing.id) == ['Already here', 'Call the printer']


async def test_it_shows_a_viewer_a_read_only_board(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo = statuses_of(project.id)[0]
    task = make_task(project=project, title='Look but do not touch')
    await user.open(sign_in_url('dave', next_path=f'/projects/{project.id}/board'))
    await user.should_see('Look but do not touch')
    board = board_of(user)
    assert board.props['editable'] is False  # no dragging, no card menus, no quick-add fields
    assert 'menu_label' not in shown_card(user, task.id)
    # Events a viewer's browser should not send change nothing and open nothing.
    async with handled():
        user.find(marker='board').trigger('move', {'task_id': task.id, 'status_id': statuses_of(project.id)[1].id})
        user.find(marker='board').trigger('add', {'status_id': todo.id, 'title': 'Sneaky'})
        user.find(marker='board').trigger('menu', {'task_id': task.id})
    assert column_order(todo.id) == ['Look but do not touch']
    await user.should_not_see(marker='move-menu')


@pytest.mark.parametrize('page', ['board', 'tasks', 'calendar', 'workflow', 'labels'])
async def test_it_hides_a_members_only_project_from_the_outsider(user: UIUser, team: Team, page: str) -> None:
    project = board_project(team)
    make_task(project=project, title='Secret roadmap')
    await user.http_client.get(sign_in_url('charlie'), follow_redirects=False)
    response = await user.http_client.get(f'/projects/{project.id}/{page}', follow_redirects=False)
    assert response.status_code == 404
    assert 'Secret roadmap' not in response.text


@pytest.mark.parametrize('page', ['board', 'tasks', 'calendar', 'workflow', 'labels'])
async def test_it_refuses_project_pages_to_someone_without_a_role(user: UIUser, team: Team, page: str) -> None:
    project = board_project(team)
    await user.http_client.get(sign_in_url('erin'), follow_redirects=False)
    response = await user.http_client.get(f'/projects/{project.id}/{page}', follow_redirects=False)
    assert response.status_code == 403


async def test_it_draws_only_the_first_cards_of_a_big_board(user: UIUser, team: Team) -> None:
    project = board_project(team)
    statuses = statuses_of(project.id)
    with get_database().session() as session:
        session.add_all(
            Task(
                project_id=project.id,
                number=n,
                status_id=statuses[n % 3].id,
                position=n * 1024,
                title=f'Bulk {n}',
                due_date=date(2027, 1, 1 + n % 28),
            )
            for n in range(1, 2001)
        )
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    for status in statuses:
        assert len(shown_titles(user, status.id)) == 50
    assert sum(column(user, s.id)['total'] for s in statuses) == 2000
    assert user.client is not None
    assert len(user.client.elements) < 100  # the whole board is one element: the page stays light


@pytest.mark.parametrize('page', ['board', 'tasks'])
async def test_it_creates_the_default_columns_when_a_new_project_is_first_opened(
    user: UIUser, team: Team, page: str
) -> None:
    with get_database().session() as session:  # as the projects module makes it: no columns until first used
        project = Project(key='NEW', name='New', owner_id=team.bob.id)
        session.add(project)
        session.flush()
        session.add(Member(project_id=project.id, user_id=team.bob.id, role='manager'))
    assert statuses_of(project.id) == []
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/{page}'))
    await user.should_see(marker='board' if page == 'board' else 'task-table')
    assert [status.name for status in statuses_of(project.id)] == ['To do', 'In progress', 'Done']
    if page == 'board':
        assert [c['name'] for c in board_of(user).props['columns']] == ['To do', 'In progress', 'Done']
