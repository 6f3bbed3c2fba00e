"""/api/v1/projects, members, milestones and activity: the same rules as the pages, in the one error shape."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from appliance.db import get_database
from modules.projects.models import Activity, Member, Milestone, Project
from tests.appliance.support import TestClient, api_fixture, app_client_fixture, bearer, count, error_of  # noqa: F401
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project


@dataclass
class Tokens:
    """Authorization headers of the team."""

    alice: dict[str, str]
    bob: dict[str, str]
    charlie: dict[str, str]
    dave: dict[str, str]
    erin: dict[str, str]


@pytest.fixture
def keys(team: Team) -> Tokens:
    return Tokens(*(bearer(make_token(p)) for p in (team.alice, team.bob, team.charlie, team.dave, team.erin)))


@pytest.fixture
def web(team: Team) -> Project:
    return make_project(owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member'})


def test_it_creates_a_project_and_returns_it_with_its_id(api: TestClient, keys: Tokens) -> None:
    response = api.post('/api/v1/projects', json={'name': 'Website 网站', 'key': 'web'}, headers=keys.bob)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body['key'], body['name'], body['my_role'], body['status']) == ('WEB', 'Website 网站', 'manager', 'active')
    got = api.get(f'/api/v1/projects/{body["id"]}', headers=keys.bob).json()
    assert got['id'] == body['id']


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        ({'name': '', 'key': 'WEB'}, 'name'),
        ({'name': 'x' * 201, 'key': 'WEB'}, 'name'),
        ({'name': 'Web', 'key': 'W!'}, 'key'),
        ({'name': 'Web', 'key': 'WEB', 'start_date': '2030-02-01', 'end_date': '2030-01-01'}, 'end_date'),
        ({'name': 'Web', 'key': 'WEB', 'start_date': '0002-05-31'}, 'start_date'),
        ({'name': 'Web', 'key': 'WEB', 'end_date': '2201-01-01'}, 'end_date'),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(
    api: TestClient, keys: Tokens, body: dict[str, str], field: str
) -> None:
    error = error_of(api.post('/api/v1/projects', json=body, headers=keys.bob), 422)
    assert error['field'] == field
    assert count(Project) == 0


def test_it_refuses_a_duplicate_key(api: TestClient, keys: Tokens, web: Project) -> None:
    error = error_of(api.post('/api/v1/projects', json={'name': 'Again', 'key': 'WEB'}, headers=keys.dave), 409)
    assert 'WEB' in error['message']
    assert count(Project) == 1


def test_it_refuses_project_creation_to_erin(api: TestClient, keys: Tokens) -> None:
    assert error_of(api.post('/api/v1/projects', json={'name': 'X', 'key': 'XX'}, headers=keys.erin), 403)
    assert error_of(api.get('/api/v1/projects', headers=keys.erin), 403)
    assert count(Project) == 0


def test_it_lists_projects_with_filters(api: TestClient, keys: Tokens, team: Team, web: Project) -> None:
    make_project(key='OLD', name='Old', status='archived', members={team.bob.id: 'manager'})
    make_project(key='SEC', name='Secret')
    page = api.get('/api/v1/projects', headers=keys.bob).json()
    assert (page['total'], [p['key'] for p in page['items']]) == (1, ['WEB'])
    archived = api.get('/api/v1/projects', params={'status': 'archived'}, headers=keys.bob).json()
    assert [p['key'] for p in archived['items']] == ['OLD']
    assert api.get('/api/v1/projects', params={'q': 'zzz'}, headers=keys.bob).json()['total'] == 0
    assert api.get('/api/v1/projects', params={'limit': 1}, headers=keys.alice).json()['limit'] == 1


def test_it_hides_a_members_only_project_from_charlie_on_every_route(
    api: TestClient, keys: Tokens, team: Team, web: Project
) -> None:
    milestone = api.post(f'/api/v1/projects/{web.id}/milestones', json={'name': 'M1'}, headers=keys.bob).json()
    assert api.get('/api/v1/projects', headers=keys.charlie).json()['total'] == 0
    base = f'/api/v1/projects/{web.id}'
    calls = [
        ('GET', base, None),
        ('PATCH', base, {'name': 'Mine'}),
        ('POST', f'{base}/archive', None),
        ('POST', f'{base}/restore', None),
        ('DELETE', f'{base}?confirm=WEB', None),
        ('GET', f'{base}/members', None),
        ('POST', f'{base}/members', {'username': 'charlie', 'role': 'manager'}),
        ('PATCH', f'{base}/members/{team.dave.id}', {'role': 'viewer'}),
        ('DELETE', f'{base}/members/{team.dave.id}', None),
        ('GET', f'{base}/milestones', None),
        ('POST', f'{base}/milestones', {'name': 'Mine'}),
        ('GET', f'/api/v1/milestones/{milestone["id"]}', None),
        ('PATCH', f'/api/v1/milestones/{milestone["id"]}', {'name': 'Mine'}),
        ('DELETE', f'/api/v1/milestones/{milestone["id"]}', None),
        ('GET', f'{base}/activity', None),
    ]
    for method, url, body in calls:
        response = api.request(method, url, json=body, headers=keys.charlie)
        error = error_of(response, 404)
        assert 'Website' not in response.text, url
        assert error['code'] == 'not_found'
    with get_database().session() as session:
        row = session.get(Project, web.id)
        assert row is not None and (row.name, row.status) == ('Website', 'active')
    assert count(Member) == 2 and count(Milestone) == 1


def test_it_lets_charlie_read_an_org_project_but_not_write(api: TestClient, keys: Tokens, team: Team) -> None:
    project = make_project(key='ORG', name='Open', visibility='org', members={team.bob.id: 'manager'})
    got = api.get(f'/api/v1/projects/{project.id}', headers=keys.charlie).json()
    assert (got['my_role'], got['can_edit']) == ('viewer', False)
    assert error_of(api.patch(f'/api/v1/projects/{project.id}', json={'name': 'X'}, headers=keys.charlie), 403)
    assert error_of(
        api.post(f'/api/v1/projects/{project.id}/members', json={'username': 'charlie'}, headers=keys.charlie), 403
    )
    assert count(Member) == 1


def test_it_updates_archives_restores_and_deletes(api: TestClient, keys: Tokens, team: Team, web: Project) -> None:
    base = f'/api/v1/projects/{web.id}'
    patched = api.patch(base, json={'status': 'on_hold', 'end_date': '2030-01-31'}, headers=keys.bob).json()
    assert (patched['status'], patched['end_date'], patched['name']) == ('on_hold', '2030-01-31', 'Website')
    assert error_of(api.patch(base, json={'name': 'Mine'}, headers=keys.dave), 403)
    assert api.post(f'{base}/archive', headers=keys.bob).json()['status'] == 'archived'
    assert error_of(api.patch(base, json={'name': 'X'}, headers=keys.bob), 409)
    assert api.post(f'{base}/restore', headers=keys.bob).json()['status'] == 'on_hold'
    assert error_of(api.delete(f'{base}?confirm=NOPE', headers=keys.bob), 422)['field'] == 'confirm_key'
    assert error_of(api.delete(f'{base}?confirm=WEB', headers=keys.dave), 403)
    assert count(Project) == 1
    assert api.delete(f'{base}?confirm=WEB', headers=keys.bob).status_code == 204
    assert count(Project) == 0 and count(Activity) == 0


def test_it_manages_members(api: TestClient, keys: Tokens, team: Team, web: Project) -> None:
    base = f'/api/v1/projects/{web.id}/members'
    added = api.post(base, json={'username': 'charlie', 'role': 'viewer'}, headers=keys.bob)
    assert added.status_code == 201 and added.json()['role'] == 'viewer'
    assert error_of(api.post(base, json={'username': 'nobody'}, headers=keys.bob), 422)['field'] == 'user'
    assert error_of(api.post(base, json={'username': 'erin', 'role': 'boss'}, headers=keys.bob), 422)
    assert error_of(api.post(base, json={'username': 'erin'}, headers=keys.dave), 403)
    changed = api.patch(f'{base}/{team.charlie.id}', json={'role': 'member'}, headers=keys.bob).json()
    assert changed['role'] == 'member'
    error = error_of(api.delete(f'{base}/{team.bob.id}', headers=keys.bob), 409)
    assert 'manager' in error['message']
    assert api.delete(f'{base}/{team.charlie.id}', headers=keys.bob).status_code == 204
    listed = api.get(base, headers=keys.dave).json()['items']
    assert [(m['username'], m['role']) for m in listed] == [('bob', 'manager'), ('dave', 'member')]


def test_it_manages_milestones(api: TestClient, keys: Tokens, web: Project) -> None:
    base = f'/api/v1/projects/{web.id}/milestones'
    created = api.post(base, json={'name': 'Launch', 'due_date': '2030-05-01'}, headers=keys.bob)
    assert created.status_code == 201
    milestone = created.json()
    assert (milestone['closed_items'], milestone['total_items']) == (0, 0)
    assert error_of(api.post(base, json={'name': ''}, headers=keys.bob), 422)['field'] == 'name'
    assert error_of(api.post(base, json={'name': 'X'}, headers=keys.dave), 403)
    url = f'/api/v1/milestones/{milestone["id"]}'
    assert api.patch(url, json={'status': 'done'}, headers=keys.bob).json()['status'] == 'done'
    assert api.patch(url, json={'due_date': None}, headers=keys.bob).json()['due_date'] is None
    assert [m['name'] for m in api.get(base, headers=keys.dave).json()['items']] == ['Launch']
    assert error_of(api.delete(url, headers=keys.dave), 403)
    assert api.delete(url, headers=keys.bob).status_code == 204
    assert count(Milestone) == 0


def test_it_pages_the_activity_feed_newest_first(api: TestClient, keys: Tokens, web: Project) -> None:
    for n in range(3):
        api.post(f'/api/v1/projects/{web.id}/milestones', json={'name': f'M{n}'}, headers=keys.bob)
    page = api.get(f'/api/v1/projects/{web.id}/activity', params={'limit': 2}, headers=keys.dave).json()
    assert page['total'] == 3
    assert [item['text'] for item in page['items']] == [
        'Bob 张伟 created the milestone "M2".',
        'Bob 张伟 created the milestone "M1".',
    ]


def test_it_answers_an_unknown_project_with_404(api: TestClient, keys: Tokens) -> None:
    assert error_of(api.get('/api/v1/projects/999', headers=keys.alice), 404)


def test_it_refuses_a_half_typed_year_on_projects_and_milestones_and_changes_nothing(
    api: TestClient, keys: Tokens, web: Project
) -> None:
    error = error_of(api.patch(f'/api/v1/projects/{web.id}', json={'start_date': '0202-05-31'}, headers=keys.bob), 422)
    assert (error['field'], error['code']) == ('start_date', 'invalid')
    assert 'between 1900 and 2200' in error['message']
    base = f'/api/v1/projects/{web.id}/milestones'
    error_of(api.post(base, json={'name': 'M1', 'due_date': '0002-01-01'}, headers=keys.bob), 422)
    assert count(Milestone) == 0
    milestone = api.post(base, json={'name': 'M1', 'due_date': '2026-01-01'}, headers=keys.bob).json()
    path = f'/api/v1/milestones/{milestone["id"]}'
    assert error_of(api.patch(path, json={'due_date': '1899-12-31'}, headers=keys.bob), 422)['field'] == 'due_date'
    assert api.get(path, headers=keys.bob).json()['due_date'] == '2026-01-01'
    with get_database().session() as session:
        assert session.get(Project, web.id).start_date is None  # type: ignore[union-attr]
