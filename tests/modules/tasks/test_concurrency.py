"""Many writers at once on one project: numbers, positions, columns and labels stay unique and nobody gets a 500.

Real threads on the real database (SQLite in WAL mode, or PostgreSQL with ENCLAVE_TEST_DATABASE_URL): each call
has its own session and transaction, as concurrent requests have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from appliance.db import get_database
from appliance.errors import Conflict, ValidationError
from modules.projects import services as project_services
from modules.projects.models import Member, Project
from modules.tasks import services
from modules.tasks.models import CalendarFeed, Dependency, Label, Status, Task, Watcher
from modules.tasks.services import comments
from tests.appliance.support import api_fixture, app_client_fixture, bearer, count  # noqa: F401
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project

THREADS = 20


def together(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run work(0..n-1) in n threads that start at the same moment; the results or the exceptions, in order."""
    barrier = threading.Barrier(n)

    def one(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # the test looks at what each writer got
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def in_session(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a service in a write transaction of its own, as a page's action or an API route does."""
    with get_database().session(write=True) as session:
        return fn(session=session, **kwargs)


def numbers(project_id: int) -> list[int]:
    with get_database().session() as session:
        return list(session.scalars(select(Task.number).where(Task.project_id == project_id).order_by(Task.number)))


def test_it_numbers_tasks_created_at_once_consecutively(team: Team) -> None:
    web = make_project(members={team.bob.id: 'member'})
    per_thread = 3

    def create(i: int) -> list[int]:
        return [
            in_session(services.create_task, actor=team.bob, project_id=web.id, title=f'T{i}.{k}').number
            for k in range(per_thread)
        ]

    results = together(create)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert numbers(web.id) == list(range(1, THREADS * per_thread + 1))
    with get_database().session() as session:
        positions = list(session.scalars(select(Task.position).where(Task.project_id == web.id)))
    assert len(set(positions)) == len(positions)


def test_it_creates_the_default_workflow_once_when_a_new_project_is_used_at_once(team: Team) -> None:
    with get_database().session() as session:
        project = Project(key='NEW', name='New')
        session.add(project)
    results = together(lambda i: in_session(services.create_task, actor=team.alice, project_id=project.id, title='x'))
    assert [r for r in results if isinstance(r, Exception)] == []
    assert count(Status, Status.project_id == project.id) == 3
    assert numbers(project.id) == list(range(1, THREADS + 1))


def test_it_refuses_a_label_name_taken_at_the_same_moment_as_a_conflict(team: Team) -> None:
    web = make_project(members={team.bob.id: 'member'})
    results = together(lambda i: in_session(services.create_label, actor=team.bob, project_id=web.id, name='Bug'))
    created = [r for r in results if isinstance(r, Label)]
    refused = [r for r in results if isinstance(r, (ValidationError, Conflict))]
    assert len(created) == 1 and len(refused) == THREADS - 1, results
    assert count(Label, Label.project_id == web.id) == 1


def test_it_adds_columns_at_once_each_at_its_own_place(team: Team) -> None:
    web = make_project(members={team.bob.id: 'manager'})
    results = together(lambda i: in_session(services.add_status, actor=team.bob, project_id=web.id, name=f'C{i}'))
    assert [r for r in results if isinstance(r, Exception)] == []
    with get_database().session() as session:
        positions = list(session.scalars(select(Status.position).where(Status.project_id == web.id)))
    assert sorted(positions) == list(range(THREADS + 3))
    same = together(lambda i: in_session(services.add_status, actor=team.bob, project_id=web.id, name='Review'))
    assert sum(isinstance(r, Status) for r in same) == 1
    assert all(isinstance(r, (Status, ValidationError, Conflict)) for r in same), same


def test_it_gives_projects_created_at_once_with_one_key_one_project_and_conflicts(team: Team) -> None:
    results = together(
        lambda i: in_session(project_services.create_project, actor=team.alice, key='OPS', name=f'Ops {i}')
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
    assert count(Project, Project.key == 'OPS') == 1


@pytest.mark.parametrize('clients', [THREADS])
def test_it_answers_every_api_create_from_many_clients(api: TestClient, team: Team, clients: int) -> None:
    web = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    headers = [bearer(make_token(team.bob)), bearer(make_token(team.dave))]
    per_client = 3

    def create(i: int) -> list[int]:
        codes = []
        for k in range(per_client):
            response = api.post(
                '/api/v1/tasks', json={'project_id': web.id, 'title': f'T{i}.{k}'}, headers=headers[i % 2]
            )
            codes.append(response.status_code)
        return codes

    results = together(create, clients)
    assert results == [[201] * per_client] * clients
    assert numbers(web.id) == list(range(1, clients * per_client + 1))
    labels = together(
        lambda i: api.post(f'/api/v1/projects/{web.id}/labels', json={'name': 'bug'}, headers=headers[i % 2]),
        clients,
    )
    assert sorted(r.status_code for r in labels) == [201] + [422] * (clients - 1)


def pairs_of_tasks(project_id: int, actor: Any, n: int) -> list[tuple[int, int]]:
    """n pairs of fresh tasks (ids) in the project."""
    ids = [in_session(services.create_task, actor=actor, project_id=project_id, title=f'P{k}').id for k in range(2 * n)]
    return [(ids[k], ids[k + 1]) for k in range(0, 2 * n, 2)]


def test_it_answers_one_201_and_refusals_to_the_same_dependency_added_at_once(api: TestClient, team: Team) -> None:
    web = make_project(members={team.bob.id: 'member'})
    [(a, b)] = pairs_of_tasks(web.id, team.bob, 1)
    headers = bearer(make_token(team.bob))
    results = together(
        lambda i: api.post(f'/api/v1/tasks/{b}/dependencies', json={'blocker_id': a}, headers=headers).status_code
    )
    assert sorted(results) == [201] + [422] * (THREADS - 1), results
    assert count(Dependency, Dependency.blocked_id == b) == 1


def test_it_refuses_one_of_two_dependencies_that_would_make_a_loop_at_once(team: Team) -> None:
    web = make_project(members={team.bob.id: 'member'})
    pairs = pairs_of_tasks(web.id, team.bob, THREADS // 2)

    def add(i: int) -> Any:
        a, b = pairs[i // 2]
        blocker, blocked = (a, b) if i % 2 == 0 else (b, a)
        return in_session(services.add_dependency, actor=team.bob, blocker_id=blocker, blocked_id=blocked)

    results = together(add)
    assert all(r is None or isinstance(r, ValidationError) for r in results), results
    assert sum(r is None for r in results) == len(pairs)
    with get_database().session() as session:
        edges = set(session.execute(select(Dependency.blocker_id, Dependency.blocked_id)).tuples())
    assert not any((blocked, blocker) in edges for blocker, blocked in edges), edges


def test_it_refuses_one_of_two_parents_that_would_make_a_loop_at_once(team: Team) -> None:
    web = make_project(members={team.bob.id: 'member'})
    pairs = pairs_of_tasks(web.id, team.bob, THREADS // 2)

    def set_parent(i: int) -> Any:
        a, b = pairs[i // 2]
        task, parent = (a, b) if i % 2 == 0 else (b, a)
        return in_session(services.update_task, actor=team.bob, task_id=task, changes={'parent_id': parent})

    results = together(set_parent)
    assert all(isinstance(r, (Task, ValidationError)) for r in results), results
    assert sum(isinstance(r, Task) for r in results) == len(pairs)
    with get_database().session() as session:
        parent_of = dict(
            session.execute(select(Task.id, Task.parent_id).where(Task.project_id == web.id)).tuples().all()
        )
    assert not any(parent is not None and parent_of.get(parent) == task for task, parent in parent_of.items())


def test_it_makes_a_calendar_feed_many_times_at_once_and_the_last_token_handed_out_works(
    api: TestClient, team: Team
) -> None:
    headers = bearer(make_token(team.bob))
    results = together(lambda i: api.post('/api/v1/calendar-feed', headers=headers))
    assert [r.status_code for r in results] == [201] * THREADS, [r.text for r in results if r.status_code != 201]
    paths = {r.json()['url'].split('://', 1)[1].split('/', 1)[1] for r in results}
    assert len(paths) == THREADS
    working = [path for path in paths if api.get(f'/{path}').status_code == 200]
    assert len(working) == 1
    assert count(CalendarFeed, CalendarFeed.user_id == team.bob.id) == 1


def test_it_starts_watching_once_when_asked_many_times_at_once(team: Team) -> None:
    web = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    task = in_session(services.create_task, actor=team.bob, project_id=web.id, title='Watch me')
    results = together(lambda i: in_session(services.set_watching, actor=team.dave, task_id=task.id, watching=True))
    assert results == [None] * THREADS
    said = together(lambda i: in_session(comments.add_comment, actor=team.dave, task_id=task.id, body=f'c{i}'))
    assert [r for r in said if isinstance(r, Exception)] == []
    assert count(Watcher, Watcher.task_id == task.id, Watcher.user_id == team.dave.id) == 1


def test_it_keeps_a_manager_when_two_managers_step_down_at_once(team: Team) -> None:
    projects = [
        make_project(key=f'P{k}', members={team.bob.id: 'manager', team.dave.id: 'manager'})
        for k in range(THREADS // 2)
    ]

    def step_down(i: int) -> Any:
        project, actor = projects[i // 2], (team.bob, team.dave)[i % 2]
        return in_session(
            project_services.change_role, actor=actor, project_id=project.id, user_id=actor.id, role='member'
        )

    results = together(step_down)
    assert all(not isinstance(r, Exception) or isinstance(r, Conflict) for r in results), results
    for project in projects:
        assert count(Member, Member.project_id == project.id, Member.role == 'manager') >= 1


def test_it_keeps_a_closed_column_when_two_are_deleted_into_each_other_at_once(team: Team) -> None:
    projects = [make_project(key=f'C{k}', members={team.bob.id: 'manager'}) for k in range(THREADS // 2)]
    done = {}
    for project in projects:
        second = in_session(services.add_status, actor=team.bob, project_id=project.id, name='Shipped', is_closed=True)
        first = in_session(services.list_statuses, actor=team.bob, project_id=project.id)[2]
        done[project.id] = (first.id, second.id)

    def delete(i: int) -> Any:
        a, b = done[projects[i // 2].id]
        gone, into = (a, b) if i % 2 == 0 else (b, a)
        return in_session(services.delete_status, actor=team.bob, status_id=gone, move_to_id=into)

    results = together(delete)
    assert all(r is None or isinstance(r, (ValidationError, Conflict)) for r in results), results
    for project in projects:
        assert count(Status, Status.project_id == project.id, Status.is_closed.is_(True)) == 1
