"""/api/v1 tasks routes: the shapes scripts rely on, the same rules as the services, and nothing for outsiders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modules.projects.models import Project
from modules.tasks.models import ChecklistItem, Dependency, Label, Status, Task, Watcher
from tests.appliance.support import api_fixture, app_client_fixture, bearer, count, error_of  # noqa: F401
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project, make_task, statuses_of


@dataclass
class Tokens:
    alice: dict[str, str]
    bob: dict[str, str]
    charlie: dict[str, str]
    dave: dict[str, str]
    erin: dict[str, str]
    vic: dict[str, str]


@pytest.fixture
def tokens(team: Team) -> Tokens:
    from tests.conftest import make_user

    vic = make_user(username='vic', roles=['member'], display_name='Vic Viewer')
    people = (team.alice, team.bob, team.charlie, team.dave, team.erin, vic)
    return Tokens(*(bearer(make_token(person)) for person in people))


@pytest.fixture
def web(team: Team, tokens: Tokens) -> Project:
    from sqlalchemy import select

    from appliance.db import get_database
    from appliance.models import User

    with get_database().session() as session:
        vic_id = session.scalar(select(User.id).where(User.username == 'vic'))
    return make_project(members={team.bob.id: 'manager', team.dave.id: 'member', vic_id: 'viewer'})


def create(api: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = api.post('/api/v1/tasks', json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_it_creates_reads_patches_and_deletes_a_task(api: TestClient, tokens: Tokens, team: Team, web: Project) -> None:
    task = create(
        api, tokens.bob, project_id=web.id, title='Launch 项目', due_date='2030-05-01', assignee_ids=[team.dave.id]
    )
    assert (task['ref'], task['title'], task['due_date'], task['status_name']) == (
        'WEB-1',
        'Launch 项目',
        '2030-05-01',
        'To do',
    )
    assert [p['username'] for p in task['assignees']] == ['dave']
    got = api.get(f'/api/v1/tasks/{task["id"]}', headers=tokens.dave).json()
    assert got['id'] == task['id'] and got['can_edit'] is True
    patched = api.patch(
        f'/api/v1/tasks/{task["id"]}', json={'priority': 'urgent', 'due_date': None}, headers=tokens.dave
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()['priority'], patched.json()['due_date']) == ('urgent', None)
    assert api.delete(f'/api/v1/tasks/{task["id"]}', headers=tokens.dave).status_code == 204
    error_of(api.get(f'/api/v1/tasks/{task["id"]}', headers=tokens.dave), 404)


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        ({'title': ''}, 'title'),
        ({'title': 'x' * 201}, 'title'),
        ({'title': 'ok', 'start_date': '2030-02-01', 'due_date': '2030-01-01'}, 'due_date'),
        ({'title': 'ok', 'priority': 'soon'}, 'priority'),
    ],
)
def test_it_refuses_bad_input_and_creates_nothing(
    api: TestClient, tokens: Tokens, web: Project, body: dict[str, Any], field: str
) -> None:
    error = error_of(api.post('/api/v1/tasks', json={'project_id': web.id, **body}, headers=tokens.bob), 422)
    assert error['field'] == field
    assert count(Task) == 0


def test_it_refuses_a_non_member_assignee_and_a_foreign_status(
    api: TestClient, tokens: Tokens, team: Team, web: Project
) -> None:
    task = make_task(project=web)
    other = make_project(key='OPS', members={team.bob.id: 'manager'})
    error = error_of(
        api.patch(f'/api/v1/tasks/{task.id}', json={'assignee_ids': [team.charlie.id]}, headers=tokens.bob), 422
    )
    assert error['field'] == 'assignee_ids' and 'Charlie Outsider' in error['message']
    foreign = statuses_of(other.id)[0].id
    error = error_of(api.post(f'/api/v1/tasks/{task.id}/move', json={'status_id': foreign}, headers=tokens.bob), 422)
    assert 'another project' in error['message']
    error_of(api.patch(f'/api/v1/tasks/{task.id}', json={'number': 5}, headers=tokens.bob), 422)
    assert api.get(f'/api/v1/tasks/{task.id}', headers=tokens.bob).json()['assignees'] == []


def test_it_lists_with_filters_and_pagination(api: TestClient, tokens: Tokens, team: Team, web: Project) -> None:
    for n in range(5):
        create(
            api,
            tokens.bob,
            project_id=web.id,
            title=f'任务 项目 {n}' if n % 2 else f'English task {n}',
            assignee_ids=[team.dave.id] if n < 2 else [],
        )
    done = statuses_of(web.id)[2]
    first = api.get('/api/v1/tasks', params={'project_id': web.id}, headers=tokens.dave).json()
    api.post(f'/api/v1/tasks/{first["items"][0]["id"]}/move', json={'status_id': done.id}, headers=tokens.dave)

    def refs(**params: Any) -> list[str]:
        response = api.get('/api/v1/tasks', params={'project_id': web.id, **params}, headers=tokens.dave)
        assert response.status_code == 200, response.text
        return [item['ref'] for item in response.json()['items']]

    assert refs() == ['WEB-2', 'WEB-3', 'WEB-4', 'WEB-5', 'WEB-1']
    assert refs(status='done') == refs(status=str(done.id)) == ['WEB-1']
    assert refs(assignee='dave') == refs(assignee='me') == ['WEB-2', 'WEB-1']
    assert refs(assignee='nobody') == []
    assert refs(q='项目') == ['WEB-2', 'WEB-4']
    assert refs(q='english', open_only='true') == ['WEB-3', 'WEB-5']
    assert refs(sort='ref', desc='true', limit=2) == ['WEB-5', 'WEB-4']
    page = api.get('/api/v1/tasks', params={'limit': 2, 'offset': 2}, headers=tokens.dave).json()
    assert (page['total'], page['offset'], page['limit'], len(page['items'])) == (5, 2, 2, 2)
    error_of(api.get('/api/v1/tasks', params={'sort': 'nonsense'}, headers=tokens.dave), 422)


def test_it_moves_and_shows_the_board(api: TestClient, tokens: Tokens, web: Project) -> None:
    a, b, c = (create(api, tokens.bob, project_id=web.id, title=t) for t in 'abc')
    todo, doing, _done = statuses_of(web.id)
    assert (
        api.post(f'/api/v1/tasks/{c["id"]}/move', json={'status_id': todo.id}, headers=tokens.dave).status_code == 200
    )
    moved = api.post(f'/api/v1/tasks/{a["id"]}/move', json={'status_id': doing.id}, headers=tokens.dave).json()
    assert moved['status_name'] == 'In progress'
    board = api.get(f'/api/v1/projects/{web.id}/board', params={'per_column': 1}, headers=tokens.dave).json()
    assert [([card['title'] for card in col['cards']], col['total']) for col in board['columns']] == [
        (['c'], 2),
        (['a'], 1),
        ([], 0),
    ]
    error_of(
        api.post(
            f'/api/v1/tasks/{b["id"]}/move', json={'status_id': todo.id, 'after_id': a['id']}, headers=tokens.dave
        ),
        422,
    )


def test_it_manages_statuses_and_labels(api: TestClient, tokens: Tokens, web: Project) -> None:
    listed = api.get(f'/api/v1/projects/{web.id}/statuses', headers=tokens.dave).json()['items']
    assert [s['name'] for s in listed] == ['To do', 'In progress', 'Done']
    review = api.post(f'/api/v1/projects/{web.id}/statuses', json={'name': 'Review'}, headers=tokens.bob)
    assert review.status_code == 201
    rid = review.json()['id']
    order = [rid, *(s['id'] for s in listed)]
    reordered = api.put(f'/api/v1/projects/{web.id}/statuses/order', json={'status_ids': order}, headers=tokens.bob)
    assert [s['name'] for s in reordered.json()['items']] == ['Review', 'To do', 'In progress', 'Done']
    assert api.patch(f'/api/v1/statuses/{rid}', json={'name': 'QA'}, headers=tokens.bob).json()['name'] == 'QA'
    error_of(api.post(f'/api/v1/projects/{web.id}/statuses', json={'name': 'X'}, headers=tokens.dave), 403)
    assert (
        api.delete(f'/api/v1/statuses/{rid}', params={'move_to_id': listed[0]['id']}, headers=tokens.bob).status_code
        == 204
    )
    label = api.post(f'/api/v1/projects/{web.id}/labels', json={'name': 'bug', 'color': '#ff0000'}, headers=tokens.dave)
    assert label.status_code == 201 and label.json()['color'] == '#ff0000'
    assert [lb['name'] for lb in api.get(f'/api/v1/projects/{web.id}/labels', headers=tokens.dave).json()['items']] == [
        'bug'
    ]
    error_of(api.delete(f'/api/v1/labels/{label.json()["id"]}', headers=tokens.dave), 403)
    assert api.delete(f'/api/v1/labels/{label.json()["id"]}', headers=tokens.bob).status_code == 204
    assert count(Status, Status.project_id == web.id) == 3 and count(Label) == 0


def test_it_keeps_dependencies_checklists_and_watching(api: TestClient, tokens: Tokens, web: Project) -> None:
    a, b = (create(api, tokens.bob, project_id=web.id, title=t) for t in 'ab')
    dep = api.post(f'/api/v1/tasks/{b["id"]}/dependencies', json={'blocker_id': a['id']}, headers=tokens.dave)
    assert dep.status_code == 201 and [t['ref'] for t in dep.json()['blocked_by']] == ['WEB-1']
    error = error_of(
        api.post(f'/api/v1/tasks/{a["id"]}/dependencies', json={'blocker_id': b['id']}, headers=tokens.dave), 422
    )
    assert 'loop' in error['message']
    assert (
        api.delete(
            f'/api/v1/tasks/{b["id"]}/dependencies', params={'blocker_id': a['id']}, headers=tokens.dave
        ).status_code
        == 204
    )
    item = api.post(f'/api/v1/tasks/{a["id"]}/checklist', json={'text': 'Check copy'}, headers=tokens.dave)
    assert item.status_code == 201 and item.json()['done'] is False
    ticked = api.patch(f'/api/v1/checklist/{item.json()["id"]}', json={'done': True}, headers=tokens.dave).json()
    assert (ticked['text'], ticked['done']) == ('Check copy', True)
    assert api.delete(f'/api/v1/checklist/{item.json()["id"]}', headers=tokens.dave).status_code == 204
    assert api.put(f'/api/v1/tasks/{a["id"]}/watch', headers=tokens.dave).status_code == 204
    assert api.get(f'/api/v1/tasks/{a["id"]}', headers=tokens.dave).json()['watching'] is True
    assert api.delete(f'/api/v1/tasks/{a["id"]}/watch', headers=tokens.dave).status_code == 204
    assert count(Dependency) == 0 and count(ChecklistItem) == 0


def test_it_lists_my_tasks(api: TestClient, tokens: Tokens, team: Team, web: Project) -> None:
    create(api, tokens.bob, project_id=web.id, title='Mine', due_date='2030-01-01', assignee_ids=[team.dave.id])
    mine = api.get('/api/v1/tasks/mine', params={'today': '2030-01-05'}, headers=tokens.dave).json()
    assert [c['title'] for c in mine['overdue']] == ['Mine'] and mine['today'] == []


def _routes(task_id: int, project_id: int, status_id: int, label_id: int, item_id: int) -> list[tuple[str, str, Any]]:
    return [
        ('GET', f'/api/v1/tasks/{task_id}', None),
        ('PATCH', f'/api/v1/tasks/{task_id}', {'title': 'hacked'}),
        ('DELETE', f'/api/v1/tasks/{task_id}', None),
        ('POST', f'/api/v1/tasks/{task_id}/move', {'status_id': status_id}),
        ('GET', f'/api/v1/projects/{project_id}/board', None),
        ('GET', f'/api/v1/projects/{project_id}/statuses', None),
        ('POST', f'/api/v1/projects/{project_id}/statuses', {'name': 'Evil'}),
        ('PATCH', f'/api/v1/statuses/{status_id}', {'name': 'Evil'}),
        ('DELETE', f'/api/v1/statuses/{status_id}?move_to_id={status_id}', None),
        ('PUT', f'/api/v1/projects/{project_id}/statuses/order', {'status_ids': [status_id]}),
        ('GET', f'/api/v1/projects/{project_id}/labels', None),
        ('POST', f'/api/v1/projects/{project_id}/labels', {'name': 'evil'}),
        ('DELETE', f'/api/v1/labels/{label_id}', None),
        ('POST', f'/api/v1/tasks/{task_id}/dependencies', {'blocker_id': task_id}),
        ('DELETE', f'/api/v1/tasks/{task_id}/dependencies?blocker_id={task_id}', None),
        ('POST', f'/api/v1/tasks/{task_id}/checklist', {'text': 'evil'}),
        ('PATCH', f'/api/v1/checklist/{item_id}', {'done': True}),
        ('DELETE', f'/api/v1/checklist/{item_id}', None),
        ('PUT', f'/api/v1/tasks/{task_id}/watch', None),
        ('DELETE', f'/api/v1/tasks/{task_id}/watch', None),
        ('POST', '/api/v1/tasks', {'project_id': project_id, 'title': 'evil'}),
        ('GET', f'/api/v1/tasks?project_id={project_id}', None),
    ]


def _arrange(api: TestClient, tokens: Tokens, web: Project) -> list[tuple[str, str, Any]]:
    task = create(api, tokens.bob, project_id=web.id, title='Secret 机密 plan', due_date='2030-01-01')
    label = api.post(f'/api/v1/projects/{web.id}/labels', json={'name': 'secret'}, headers=tokens.bob).json()
    item = api.post(f'/api/v1/tasks/{task["id"]}/checklist', json={'text': 'x'}, headers=tokens.bob).json()
    api.put(f'/api/v1/tasks/{task["id"]}/watch', headers=tokens.bob)
    return _routes(task['id'], web.id, statuses_of(web.id)[0].id, label['id'], item['id'])


def _state() -> tuple[int, ...]:
    return count(Task), count(Status), count(Label), count(ChecklistItem), count(Watcher), count(Dependency)


def test_it_answers_not_found_to_charlie_on_every_route_and_changes_nothing(
    api: TestClient, tokens: Tokens, team: Team, web: Project
) -> None:
    routes = _arrange(api, tokens, web)
    before = _state()
    for method, path, body in routes:
        response = api.request(method, path, json=body, headers=tokens.charlie)
        error_of(response, 404)
    assert _state() == before
    assert api.get('/api/v1/tasks', headers=tokens.charlie).json()['total'] == 0
    mine = api.get('/api/v1/tasks/mine', headers=tokens.charlie).json()
    assert all(v == [] for v in mine.values())
    hits = api.get('/api/v1/search', params={'q': '机密'}, headers=tokens.charlie).json()['items']
    assert [h for h in hits if h['module'] == 'tasks'] == []
    assert [
        h['title'] for h in api.get('/api/v1/search', params={'q': '机密'}, headers=tokens.bob).json()['items']
    ] == ['WEB-1 Secret 机密 plan']


def test_it_refuses_erin_everywhere(api: TestClient, tokens: Tokens, web: Project) -> None:
    routes = _arrange(api, tokens, web)
    before = _state()
    for method, path, body in [*routes, ('GET', '/api/v1/tasks/mine', None), ('GET', '/api/v1/tasks', None)]:
        assert api.request(method, path, json=body, headers=tokens.erin).status_code in (403, 404), (method, path)
    assert _state() == before


def test_it_lets_a_viewer_read_but_not_write(api: TestClient, tokens: Tokens, web: Project) -> None:
    routes = _arrange(api, tokens, web)
    before = _state()
    for method, path, body in routes:
        response = api.request(method, path, json=body, headers=tokens.vic)
        if method == 'GET':
            assert response.status_code == 200, (path, response.text)
        elif path.endswith('/watch'):
            assert response.status_code == 204
        else:
            assert error_of(response, 403)['code'] == 'forbidden', (method, path)
    assert _state() == before
    assert api.get(f'/api/v1/tasks/{routes[0][1].rsplit("/", 1)[1]}', headers=tokens.vic).json()['can_edit'] is False


def test_it_requires_a_token(api: TestClient, web: Project) -> None:
    error_of(api.get('/api/v1/tasks'), 401)
    error_of(api.post('/api/v1/tasks', json={'project_id': web.id, 'title': 'x'}), 401)


def test_it_refuses_years_outside_1900_to_2200_and_changes_nothing(
    api: TestClient, tokens: Tokens, web: Project
) -> None:
    task = create(api, tokens.dave, project_id=web.id, title='Dated', due_date='2026-05-31')
    for field, value in (('due_date', '0002-05-31'), ('start_date', '2201-01-01'), ('due_date', '1899-12-31')):
        error = error_of(api.patch(f'/api/v1/tasks/{task["id"]}', json={field: value}, headers=tokens.dave), 422)
        assert (error['code'], error['field']) == ('invalid', field)
        assert 'between 1900 and 2200' in error['message']
    got = api.get(f'/api/v1/tasks/{task["id"]}', headers=tokens.dave).json()
    assert (got['start_date'], got['due_date']) == (None, '2026-05-31')
    error_of(
        api.post(
            '/api/v1/tasks', json={'project_id': web.id, 'title': 'x', 'start_date': '0020-01-01'}, headers=tokens.dave
        ),
        422,
    )
    assert count(Task) == 1


def test_it_renames_and_recolours_a_label_for_managers_only(api: TestClient, tokens: Tokens, web: Project) -> None:
    label = api.post(f'/api/v1/projects/{web.id}/labels', json={'name': 'bug'}, headers=tokens.dave).json()
    path = f'/api/v1/labels/{label["id"]}'
    error_of(api.post(f'/api/v1/projects/{web.id}/labels', json={'name': 'v'}, headers=tokens.vic), 403)
    error_of(api.patch(path, json={'name': 'defect'}, headers=tokens.dave), 403)
    error_of(api.patch(path, json={'name': 'defect'}, headers=tokens.charlie), 404)
    assert error_of(api.patch(path, json={'color': 'red'}, headers=tokens.bob), 422)['field'] == 'color'
    changed = api.patch(path, json={'name': 'defect', 'color': '#00aa00'}, headers=tokens.bob)
    assert changed.status_code == 200, changed.text
    assert (changed.json()['name'], changed.json()['color']) == ('defect', '#00aa00')
    assert count(Label) == 1
