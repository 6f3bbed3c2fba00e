"""/api/v1/people: the classification holds in the API, sealed values come masked, reveal is audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.appliance.support import Keys, api_fixture, app_client_fixture, bearer, error_of, keys_fixture  # noqa: F401
from tests.conftest import People, make_token, make_user

ID = '11010519491231002X'


@pytest.fixture
def hr_key(people: People) -> dict[str, str]:
    return bearer(make_token(make_user(username='hr.wu', roles=['member', 'hr'])))


def create(api: TestClient, hr_key: dict[str, str], people: People) -> int:
    body = {
        'fields': {
            'employee_no': 'E0001',
            'legal_name': '张伟',
            'status': 'active',
            'birth_date': '1990-05-17',
            'id_type': 'resident_id',
            'id_number': ID,
            'salary': '30000',
        },
        'user_id': people.bob.id,
    }
    response = api.post('/api/v1/people', json=body, headers=hr_key)
    assert response.status_code == 201, response.text
    return int(response.json()['id'])


def test_hr_creates_a_record_and_each_caller_sees_what_they_may(
    api: TestClient, keys: Keys, hr_key: dict[str, str], people: People
) -> None:
    record = create(api, hr_key, people)
    as_hr = api.get(f'/api/v1/people/{record}', headers=hr_key).json()
    assert as_hr['fields']['id_number'] == '110***********002X' and as_hr['fields']['salary'] == '****'
    assert as_hr['fields']['birth_date'] == '1990-05-17'
    as_bob = api.get(f'/api/v1/people/{record}', headers=keys.bob).json()
    assert 'birth_date' not in as_bob['fields'] and as_bob['fields']['id_number'] == '110***********002X'
    as_charlie = api.get(f'/api/v1/people/{record}', headers=keys.charlie).json()
    assert set(as_charlie['fields']) == {'employee_no', 'legal_name', 'english_name', 'work_location'}
    as_alice = api.get(f'/api/v1/people/{record}', headers=keys.alice).json()
    assert set(as_alice['fields']) == set(as_charlie['fields'])  # an admin is not HR
    assert ID not in str(as_hr) + str(as_bob)
    error_of(api.get('/api/v1/people', headers=keys.alice), 403)
    assert api.get('/api/v1/people', headers=hr_key).json()['total'] == 1


def test_reveal_answers_the_plain_value_to_hr_and_the_person_only(
    api: TestClient, keys: Keys, hr_key: dict[str, str], people: People
) -> None:
    record = create(api, hr_key, people)
    url = f'/api/v1/people/{record}/reveal'
    shown = api.post(url, json={'field': 'id_number', 'reason': '核对社保'}, headers=hr_key)
    assert shown.status_code == 200 and shown.json()['value'] == ID
    assert api.post(url, json={'field': 'salary', 'reason': 'my own pay'}, headers=keys.bob).json()['value'] == '30000'
    error_of(api.post(url, json={'field': 'id_number', 'reason': 'curious'}, headers=keys.charlie), 403)
    error_of(api.post(url, json={'field': 'id_number', 'reason': 'curious'}, headers=keys.alice), 403)
    error_of(api.post(url, json={'field': 'id_number', 'reason': ''}, headers=hr_key), 422)
    error_of(api.post(url, json={'field': 'legal_name', 'reason': 'why not'}, headers=hr_key), 422)


def test_bad_records_are_refused_with_a_sentence(api: TestClient, hr_key: dict[str, str], people: People) -> None:
    create(api, hr_key, people)
    for fields, status in (
        ({'employee_no': 'E2', 'legal_name': 'x', 'id_type': 'resident_id', 'id_number': '110105194912310021'}, 422),
        ({'employee_no': 'E2', 'legal_name': 'x', 'hire_date': 'yesterday'}, 422),
        ({'employee_no': 'E0001', 'legal_name': 'x'}, 409),
        ({'employee_no': 'E2', 'legal_name': 'x', 'id_type': 'resident_id', 'id_number': ID}, 409),
        ({'employee_no': 'E2', 'legal_name': 'x', 'secret_field': 'x'}, 422),
    ):
        error_of(api.post('/api/v1/people', json={'fields': fields}, headers=hr_key), status)
    error_of(
        api.post(
            '/api/v1/people',
            json={'fields': {'employee_no': 'E3', 'legal_name': 'y'}, 'user_id': people.bob.id},
            headers=hr_key,
        ),
        409,
    )
    error_of(
        api.post(
            '/api/v1/people',
            json={'fields': {'employee_no': 'E3', 'legal_name': 'y'}, 'user_id': 999999},
            headers=hr_key,
        ),
        422,
    )
    assert api.get('/api/v1/people', headers=hr_key).json()['total'] == 1
