"""Ids beyond 64 bits: every operation of the OpenAPI document answers 422 naming the parameter, never 500."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from appliance.api import core, notifications
from modules.projects.api import router as projects_router
from modules.tasks.api import router as tasks_router
from tests.appliance.support import (  # noqa: F401 - fixtures
    api_fixture,
    app_client_fixture,
    bearer,
    error_of,
)
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

HUGE = 2**64


def _operations() -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path, id parameters in the path, required or id parameters in the query) of every API operation."""
    routers = [core.router, notifications.router, projects_router(), tasks_router()]
    routes = [ctx for router in routers for ctx in iter_route_contexts(router.routes)]
    doc = get_openapi(title='Enclave API', version='test', routes=routes)
    found = []
    for path, operations in doc['paths'].items():
        for method, operation in operations.items():
            params = operation.get('parameters', [])
            in_path = [p['name'] for p in params if p['in'] == 'path' and p['name'].endswith('_id')]
            in_query = [p['name'] for p in params if p['in'] == 'query' and p['name'].endswith('_id')]
            if in_path or in_query:
                found.append((method.upper(), path, in_path, in_query))
    return found


OPERATIONS = _operations()


def test_it_finds_the_operations_with_ids() -> None:
    assert len(OPERATIONS) >= 50


@pytest.fixture
def bob(team: Team) -> dict[str, str]:
    project = make_project(members={team.bob.id: 'manager'})
    make_task(project=project)
    return bearer(make_token(team.bob))


IDS = [f'{o[0]} {o[1]}' for o in OPERATIONS]


@pytest.mark.parametrize(('method', 'path', 'in_path', 'in_query'), OPERATIONS, ids=IDS)
def test_it_refuses_an_id_beyond_64_bits_with_422(
    api: TestClient, bob: dict[str, str], method: str, path: str, in_path: list[str], in_query: list[str]
) -> None:
    for name in in_path + in_query:
        url = re.sub(r'\{(\w+)\}', lambda m, name=name: str(HUGE) if m.group(1) == name else '1', path)
        query = {other: '1' for other in in_query if other != name}
        if name in in_query:
            query[name] = str(HUGE)
        kwargs: dict[str, Any] = {'params': query, 'headers': bob}
        if method in ('POST', 'PUT', 'PATCH'):
            kwargs['json'] = {}
        response = api.request(method, url, **kwargs)
        error = error_of(response, 422)
        assert name in error['message'], (name, error)


@pytest.mark.parametrize(
    ('method', 'path', 'body', 'field'),
    [
        ('POST', '/api/v1/tasks', {'project_id': HUGE, 'title': 'x'}, 'project_id'),
        ('POST', '/api/v1/tasks', {'project_id': 1, 'title': 'x', 'assignee_ids': [HUGE]}, 'assignee_ids'),
        ('PATCH', '/api/v1/tasks/1', {'parent_id': HUGE}, 'parent_id'),
        ('POST', '/api/v1/tasks/1/move', {'status_id': HUGE}, 'status_id'),
        ('POST', '/api/v1/projects/1/members', {'user_id': HUGE}, 'user_id'),
        ('PATCH', '/api/v1/projects/1', {'owner_id': HUGE}, 'owner_id'),
        ('POST', '/api/v1/tasks/1/time-entries', {'day': '2026-01-01', 'hours': 1, 'user_id': HUGE}, 'user_id'),
    ],
)
def test_it_refuses_an_id_beyond_64_bits_in_a_body(
    api: TestClient, bob: dict[str, str], method: str, path: str, body: dict[str, Any], field: str
) -> None:
    error = error_of(api.request(method, path, json=body, headers=bob), 422)
    assert field in error['message'], error


@pytest.mark.parametrize('param', ['assignee', 'label', 'status'])
def test_it_never_fails_on_a_huge_number_in_a_reference(api: TestClient, bob: dict[str, str], param: str) -> None:
    response = api.get('/api/v1/tasks', params={'project_id': 1, param: str(HUGE)}, headers=bob)
    assert response.status_code in (200, 404, 422), response.text


@pytest.mark.parametrize('value', ['²', '١٢', str(2**63), '00000000000000000000001'])
def test_it_matches_nothing_for_a_reference_beyond_a_column(api: TestClient, bob: dict[str, str], value: str) -> None:
    for param in ('assignee', 'label', 'status'):
        response = api.get('/api/v1/tasks', params={'project_id': 1, param: value}, headers=bob)
        assert response.status_code in (200, 404, 422), response.text
