"""The OpenAPI document tells the truth: schemathesis runs every operation against a real server as a member.

Any 5xx, an undocumented status, a wrong content type or a body that does not match the documented schema fails.
The examples per operation are bounded so that the whole run stays near a minute on a slow machine. Also here:
the document lists the error answers, the allowed values as enums, and dates only as YYYY-MM-DD.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.api import core, directory, notifications, openapi
from console.upgrade.api import router as upgrade_router
from modules.people.api import router as people_router
from modules.projects.api import router as projects_router
from modules.tasks.api import router as tasks_router
from tests.appliance.support import (  # noqa: F401 - fixtures
    api_fixture,
    app_client_fixture,
    bearer,
    error_of,
)
from tests.conftest import make_token, make_user
from tests.livesrv import LiveServer, server_database, start_server
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

EXAMPLES = 3
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope='module')
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp('fuzz') / 'data', env={'ENCLAVE_MAX_UPLOAD_MB': '1'})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='module')
def member(live: LiveServer) -> dict[str, str]:
    """A member who manages a project holding a task (so ids 1 exist)."""
    with server_database(live.data_dir):
        person = make_user(username=f'fuzz{time.monotonic_ns() % 10**6}', roles=['member'])
        project = make_project(members={person.id: 'manager'})
        make_task(project=project)
        return bearer(make_token(person))


def _document() -> dict[str, Any]:
    """The document the server serves, built the same way here (schemathesis needs it at collection time)."""
    routers = [
        core.router,
        directory.router,
        notifications.router,
        upgrade_router(),
        projects_router(),
        tasks_router(),
        people_router(),
    ]
    return openapi.document([ctx for router in routers for ctx in iter_route_contexts(router.routes)])


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_it_fuzzes_the_document_the_server_serves(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, trust_env=False) as client:
        served = client.get('/api/v1/openapi.json').json()
    assert served['paths'] == DOCUMENT['paths']


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_it_answers_every_operation_as_documented(case: Any, live: LiveServer, member: dict[str, str]) -> None:
    case.call_and_validate(base_url=live.url, headers=member, checks=CHECKS, timeout=30)


def test_it_documents_the_errors_of_every_operation(api: TestClient) -> None:
    doc = api.get('/api/v1/openapi.json').json()
    assert 'HTTPValidationError' not in doc['components']['schemas']
    operations = [(path, method, op) for path, ops in doc['paths'].items() for method, op in ops.items()]
    assert len(operations) > 60
    for path, method, operation in operations:
        codes = set(operation['responses'])
        expected = {'503', '507'}
        if operation.get('security') != []:
            expected |= {'401', '403'}
        if '{' in path:
            expected |= {'404', '422'}
        if method in ('post', 'put', 'patch', 'delete') and operation.get('security') != []:
            expected |= {'404', '409'}
        assert expected <= codes, (method, path, codes)
        for code in expected:
            ref = operation['responses'][code]['content']['application/json']['schema']['$ref']
            assert ref == '#/components/schemas/Error', (method, path, code)
    feed = doc['paths']['/api/v1/calendar/{token}.ics']['get']
    assert feed['security'] == [] and '401' not in feed['responses']


def _enum_of(doc: dict[str, Any], path: str, method: str, name: str) -> list[Any]:
    for param in doc['paths'][path][method]['parameters']:
        if param['name'] == name:
            schema = param['schema']
            return schema.get('enum') or [v for s in schema.get('anyOf', []) for v in s.get('enum', [])]
    raise AssertionError(f'no {name} on {method} {path}')


def _body_enum(doc: dict[str, Any], model: str, name: str) -> list[Any]:
    schema = doc['components']['schemas'][model]['properties'][name]
    return schema.get('enum') or [v for s in schema.get('anyOf', []) for v in s.get('enum', [])]


def test_it_publishes_allowed_values_as_enums(api: TestClient) -> None:
    doc = api.get('/api/v1/openapi.json').json()
    assert set(_enum_of(doc, '/api/v1/tasks', 'get', 'sort')) == {
        'position',
        'due',
        'priority',
        'created',
        'updated',
        'title',
        'ref',
    }
    assert set(_enum_of(doc, '/api/v1/tasks', 'get', 'priority')) == {'', 'low', 'normal', 'high', 'urgent'}
    assert set(_enum_of(doc, '/api/v1/projects', 'get', 'status')) == {'', 'active', 'on_hold', 'done', 'archived'}
    assert set(_enum_of(doc, '/api/v1/projects/{project_id}/milestones', 'get', 'status')) == {'', 'open', 'done'}
    assert set(_body_enum(doc, 'MemberAdd', 'role')) == {'viewer', 'member', 'manager'}
    assert set(_body_enum(doc, 'MemberPatch', 'role')) == {'viewer', 'member', 'manager'}
    assert set(_body_enum(doc, 'ProjectPatch', 'status')) == {'active', 'on_hold', 'done'}
    assert set(_body_enum(doc, 'ProjectCreate', 'visibility')) == {'members', 'org'}
    assert set(_body_enum(doc, 'TaskCreate', 'priority')) == {'low', 'normal', 'high', 'urgent'}
    assert set(_body_enum(doc, 'MilestoneCreate', 'status')) == {'open', 'done'}


@pytest.fixture
def bob(team: Team) -> dict[str, str]:
    make_project(members={team.bob.id: 'manager'})
    return bearer(make_token(team.bob))


@pytest.mark.parametrize(
    ('method', 'path', 'params', 'body', 'field'),
    [
        ('GET', '/api/v1/tasks', {'due_to': '0'}, None, 'due_to'),
        ('GET', '/api/v1/tasks', {'due_from': '1700000000'}, None, 'due_from'),
        ('GET', '/api/v1/tasks/mine', {'today': '0.0'}, None, 'today'),
        ('POST', '/api/v1/tasks', None, {'project_id': 1, 'title': 'x', 'due_date': 0}, 'due_date'),
        ('POST', '/api/v1/tasks', None, {'project_id': 1, 'title': 'x', 'start_date': 0.0}, 'start_date'),
        ('POST', '/api/v1/projects', None, {'name': 'N', 'key': 'NEW', 'end_date': 86400}, 'end_date'),
        ('POST', '/api/v1/projects/1/milestones', None, {'name': 'M', 'due_date': '0'}, 'due_date'),
        ('GET', '/api/v1/tasks', {'sort': 'nonsense'}, None, 'sort'),
        ('PATCH', '/api/v1/projects/1', None, {'status': 'archived'}, 'status'),
    ],
)
def test_it_refuses_numbers_as_dates_and_values_outside_the_enums(
    api: TestClient,
    bob: dict[str, str],
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = api.request(method, path, params=params, json=body, headers=bob)
    error = error_of(response, 422)
    assert field in error['field'], error


def test_it_still_reads_a_real_date(api: TestClient, bob: dict[str, str]) -> None:
    response = api.get('/api/v1/tasks', params={'due_to': '2030-01-31'}, headers=bob)
    assert response.status_code == 200, response.text
    created = api.post('/api/v1/tasks', json={'project_id': 1, 'title': 'x', 'due_date': '2030-01-31'}, headers=bob)
    assert created.status_code == 201, created.text
    assert created.json()['due_date'] == '2030-01-31'
