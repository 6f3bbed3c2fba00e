"""Who may do what with tasks: the outsider sees nothing, erin is refused, a viewer only reads; plus project stats."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from appliance.errors import NotFound, PermissionDenied
from modules.projects.models import Project
from modules.tasks import services
from modules.tasks.services import stats
from modules.tasks.views import TaskFilter
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.test_services import run, snapshot


@pytest.fixture
def web(team: Team) -> Project:
    return make_project(members={team.bob.id: 'manager', team.dave.id: 'viewer'})


def writes(task_id: int, project_id: int, status_id: int) -> list[tuple[Any, dict[str, Any]]]:
    return [
        (services.create_task, {'project_id': project_id, 'title': 'x'}),
        (services.update_task, {'task_id': task_id, 'changes': {'title': 'x'}}),
        (services.move_task, {'task_id': task_id, 'status_id': status_id}),
        (services.delete_task, {'task_id': task_id}),
        (services.add_status, {'project_id': project_id, 'name': 'x'}),
        (services.create_label, {'project_id': project_id, 'name': 'x'}),
        (services.add_checklist_item, {'task_id': task_id, 'text': 'x'}),
        (services.add_dependency, {'blocker_id': task_id, 'blocked_id': task_id}),
    ]


def reads(task_id: int, project_id: int) -> list[tuple[Any, dict[str, Any]]]:
    return [
        (services.get_task, {'task_id': task_id}),
        (services.board, {'project_id': project_id}),
        (services.list_statuses, {'project_id': project_id}),
        (services.list_labels, {'project_id': project_id}),
        (services.list_tasks, {'filters': TaskFilter(project_id=project_id)}),
        (services.calendar, {'year': 2030, 'month': 1, 'project_id': project_id}),
        (services.set_watching, {'task_id': task_id, 'watching': True}),
    ]


def test_it_hides_everything_from_charlie(team: Team, web: Project) -> None:
    task = make_task(project=web, due_date=date(2030, 1, 2), title='Secret')
    before = snapshot()
    for fn, kwargs in [*writes(task.id, web.id, statuses_of(web.id)[1].id), *reads(task.id, web.id)]:
        with pytest.raises(NotFound):
            run(fn, actor=team.charlie, **kwargs)
    assert snapshot() == before
    assert run(services.list_tasks, actor=team.charlie, filters=TaskFilter()).total == 0
    assert run(services.calendar, actor=team.charlie, year=2030, month=1) == {}
    assert all(v == [] for v in run(services.my_tasks, actor=team.charlie, today=date(2030, 1, 1)).values())


def test_it_refuses_erin(team: Team, web: Project) -> None:
    task = make_task(project=web)
    before = snapshot()
    for fn, kwargs in [*writes(task.id, web.id, statuses_of(web.id)[1].id), *reads(task.id, web.id)]:
        with pytest.raises(PermissionDenied):
            run(fn, actor=team.erin, **kwargs)
    with pytest.raises(PermissionDenied):
        run(services.my_tasks, actor=team.erin, today=date(2030, 1, 1))
    assert snapshot() == before


def test_it_lets_a_viewer_read_but_not_write(team: Team, web: Project) -> None:
    task = make_task(project=web)
    before = snapshot()
    for fn, kwargs in writes(task.id, web.id, statuses_of(web.id)[1].id):
        with pytest.raises(PermissionDenied):
            run(fn, actor=team.dave, **kwargs)
    assert snapshot() == before
    for fn, kwargs in reads(task.id, web.id):
        run(fn, actor=team.dave, **kwargs)
    assert run(services.board, actor=team.dave, project_id=web.id).can_edit is False


def test_it_lets_an_org_member_read_an_org_project(team: Team) -> None:
    public = make_project(key='PUB', visibility='org', members={team.bob.id: 'manager'})
    task = make_task(project=public)
    assert run(services.get_task, actor=team.charlie, task_id=task.id).can_edit is False
    with pytest.raises(PermissionDenied):
        run(services.update_task, actor=team.charlie, task_id=task.id, changes={'title': 'x'})


def test_it_refuses_writes_in_an_archived_project(team: Team) -> None:
    from appliance.errors import Conflict

    old = make_project(key='OLD', status='archived', members={team.bob.id: 'manager'})
    task = make_task(project=old)
    with pytest.raises(Conflict):
        run(services.update_task, actor=team.bob, task_id=task.id, changes={'title': 'x'})


def test_it_feeds_project_stats(team: Team) -> None:
    web = make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})
    with_dates = run(
        services.create_task,
        actor=team.bob,
        project_id=web.id,
        title='a',
        start_date=date(2030, 1, 1),
        due_date=date(2030, 1, 5),
        assignee_ids=[team.dave.id],
        estimate_hours=3,
    )
    late = run(
        services.create_task,
        actor=team.bob,
        project_id=web.id,
        title='b',
        due_date=date(2030, 1, 8),
        assignee_ids=[team.dave.id],
    )
    run(services.create_task, actor=team.bob, project_id=web.id, title='c')
    run(services.add_dependency, actor=team.bob, blocker_id=with_dates.id, blocked_id=late.id)
    run(services.move_task, actor=team.bob, task_id=with_dates.id, status_id=statuses_of(web.id)[2].id)
    with __import__('appliance.db', fromlist=['get_database']).get_database().session() as session:
        assert stats.progress(session, [web.id]) == {web.id: (1, 3)}
        assert stats.count_items(session, web.id) == 3
        overdue = stats.overdue(session, web.id, date(2030, 2, 1), 10)
        assert [(o.label, o.assignees) for o in overdue] == [('WEB-2 b', ('Dave 李娜',))]
        load = {w.display_name: (w.open_items, w.open_hours) for w in stats.workload(session, web.id)}
        assert load == {'Dave 李娜': (1, 0.0), 'Bob 张伟': (0, 0.0)}
        items = stats.timeline(session, web.id)
        assert [(i.id, i.done, i.blocked_by) for i in items] == [
            (f't{with_dates.id}', True, ()),
            (f't{late.id}', False, (f't{with_dates.id}',)),
        ]
