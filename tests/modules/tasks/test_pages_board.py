"""bob works on the board: columns, cards, moving through the menu, filters, "show more", quick add."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import User
from modules.projects.models import Project
from modules.tasks import services
from modules.tasks.models import Task
from modules.tasks.ui_card import TaskCardElement
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team, make_project, make_task, statuses_of


def board_project(team: Team, **kwargs: object) -> Project:
    members = {team.bob.id: 'member', team.dave.id: 'viewer'}
    return make_project(owner=team.bob, members=members, **kwargs)  # type: ignore[arg-type]


def column_order(status_id: int) -> list[str]:
    """Titles of a column's tasks in board order, as stored."""
    with get_database().session() as session:
        rows = session.scalars(select(Task).where(Task.status_id == status_id).order_by(Task.position))
        return [task.title for task in rows]


def shown_titles(user: UIUser, status_id: int) -> list[str]:
    """Titles of the cards a column shows, top to bottom."""
    column = user.find(marker=f'column-{status_id}').elements.pop()
    cards = [element for element in column.descendants() if isinstance(element, TaskCardElement)]
    return [card.props['task']['title'] for card in cards]


async def test_it_shows_columns_with_counts_and_cards(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, done = statuses_of(project.id)
    late = make_task(
        project=project, title='Fix the login page', due_date=date.today() - timedelta(days=2), priority='urgent'
    )
    make_task(project=project, title='Write the guide', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    await user.should_see(marker=f'column-{todo.id}')
    await user.should_see(marker=f'column-{done.id}')
    await user.should_see('Fix the login page')
    await user.should_see('Write the guide')
    card = user.find(marker=f'card-{late.id}').elements.pop()
    assert card.props['task']['overdue'] is True
    assert card.props['task']['ref'] == 'WEB-1'
    assert user.find(marker=f'count-{todo.id}').elements.pop().text == '1'
    assert user.find(marker=f'count-{doing.id}').elements.pop().text == '1'


async def test_it_moves_a_card_through_its_menu_and_the_order_persists(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, _done = statuses_of(project.id)
    first = make_task(project=project, title='First')
    make_task(project=project, title='Second')
    third = make_task(project=project, title='Third')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    user.find(marker=f'card-{third.id}').trigger('menu')
    user.find(marker='move-up').click()
    assert column_order(todo.id) == ['First', 'Third', 'Second']
    assert shown_titles(user, todo.id) == ['First', 'Third', 'Second']
    user.find(marker=f'card-{first.id}').trigger('menu')
    user.find(marker=f'move-to-{doing.id}').click()
    assert column_order(doing.id) == ['First']
    await user.open(f'/projects/{project.id}/board')
    assert shown_titles(user, todo.id) == ['Third', 'Second']
    assert shown_titles(user, doing.id) == ['First']
    assert user.find(marker=f'count-{doing.id}').elements.pop().text == '1'


async def test_it_saves_a_drop_after_the_card_above(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo, doing, _done = statuses_of(project.id)
    moving = make_task(project=project, title='Moving')
    make_task(project=project, title='Top', status='In progress')
    make_task(project=project, title='Bottom', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    card = user.find(marker=f'card-{moving.id}').elements.pop()
    source = user.find(marker=f'cards-{todo.id}').elements.pop()
    target = user.find(marker=f'cards-{doing.id}').elements.pop()
    # What SortableJS reports when the card is dropped between Top and Bottom.
    drop = {'item_id': card.id, 'from_id': source.id, 'to_id': target.id, 'old_index': 0, 'new_index': 1}
    user.find(marker=f'cards-{todo.id}').trigger('sortend', drop)
    assert column_order(doing.id) == ['Top', 'Moving', 'Bottom']
    assert column_order(todo.id) == []
    assert shown_titles(user, doing.id) == ['Top', 'Moving', 'Bottom']


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


async def test_it_loads_more_cards_on_request(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo = statuses_of(project.id)[0]
    for number in range(1, 58):
        make_task(project=project, title=f'Task number {number:02d}')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    assert len(shown_titles(user, todo.id)) == 50
    assert user.find(marker=f'count-{todo.id}').elements.pop().text == '57'
    await user.should_not_see('Task number 51')
    user.find(marker=f'more-{todo.id}').click()
    await user.should_see('Task number 57')
    assert len(shown_titles(user, todo.id)) == 57
    await user.should_not_see(marker=f'more-{todo.id}')


async def test_it_adds_a_task_from_the_top_of_a_column(user: UIUser, team: Team) -> None:
    project = board_project(team)
    doing = statuses_of(project.id)[1]
    make_task(project=project, title='Already here', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/board'))
    user.find(marker=f'quick-add-{doing.id}').type('Call the printer').trigger('keydown.enter')
    await user.should_see('Task added.')
    assert column_order(doing.id) == ['Already here', 'Call the printer']
    assert shown_titles(user, doing.id) == ['Already here', 'Call the printer']
    assert user.find(marker=f'count-{doing.id}').elements.pop().text == '2'


async def test_it_shows_a_viewer_a_read_only_board(user: UIUser, team: Team) -> None:
    project = board_project(team)
    todo = statuses_of(project.id)[0]
    task = make_task(project=project, title='Look but do not touch')
    await user.open(sign_in_url('dave', next_path=f'/projects/{project.id}/board'))
    await user.should_see('Look but do not touch')
    await user.should_not_see(marker=f'quick-add-{todo.id}')
    assert user.find(marker=f'card-{task.id}').elements.pop().props['menu'] is False


@pytest.mark.parametrize('page', ['board', 'tasks', 'calendar', 'workflow'])
async def test_it_hides_a_members_only_project_from_the_outsider(user: UIUser, team: Team, page: str) -> None:
    project = board_project(team)
    make_task(project=project, title='Secret roadmap')
    await user.http_client.get(sign_in_url('charlie'), follow_redirects=False)
    response = await user.http_client.get(f'/projects/{project.id}/{page}', follow_redirects=False)
    assert response.status_code == 404
    assert 'Secret roadmap' not in response.text


@pytest.mark.parametrize('page', ['board', 'tasks', 'calendar', 'workflow'])
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
    assert sum(int(user.find(marker=f'count-{s.id}').elements.pop().text) for s in statuses) == 2000
    assert user.client is not None
    assert len(user.client.elements) < 400  # one element a card, a few a column: the page stays light
