"""/api/v1/departments, /api/v1/directory and /api/v1/users/{id}/placement."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.appliance.support import Keys, error_of
from tests.conftest import People


def made(api: TestClient, keys: Keys, **body: object) -> dict[str, object]:
    response = api.post('/api/v1/departments', json=body, headers=keys.alice)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_an_admin_builds_the_tree_and_everyone_reads_it(api: TestClient, keys: Keys, people: People) -> None:
    hq = made(api, keys, name='总部', code='HQ')
    sales = made(api, keys, name='销售部', parent_id=hq['id'])
    assert sales['path'] == ['总部', '销售部'] and sales['closed_at'] is None
    placed = api.put(
        f'/api/v1/users/{people.bob.id}/placement',
        json={'main_department_id': sales['id'], 'position': '销售代表', 'work_phone': '021-5555'},
        headers=keys.alice,
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()['main_department_id'] == sales['id']
    patched = api.patch(f'/api/v1/departments/{hq["id"]}', json={'heads': [people.alice.id]}, headers=keys.alice)
    assert patched.status_code == 200, patched.text
    assert api.get(f'/api/v1/users/{people.bob.id}/placement', headers=keys.bob).json()['reports_to'] == people.alice.id
    tree = api.get('/api/v1/departments', headers=keys.charlie).json()
    assert [(d['name'], d['total'], d['head_names']) for d in tree] == [('总部', 1, ['Alice Admin'])]
    assert tree[0]['children'][0]['members'] == 1
    found = api.get('/api/v1/directory', params={'q': '销售'}, headers=keys.charlie).json()
    assert [(c['username'], c['departments'], c['manager']) for c in found['items']] == [
        ('bob', ['销售部'], 'Alice Admin')
    ]
    assert set(found['items'][0]) == {
        'id',
        'username',
        'name',
        'position',
        'work_phone',
        'email',
        'departments',
        'manager',
    }
    by_department = api.get('/api/v1/directory', params={'department': hq['id']}, headers=keys.charlie).json()
    assert [c['username'] for c in by_department['items']] == ['bob']


def test_members_cannot_change_the_tree_or_anyone_placement(api: TestClient, keys: Keys, people: People) -> None:
    hq = made(api, keys, name='总部')
    error_of(api.post('/api/v1/departments', json={'name': 'x'}, headers=keys.bob), 403)
    error_of(api.patch(f'/api/v1/departments/{hq["id"]}', json={'name': 'x'}, headers=keys.bob), 403)
    error_of(api.delete(f'/api/v1/departments/{hq["id"]}', headers=keys.bob), 403)
    error_of(api.put(f'/api/v1/users/{people.bob.id}/placement', json={'position': 'CEO'}, headers=keys.bob), 403)
    error_of(api.get(f'/api/v1/users/{people.alice.id}/placement', headers=keys.bob), 403)
    error_of(api.get('/api/v1/departments'), 401)


def test_moving_to_the_top_merging_and_closing(api: TestClient, keys: Keys, people: People) -> None:
    hq = made(api, keys, name='总部')
    a = made(api, keys, name='A', parent_id=hq['id'])
    b = made(api, keys, name='B', parent_id=hq['id'])
    moved = api.patch(f'/api/v1/departments/{a["id"]}', json={'parent_id': None}, headers=keys.alice).json()
    assert (moved['parent_id'], moved['path']) == (None, ['A'])
    kept = api.patch(f'/api/v1/departments/{a["id"]}', json={'name': 'A2'}, headers=keys.alice).json()
    assert kept['parent_id'] is None  # a field not sent is left alone
    error_of(api.patch(f'/api/v1/departments/{hq["id"]}', json={'parent_id': hq['id']}, headers=keys.alice), 409)
    merged = api.post(f'/api/v1/departments/{b["id"]}/merge', json={'into': a['id']}, headers=keys.alice)
    assert merged.status_code == 200 and merged.json()['id'] == a['id']
    gone = api.get(f'/api/v1/departments/{b["id"]}', headers=keys.bob).json()
    assert gone['merged_into_id'] == a['id'] and gone['closed_at']
    history = api.get(f'/api/v1/departments/{b["id"]}/history', headers=keys.bob).json()
    assert [event['action'] for event in history] == ['merged', 'created']
    assert history[0]['details']['into'] == 'A2'
    assert api.delete(f'/api/v1/departments/{hq["id"]}', headers=keys.alice).status_code == 204
    assert [d['name'] for d in api.get('/api/v1/departments', headers=keys.bob).json()] == ['A2']


def test_bad_input_is_refused_with_a_sentence(api: TestClient, keys: Keys, people: People) -> None:
    made(api, keys, name='总部', code='HQ')
    for body, status in (
        ({'name': ''}, 422),
        ({'name': 'x', 'code': 'hq'}, 409),
        ({'name': 'x', 'parent_id': 999999}, 422),
        ({'name': 'x', 'parent_id': 0}, 422),
        ({'name': 'x' * 301}, 422),
        ({'name': '总部'}, 409),
    ):
        error_of(api.post('/api/v1/departments', json=body, headers=keys.alice), status)
    error_of(api.get('/api/v1/departments/999999', headers=keys.alice), 404)
    error_of(
        api.put(f'/api/v1/users/{people.bob.id}/placement', json={'manager_id': people.bob.id}, headers=keys.alice),
        422,
    )
    assert len(api.get('/api/v1/departments', headers=keys.alice).json()) == 1
