"""Tasks services: workflow, creating and changing tasks, the rules on what a task refers to, bad input."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from appliance.db import get_database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import AuditEvent, Notification, SearchTerms
from modules.projects.models import Activity, Milestone
from modules.tasks import services
from modules.tasks.models import Dependency, Label, Status, Task, TaskLabel, Watcher
from tests.appliance.support import count
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.support import run, snapshot


def actions() -> list[str]:
    with get_database().session() as session:
        return list(session.scalars(select(Activity.action).order_by(Activity.id)))


@pytest.fixture
def web(team: Team) -> Any:
    return make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})


def test_it_creates_the_default_workflow_on_first_use(team: Team) -> None:
    with get_database().session() as session:
        from modules.projects.models import Project

        project = Project(key='NEW', name='New')
        session.add(project)
    assert statuses_of(project.id) == []
    views = run(services.list_statuses, actor=team.alice, project_id=project.id)
    assert [(s.name, s.is_closed) for s in views] == [('To do', False), ('In progress', False), ('Done', True)]
    assert len(run(services.list_statuses, actor=team.alice, project_id=project.id)) == 3


def test_a_chinese_organisation_gets_its_default_columns_in_chinese(team: Team) -> None:
    from appliance.services import orgsettings
    from modules.projects.models import Project

    with get_database().session() as session:
        orgsettings.put(session, 'language', 'zh_CN')
        project = Project(key='ZH', name='中文项目')
        session.add(project)
    views = run(services.list_statuses, actor=team.alice, project_id=project.id)
    assert [(s.name, s.is_closed) for s in views] == [('待办', False), ('进行中', False), ('已完成', True)]


def test_it_creates_a_task_numbered_per_project_with_ref_watchers_index_and_activity(team: Team, web: Any) -> None:
    first = run(services.create_task, actor=team.bob, project_id=web.id, title='  Build the  homepage ')
    second = run(
        services.create_task,
        actor=team.bob,
        project_id=web.id,
        title='首页 项目管理',
        assignee_ids=[team.dave.id],
        due_date=date(2030, 1, 2),
        estimate_hours='2.5',
    )
    assert (first.number, second.number, first.title) == (1, 2, 'Build the homepage')
    assert second.estimate_hours == Decimal('2.50')
    assert second.position > first.position
    detail = run(services.get_task, actor=team.dave, task_id=second.id)
    assert detail.card.ref == 'WEB-2'
    assert [p.username for p in detail.card.assignees] == ['dave']
    assert {p.username for p in detail.watchers} == {'bob', 'dave'}
    assert detail.reporter is not None and detail.reporter.username == 'bob'
    assert count(SearchTerms, SearchTerms.kind == 'task', SearchTerms.ref_id == second.id) == 1
    assert actions() == ['task.created', 'task.created', 'task.assigned']
    assert count(Notification, Notification.user_id == team.dave.id, Notification.kind == 'assigned') == 1
    with get_database().session() as session:
        details = json.loads(session.scalars(select(Activity.details).order_by(Activity.id.desc())).first() or '{}')
    assert details['ref'] == 'WEB-2' and details['title'] == '首页 项目管理'


@pytest.mark.parametrize(
    ('changes', 'field'),
    [
        ({'title': '   '}, 'title'),
        ({'title': 'x' * 201}, 'title'),
        ({'description': 'x' * 50_001}, 'description'),
        ({'priority': 'whenever'}, 'priority'),
        ({'start_date': date(2030, 2, 1), 'due_date': date(2030, 1, 1)}, 'due_date'),
        ({'estimate_hours': '-1'}, 'estimate_hours'),
        ({'estimate_hours': '10001'}, 'estimate_hours'),
        ({'estimate_hours': 'lots'}, 'estimate_hours'),
    ],
)
def test_it_refuses_bad_fields_and_changes_nothing(team: Team, web: Any, changes: dict[str, Any], field: str) -> None:
    task = make_task(project=web, title='Keep me', due_date=date(2030, 1, 15))
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        run(services.update_task, actor=team.bob, task_id=task.id, changes=changes)
    assert caught.value.field == field
    with pytest.raises(ValidationError):
        run(services.create_task, actor=team.bob, project_id=web.id, **{'title': 'New', **changes})
    assert snapshot() == before


def test_it_refuses_a_start_after_the_existing_due_date(team: Team, web: Any) -> None:
    task = make_task(project=web, due_date=date(2030, 1, 15))
    with pytest.raises(ValidationError, match='start date is after'):
        run(services.update_task, actor=team.bob, task_id=task.id, changes={'start_date': date(2030, 1, 16)})


def test_it_refuses_assigning_a_non_member_by_name_and_changes_nothing(team: Team, web: Any) -> None:
    task = make_task(project=web)
    before = snapshot()
    with pytest.raises(ValidationError, match='Charlie Outsider') as caught:
        run(
            services.update_task,
            actor=team.bob,
            task_id=task.id,
            changes={'assignee_ids': [team.dave.id, team.charlie.id]},
        )
    assert caught.value.field == 'assignee_ids'
    with pytest.raises(ValidationError, match='Charlie Outsider'):
        run(services.create_task, actor=team.bob, project_id=web.id, title='x', assignee_ids=[team.charlie.id])
    assert snapshot() == before
    assert count(Notification) == 0


def test_it_refuses_a_status_label_milestone_or_parent_of_another_project(team: Team, web: Any) -> None:
    other = make_project(key='OPS', name='Ops', members={team.bob.id: 'manager'})
    task = make_task(project=web)
    foreign = make_task(project=other)
    other_status = statuses_of(other.id)[1]
    with get_database().session() as session:
        label = Label(project_id=other.id, name='ops')
        milestone = Milestone(project_id=other.id, name='M1')
        session.add_all([label, milestone])
    before = snapshot()
    for changes, field in [
        ({'status_id': other_status.id}, 'status_id'),
        ({'label_ids': [label.id]}, 'label_ids'),
        ({'milestone_id': milestone.id}, 'milestone_id'),
        ({'parent_id': foreign.id}, 'parent_id'),
    ]:
        with pytest.raises(ValidationError) as caught:
            run(services.update_task, actor=team.bob, task_id=task.id, changes=changes)
        assert caught.value.field == field
    with pytest.raises(ValidationError, match='another project'):
        run(services.move_task, actor=team.bob, task_id=task.id, status_id=other_status.id)
    with pytest.raises(ValidationError, match='another project'):
        run(services.create_task, actor=team.bob, project_id=web.id, title='x', status_id=other_status.id)
    assert snapshot() == before


def test_it_refuses_unknown_fields(team: Team, web: Any) -> None:
    task = make_task(project=web)
    with pytest.raises(ValidationError) as caught:
        run(services.update_task, actor=team.bob, task_id=task.id, changes={'number': 7})
    assert caught.value.field == 'number'


def test_it_updates_fields_records_activity_and_reindexes(team: Team, web: Any) -> None:
    task = run(services.create_task, actor=team.bob, project_id=web.id, title='Old title')
    label = run(services.create_label, actor=team.dave, project_id=web.id, name='bug', color='#FF0000')
    done = statuses_of(web.id)[2]
    run(
        services.update_task,
        actor=team.dave,
        task_id=task.id,
        changes={'title': '新的 title', 'label_ids': [label.id], 'status_id': done.id, 'assignee_ids': [team.bob.id]},
    )
    detail = run(services.get_task, actor=team.bob, task_id=task.id)
    assert detail.card.title == '新的 title'
    assert [lbl.name for lbl in detail.card.labels] == ['bug']
    assert detail.card.closed and detail.card.status_name == 'Done'
    with get_database().session() as session:
        row = session.get(Task, task.id)
        assert row is not None and row.closed_at is not None and row.updated_at > task.updated_at
        terms = session.scalar(select(SearchTerms.terms).where(SearchTerms.ref_id == task.id))
    assert terms is not None and '新的' in terms
    assert actions()[1:] == ['label.created', 'task.moved', 'task.assigned', 'task.updated']
    # Bob assigned himself through dave: dave acted, so bob hears of it.
    assert count(Notification, Notification.user_id == team.bob.id) == 1
    run(services.update_task, actor=team.dave, task_id=task.id, changes={'status_id': statuses_of(web.id)[0].id})
    with get_database().session() as session:
        row = session.get(Task, task.id)
        assert row is not None and row.closed_at is None


def test_it_refuses_a_parent_cycle(team: Team, web: Any) -> None:
    a, b, c = (make_task(project=web, title=t) for t in 'abc')
    run(services.update_task, actor=team.bob, task_id=b.id, changes={'parent_id': a.id})
    run(services.update_task, actor=team.bob, task_id=c.id, changes={'parent_id': b.id})
    before = snapshot()
    with pytest.raises(ValidationError, match='own parent'):
        run(services.update_task, actor=team.bob, task_id=a.id, changes={'parent_id': c.id})
    with pytest.raises(ValidationError, match='own parent'):
        run(services.update_task, actor=team.bob, task_id=a.id, changes={'parent_id': a.id})
    assert snapshot() == before
    subtasks = run(services.get_task, actor=team.bob, task_id=a.id).subtasks
    assert [s.ref for s in subtasks] == ['WEB-2']


def test_it_refuses_dependency_cycles_duplicates_self_and_other_projects(team: Team, web: Any) -> None:
    a, b, c = (make_task(project=web, title=t) for t in 'abc')
    foreign = make_task(project=make_project(key='OPS', members={team.bob.id: 'member'}))
    run(services.add_dependency, actor=team.bob, blocker_id=a.id, blocked_id=b.id)
    run(services.add_dependency, actor=team.bob, blocker_id=b.id, blocked_id=c.id)
    before = snapshot()
    for blocker, blocked, message in [
        (c.id, a.id, 'loop'),
        (b.id, a.id, 'loop'),
        (a.id, b.id, 'already blocks'),
        (a.id, a.id, 'itself'),
        (foreign.id, a.id, 'same project'),
    ]:
        with pytest.raises(ValidationError, match=message):
            run(services.add_dependency, actor=team.bob, blocker_id=blocker, blocked_id=blocked)
    assert snapshot() == before
    detail = run(services.get_task, actor=team.bob, task_id=b.id)
    assert ([t.ref for t in detail.blocked_by], [t.ref for t in detail.blocking]) == (['WEB-1'], ['WEB-3'])
    run(services.remove_dependency, actor=team.bob, blocker_id=a.id, blocked_id=b.id)
    assert count(Dependency) == 1
    with pytest.raises(NotFound):
        run(services.remove_dependency, actor=team.bob, blocker_id=a.id, blocked_id=b.id)


def test_it_deletes_a_task_with_audit_and_unlinks_subtasks(team: Team, web: Any) -> None:
    parent = run(services.create_task, actor=team.bob, project_id=web.id, title='Parent')
    child = run(services.create_task, actor=team.bob, project_id=web.id, title='Child', parent_id=parent.id)
    run(services.delete_task, actor=team.dave, task_id=parent.id)
    with get_database().session() as session:
        assert session.get(Task, parent.id) is None
        row = session.get(Task, child.id)
        assert row is not None and row.parent_id is None
    assert count(SearchTerms, SearchTerms.ref_id == parent.id, SearchTerms.kind == 'task') == 0
    assert count(AuditEvent, AuditEvent.action == 'tasks.task_deleted', AuditEvent.target == f'task:{parent.id}') == 1
    assert actions()[-1] == 'task.deleted'


def test_it_finds_a_task_by_ref(team: Team, web: Any) -> None:
    task = make_task(project=web)
    assert run(services.find_by_ref, actor=team.dave, ref='web-1').id == task.id
    for ref in ('WEB-2', 'nonsense', 'WEB-x'):
        with pytest.raises(NotFound):
            run(services.find_by_ref, actor=team.dave, ref=ref)
    with pytest.raises(NotFound):
        run(services.find_by_ref, actor=team.charlie, ref='WEB-1')


def test_it_manages_the_workflow(team: Team, web: Any) -> None:
    review = run(services.add_status, actor=team.bob, project_id=web.id, name='Review')
    todo, doing, done = statuses_of(web.id)[:3]
    task = make_task(project=web, status='Review')
    with pytest.raises(ValidationError):
        run(services.add_status, actor=team.bob, project_id=web.id, name='review')
    run(
        services.reorder_statuses, actor=team.bob, project_id=web.id, status_ids=[review.id, todo.id, doing.id, done.id]
    )
    assert [s.name for s in statuses_of(web.id)] == ['Review', 'To do', 'In progress', 'Done']
    with pytest.raises(ValidationError):
        run(services.reorder_statuses, actor=team.bob, project_id=web.id, status_ids=[review.id, todo.id])
    run(services.update_status, actor=team.bob, status_id=review.id, name='Checked', is_closed=True)
    with get_database().session() as session:
        row = session.get(Task, task.id)
        assert row is not None and row.closed_at is not None
    run(services.update_status, actor=team.bob, status_id=review.id, is_closed=False)
    with pytest.raises(Conflict):
        run(services.delete_status, actor=team.bob, status_id=done.id, move_to_id=todo.id)
    run(services.update_status, actor=team.bob, status_id=review.id, is_closed=True)
    run(services.delete_status, actor=team.bob, status_id=review.id, move_to_id=done.id)
    with get_database().session() as session:
        row = session.get(Task, task.id)
        assert row is not None and row.status_id == done.id
    assert count(Status, Status.project_id == web.id) == 3
    with pytest.raises(ValidationError):
        run(
            services.delete_status,
            actor=team.bob,
            status_id=todo.id,
            move_to_id=statuses_of(make_project(key='X').id)[0].id,
        )
    with pytest.raises(PermissionDenied):
        run(services.add_status, actor=team.dave, project_id=web.id, name='Nope')


def test_it_keeps_the_last_closed_column(team: Team, web: Any) -> None:
    todo, _doing, done = statuses_of(web.id)
    before = snapshot()
    with pytest.raises(Conflict):
        run(services.delete_status, actor=team.bob, status_id=done.id, move_to_id=todo.id)
    with pytest.raises(ValidationError):
        run(services.update_status, actor=team.bob, status_id=done.id, is_closed=False)
    assert snapshot() == before and count(Status, Status.project_id == web.id) == 3


def test_it_manages_labels(team: Team, web: Any) -> None:
    label = run(services.create_label, actor=team.dave, project_id=web.id, name='前端', color='#00aa00')
    task = make_task(project=web)
    run(services.update_task, actor=team.dave, task_id=task.id, changes={'label_ids': [label.id]})
    assert [v.name for v in run(services.list_labels, actor=team.dave, project_id=web.id)] == ['前端']
    with pytest.raises(ValidationError):
        run(services.create_label, actor=team.dave, project_id=web.id, name='前端')
    with pytest.raises(ValidationError):
        run(services.create_label, actor=team.dave, project_id=web.id, name='x', color='red')
    with pytest.raises(PermissionDenied):
        run(services.delete_label, actor=team.dave, label_id=label.id)
    run(services.delete_label, actor=team.bob, label_id=label.id)
    assert count(Label) == 0 and count(TaskLabel) == 0


def labels_now() -> list[tuple[str, str]]:
    with get_database().session() as session:
        return [(lb.name, lb.color) for lb in session.scalars(select(Label).order_by(Label.id))]


def test_it_lets_managers_rename_and_recolour_labels_and_no_one_else(team: Team, web: Any) -> None:
    from tests.conftest import make_user

    vic = make_user(username='vic', roles=['member'])
    with get_database().session() as session:
        from modules.projects.models import Member

        session.add(Member(project_id=web.id, user_id=vic.id, role='viewer'))
    bug = run(services.create_label, actor=team.dave, project_id=web.id, name='bug', color='#ff0000')
    run(services.create_label, actor=team.dave, project_id=web.id, name='ui')
    task = make_task(project=web)
    run(services.update_task, actor=team.dave, task_id=task.id, changes={'label_ids': [bug.id]})
    before = labels_now()
    with pytest.raises(PermissionDenied):
        run(services.create_label, actor=vic, project_id=web.id, name='viewer label')
    with pytest.raises(NotFound):
        run(services.create_label, actor=team.charlie, project_id=web.id, name='outsider')
    with pytest.raises(PermissionDenied):
        run(services.update_label, actor=team.dave, label_id=bug.id, name='defect')
    with pytest.raises(NotFound):
        run(services.update_label, actor=team.charlie, label_id=bug.id, name='defect')
    with pytest.raises(NotFound):
        run(services.delete_label, actor=team.charlie, label_id=bug.id)
    with pytest.raises(ValidationError):
        run(services.update_label, actor=team.bob, label_id=bug.id, name='UI')
    with pytest.raises(ValidationError):
        run(services.update_label, actor=team.bob, label_id=bug.id, color='#ff00')
    with pytest.raises(ValidationError):
        run(services.update_label, actor=team.bob, label_id=bug.id, name=' ')
    assert labels_now() == before
    run(services.update_label, actor=team.bob, label_id=bug.id, name='defect', color='#00AA00')
    assert labels_now() == [('defect', '#00aa00'), ('ui', '#64748b')]
    assert [lb.name for lb in run(services.get_task, actor=team.dave, task_id=task.id).card.labels] == ['defect']
    assert actions()[-1] == 'label.updated'


def test_it_keeps_a_checklist_and_watchers(team: Team, web: Any) -> None:
    task = make_task(project=web)
    first = run(services.add_checklist_item, actor=team.dave, task_id=task.id, text='Write copy')
    run(services.add_checklist_item, actor=team.dave, task_id=task.id, text='Pick photos')
    run(services.update_checklist_item, actor=team.dave, item_id=first, done=True, text='Write the copy')
    with pytest.raises(ValidationError):
        run(services.add_checklist_item, actor=team.dave, task_id=task.id, text=' ')
    detail = run(services.get_task, actor=team.dave, task_id=task.id)
    assert [(c.text, c.done) for c in detail.checklist] == [('Write the copy', True), ('Pick photos', False)]
    run(services.delete_checklist_item, actor=team.dave, item_id=first)
    run(services.set_watching, actor=team.dave, task_id=task.id, watching=True)
    run(services.set_watching, actor=team.dave, task_id=task.id, watching=True)
    assert run(services.get_task, actor=team.dave, task_id=task.id).watching
    run(services.set_watching, actor=team.dave, task_id=task.id, watching=False)
    assert count(Watcher) == 0
    assert len(run(services.get_task, actor=team.dave, task_id=task.id).checklist) == 1
