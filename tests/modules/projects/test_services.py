"""Projects services: creating, changing, archiving and deleting projects, members, milestones and the feed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db import get_database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import AuditEvent, User
from appliance.search import global_search
from modules.projects import extensions, services
from modules.projects.extensions import OverdueItem, ProjectStats, TimelineItem, Workload
from modules.projects.models import Activity, Member, Milestone, Project
from tests.appliance.support import audit_rows, count
from tests.modules.conftest import Team, make_project

T = TypeVar('T')


def call(user: User, fn: Callable[[Session, User], T]) -> T:
    """Run a service as `user` in its own transaction."""
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        return fn(session, actor)


def project_row(project_id: int) -> Project:
    with get_database().session() as session:
        row = session.get(Project, project_id)
        assert row is not None
        return row


def fake_stats(items: int = 0) -> ProjectStats:
    """A contributing module with `items` items in every project, one overdue, one on the timeline."""
    return ProjectStats(
        progress=lambda s, ids: {pid: (1, items) for pid in ids},
        milestone_progress=lambda s, ids: {mid: (2, 3) for mid in ids},
        overdue=lambda s, pid, today, limit: [OverdueItem('WEB-1 Late', date(2020, 1, 1), '/tasks/1')],
        workload=lambda s, pid: [Workload(1, 'Bob', 3, 4.5)],
        timeline=lambda s, pid: [TimelineItem('t1', 'WEB-1', date(2030, 1, 1), date(2030, 1, 5))],
        count_items=lambda s, pid: items,
    )


@pytest.fixture
def web(team: Team) -> Project:
    """WEB: bob manages it, dave is a member; members only."""
    return make_project(owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member'})


def test_it_creates_a_project_with_the_creator_as_manager_and_owner(team: Team) -> None:
    view = call(team.bob, lambda s, a: services.create_project(session=s, actor=a, name=' Website ', key='web'))
    assert (view.key, view.name, view.status, view.my_role, view.owner_name) == (
        'WEB',
        'Website',
        'active',
        'manager',
        'Bob 张伟',
    )
    with get_database().session() as session:
        member = session.get(Member, (view.id, team.bob.id))
        assert member is not None and member.role == 'manager'
    assert [row.action for row in audit_rows('project.')] == ['project.created']
    assert count(Activity, Activity.action == 'project.created') == 1


@pytest.mark.parametrize(
    ('fields', 'field'),
    [
        ({'name': '', 'key': 'WEB'}, 'name'),
        ({'name': '   ', 'key': 'WEB'}, 'name'),
        ({'name': 'x' * 201, 'key': 'WEB'}, 'name'),
        ({'name': 'Web', 'key': 'W'}, 'key'),
        ({'name': 'Web', 'key': '1WEB'}, 'key'),
        ({'name': 'Web', 'key': 'WEB-1'}, 'key'),
        ({'name': 'Web', 'key': 'ABCDEFGHIJK'}, 'key'),
        ({'name': 'Web', 'key': 'WEB', 'description': 'x' * 20_001}, 'description'),
        ({'name': 'Web', 'key': 'WEB', 'start_date': date(2030, 2, 1), 'end_date': date(2030, 1, 1)}, 'end_date'),
        ({'name': 'Web', 'key': 'WEB', 'visibility': 'public'}, 'visibility'),
    ],
)
def test_it_refuses_bad_project_input_and_creates_nothing(team: Team, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        call(team.bob, lambda s, a: services.create_project(session=s, actor=a, **fields))
    assert error.value.field == field
    assert count(Project) == 0 and count(Member) == 0 and count(Activity) == 0


def test_it_refuses_a_duplicate_key_whatever_its_case(team: Team, web: Project) -> None:
    with pytest.raises(Conflict) as error:
        call(team.dave, lambda s, a: services.create_project(session=s, actor=a, name='Other', key='web'))
    assert 'WEB is already used' in str(error.value)
    assert count(Project) == 1


def test_it_refuses_creation_to_someone_without_a_role(team: Team) -> None:
    with pytest.raises(PermissionDenied):
        call(team.erin, lambda s, a: services.create_project(session=s, actor=a, name='Mine', key='MINE'))
    assert count(Project) == 0


def test_it_hides_a_members_only_project_from_the_outsider(team: Team, web: Project) -> None:
    with pytest.raises(NotFound):
        call(team.charlie, lambda s, a: services.get_project(session=s, actor=a, project_id=web.id))
    page = call(team.charlie, lambda s, a: services.list_projects(session=s, actor=a))
    assert page.total == 0 and page.items == []
    for fn in (services.list_members, services.list_milestones, services.list_activity, services.overview):
        with pytest.raises(NotFound):
            call(team.charlie, lambda s, a, fn=fn: fn(session=s, actor=a, project_id=web.id))  # type: ignore[misc]
    with pytest.raises(NotFound):
        call(team.charlie, lambda s, a: services.update_project(session=s, actor=a, project_id=web.id, name='Mine'))
    assert project_row(web.id).name == 'Website'


def test_it_lets_the_outsider_read_an_org_project_but_not_change_it(team: Team) -> None:
    project = make_project(key='ORG', name='Open', visibility='org', members={team.bob.id: 'manager'})
    view = call(team.charlie, lambda s, a: services.get_project(session=s, actor=a, project_id=project.id))
    assert (view.my_role, view.can_edit, view.can_manage) == ('viewer', False, False)
    with pytest.raises(PermissionDenied):
        call(team.charlie, lambda s, a: services.update_project(session=s, actor=a, project_id=project.id, name='X'))
    with pytest.raises(PermissionDenied):
        call(team.charlie, lambda s, a: services.add_member(session=s, actor=a, project_id=project.id, username='erin'))
    assert project_row(project.id).name == 'Open' and count(Member) == 1


def test_it_lets_an_admin_manage_every_project(team: Team, web: Project) -> None:
    view = call(team.alice, lambda s, a: services.get_project(session=s, actor=a, project_id=web.id))
    assert view.my_role == 'manager'


def test_it_lists_filters_and_pages_projects(team: Team) -> None:
    for n, name in enumerate(['Alpha 项目', 'Beta', 'Gamma', 'Delta']):
        make_project(key=f'P{n}', name=name, members={team.bob.id: 'member'})
    make_project(key='OLD', name='Old', status='archived', members={team.bob.id: 'member'})
    page = call(team.bob, lambda s, a: services.list_projects(session=s, actor=a, offset=1, limit=2))
    assert (page.total, [p.name for p in page.items]) == (4, ['Beta', 'Delta'])
    archived = call(team.bob, lambda s, a: services.list_projects(session=s, actor=a, status='archived'))
    assert [p.key for p in archived.items] == ['OLD']
    found = call(team.bob, lambda s, a: services.list_projects(session=s, actor=a, query='项目'))
    assert [p.key for p in found.items] == ['P0']


def test_it_updates_a_project_and_records_what_changed(team: Team, web: Project) -> None:
    view = call(
        team.bob,
        lambda s, a: services.update_project(
            session=s,
            actor=a,
            project_id=web.id,
            name='Site',
            status='on_hold',
            visibility='org',
            start_date=date(2030, 1, 1),
            end_date=date(2030, 3, 1),
            owner_id=team.dave.id,
        ),
    )
    assert (view.name, view.status, view.visibility, view.owner_name) == ('Site', 'on_hold', 'org', 'Dave 李娜')
    entry = call(team.bob, lambda s, a: services.list_activity(session=s, actor=a, project_id=web.id)).items[0]
    assert entry.text.startswith('Bob 张伟 changed the project (') and 'name' in entry.text
    assert audit_rows('project.updated')


@pytest.mark.parametrize(
    ('fields', 'field'),
    [
        ({'name': ''}, 'name'),
        ({'status': 'archived'}, 'status'),
        ({'start_date': date(2030, 5, 1), 'end_date': date(2030, 4, 1)}, 'end_date'),
        ({'owner_id': 999}, 'owner_id'),
    ],
)
def test_it_refuses_bad_updates_and_changes_nothing(
    team: Team, web: Project, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        call(team.bob, lambda s, a: services.update_project(session=s, actor=a, project_id=web.id, **fields))
    assert error.value.field == field
    row = project_row(web.id)
    assert (row.name, row.status, row.start_date, row.owner_id) == ('Website', 'active', None, team.bob.id)
    assert count(Activity) == 0


def test_it_refuses_a_plain_member_changing_the_project(team: Team, web: Project) -> None:
    with pytest.raises(PermissionDenied):
        call(team.dave, lambda s, a: services.update_project(session=s, actor=a, project_id=web.id, name='Mine'))
    assert project_row(web.id).name == 'Website'


def test_it_archives_read_only_and_restores_the_status_before(team: Team, web: Project) -> None:
    call(team.bob, lambda s, a: services.update_project(session=s, actor=a, project_id=web.id, status='on_hold'))
    archived = call(team.bob, lambda s, a: services.archive_project(session=s, actor=a, project_id=web.id))
    assert (archived.status, archived.can_edit, archived.can_manage) == ('archived', False, False)
    with pytest.raises(Conflict):
        call(team.bob, lambda s, a: services.update_project(session=s, actor=a, project_id=web.id, name='X'))
    with pytest.raises(PermissionDenied):
        call(team.dave, lambda s, a: services.restore_project(session=s, actor=a, project_id=web.id))
    restored = call(team.bob, lambda s, a: services.restore_project(session=s, actor=a, project_id=web.id))
    assert restored.status == 'on_hold'
    assert [row.action for row in audit_rows('project.')][-2:] == ['project.archived', 'project.restored']


def test_it_deletes_an_empty_project_after_the_key_is_typed(team: Team, web: Project) -> None:
    with pytest.raises(ValidationError) as error:
        call(team.bob, lambda s, a: services.delete_project(session=s, actor=a, project_id=web.id, confirm_key='WEX'))
    assert error.value.field == 'confirm_key' and count(Project) == 1
    call(team.bob, lambda s, a: services.delete_project(session=s, actor=a, project_id=web.id, confirm_key='web'))
    assert count(Project) == 0 and count(Member) == 0
    assert json.loads(audit_rows('project.deleted')[0].details)['key'] == 'WEB'


def test_it_refuses_to_delete_an_active_project_with_items(
    team: Team, web: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extensions, 'stats', lambda: [fake_stats(items=3)])
    with pytest.raises(Conflict) as error:
        call(team.bob, lambda s, a: services.delete_project(session=s, actor=a, project_id=web.id, confirm_key='WEB'))
    assert 'still holds 3 items' in str(error.value)
    assert count(Project) == 1
    call(team.bob, lambda s, a: services.archive_project(session=s, actor=a, project_id=web.id))
    call(team.bob, lambda s, a: services.delete_project(session=s, actor=a, project_id=web.id, confirm_key='WEB'))
    assert count(Project) == 0


def test_it_refuses_deletion_to_a_plain_member(team: Team, web: Project) -> None:
    with pytest.raises(PermissionDenied):
        call(team.dave, lambda s, a: services.delete_project(session=s, actor=a, project_id=web.id, confirm_key='WEB'))
    assert count(Project) == 1


def test_it_adds_members_changes_roles_and_removes_them(team: Team, web: Project) -> None:
    added = call(
        team.bob,
        lambda s, a: services.add_member(session=s, actor=a, project_id=web.id, username='Charlie', role='viewer'),
    )
    assert (added.username, added.role) == ('charlie', 'viewer')
    call(
        team.bob,
        lambda s, a: services.change_role(
            session=s, actor=a, project_id=web.id, user_id=team.charlie.id, role='manager'
        ),
    )
    members = call(team.bob, lambda s, a: services.list_members(session=s, actor=a, project_id=web.id))
    assert [(m.username, m.role) for m in members] == [('bob', 'manager'), ('charlie', 'manager'), ('dave', 'member')]
    call(team.bob, lambda s, a: services.remove_member(session=s, actor=a, project_id=web.id, user_id=team.dave.id))
    texts = [
        e.text for e in call(team.bob, lambda s, a: services.list_activity(session=s, actor=a, project_id=web.id)).items
    ]
    assert texts == [
        'Bob 张伟 removed Dave 李娜 from the project.',
        'Bob 张伟 made Charlie Outsider a manager (was viewer).',
        'Bob 张伟 added Charlie Outsider as viewer.',
    ]
    assert len(audit_rows('project.member_')) == 3


@pytest.mark.parametrize(('username', 'role'), [('nobody', 'member'), ('dave', 'member'), ('erin', 'owner')])
def test_it_refuses_bad_members(team: Team, web: Project, username: str, role: str) -> None:
    with pytest.raises((ValidationError, Conflict)):
        call(
            team.bob,
            lambda s, a: services.add_member(session=s, actor=a, project_id=web.id, username=username, role=role),
        )
    assert count(Member) == 2


def test_it_refuses_an_inactive_user_as_member(team: Team, web: Project) -> None:
    from tests.conftest import make_user

    make_user(username='gone', active=False)
    with pytest.raises(ValidationError):
        call(team.bob, lambda s, a: services.add_member(session=s, actor=a, project_id=web.id, username='gone'))
    assert count(Member) == 2


def test_it_never_leaves_a_project_without_a_manager(team: Team, web: Project) -> None:
    with pytest.raises(Conflict) as error:
        call(team.bob, lambda s, a: services.remove_member(session=s, actor=a, project_id=web.id, user_id=team.bob.id))
    assert 'at least one manager' in str(error.value)
    with pytest.raises(Conflict):
        call(
            team.bob,
            lambda s, a: services.change_role(
                session=s, actor=a, project_id=web.id, user_id=team.bob.id, role='member'
            ),
        )
    with get_database().session() as session:
        assert session.get(Member, (web.id, team.bob.id)).role == 'manager'  # type: ignore[union-attr]


def test_it_lets_a_member_leave_but_not_remove_others(team: Team, web: Project) -> None:
    call(team.bob, lambda s, a: services.add_member(session=s, actor=a, project_id=web.id, username='charlie'))
    with pytest.raises(PermissionDenied):
        call(
            team.dave,
            lambda s, a: services.remove_member(session=s, actor=a, project_id=web.id, user_id=team.charlie.id),
        )
    call(team.dave, lambda s, a: services.remove_member(session=s, actor=a, project_id=web.id, user_id=team.dave.id))
    assert count(Member) == 2
    with pytest.raises(NotFound):
        call(team.dave, lambda s, a: services.get_project(session=s, actor=a, project_id=web.id))


def test_it_keeps_milestones_with_progress_from_the_contributors(
    team: Team, web: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = call(
        team.bob,
        lambda s, a: services.create_milestone(
            session=s, actor=a, project_id=web.id, name='Beta', due_date=date(2030, 6, 1)
        ),
    )
    call(
        team.bob,
        lambda s, a: services.create_milestone(
            session=s, actor=a, project_id=web.id, name='Alpha', due_date=date(2030, 3, 1)
        ),
    )
    listed = call(team.dave, lambda s, a: services.list_milestones(session=s, actor=a, project_id=web.id))
    assert [(m.name, m.closed_items, m.total_items) for m in listed] == [('Alpha', 0, 0), ('Beta', 0, 0)]
    monkeypatch.setattr(extensions, 'stats', lambda: [fake_stats(items=3)])
    listed = call(team.dave, lambda s, a: services.list_milestones(session=s, actor=a, project_id=web.id))
    assert [(m.closed_items, m.total_items) for m in listed] == [(2, 3), (2, 3)]
    changed = call(
        team.bob, lambda s, a: services.update_milestone(session=s, actor=a, milestone_id=late.id, status='done')
    )
    assert changed.status == 'done'
    with pytest.raises(PermissionDenied):
        call(team.dave, lambda s, a: services.delete_milestone(session=s, actor=a, milestone_id=late.id))
    with pytest.raises(NotFound):
        call(team.charlie, lambda s, a: services.update_milestone(session=s, actor=a, milestone_id=late.id, name='X'))
    call(team.bob, lambda s, a: services.delete_milestone(session=s, actor=a, milestone_id=late.id))
    assert count(Milestone) == 1


@pytest.mark.parametrize(('fields', 'field'), [({'name': ''}, 'name'), ({'name': 'M', 'status': 'late'}, 'status')])
def test_it_refuses_bad_milestones(team: Team, web: Project, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        call(team.bob, lambda s, a: services.create_milestone(session=s, actor=a, project_id=web.id, **fields))
    assert error.value.field == field and count(Milestone) == 0


def test_it_builds_the_overview_and_timeline_from_the_contributors(
    team: Team, web: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extensions, 'stats', lambda: [fake_stats(items=4)])
    for n in range(7):
        call(
            team.bob,
            lambda s, a, n=n: services.create_milestone(
                session=s, actor=a, project_id=web.id, name=f'M{n}', due_date=date(2030, 1, 10 - n)
            ),
        )
    data = call(team.dave, lambda s, a: services.overview(session=s, actor=a, project_id=web.id))
    assert (data.closed_items, data.total_items) == (1, 4)
    assert [m.name for m in data.upcoming] == ['M6', 'M5', 'M4', 'M3', 'M2']
    assert data.overdue[0].label == 'WEB-1 Late' and data.workload[0].open_hours == 4.5
    assert data.activity[0].text == 'Bob 张伟 created the milestone "M6".'
    line = call(team.dave, lambda s, a: services.timeline(session=s, actor=a, project_id=web.id))
    assert [item.label for item in line.items] == ['WEB-1'] and len(line.milestones) == 7


def test_it_writes_activity_in_the_readers_language_and_survives_bad_details(
    team: Team, web: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance import i18n

    registry_texts = {'task.moved': '{actor} moved {ref} to {status} {missing}', 'task.odd': '{actor} {0} {x.y}'}
    monkeypatch.setattr(extensions, 'activity_texts', lambda: registry_texts)
    with get_database().session() as session:
        session.add(
            Activity(
                project_id=web.id,
                actor_id=team.dave.id,
                action='task.moved',
                details=json.dumps({'ref': 'WEB-1', 'status': 'Done'}),
            )
        )
        session.add(Activity(project_id=web.id, actor_id=None, action='task.odd', details='not json'))
        session.add(Activity(project_id=web.id, actor_id=team.dave.id, action='unknown.thing', details='{}'))
    page = call(team.bob, lambda s, a: services.list_activity(session=s, actor=a, project_id=web.id, limit=2))
    assert page.total == 3
    assert [e.text for e in page.items] == ['Dave 李娜 made a change in the project.', '{actor} {0} {x.y}']
    older = call(team.bob, lambda s, a: services.list_activity(session=s, actor=a, project_id=web.id, offset=2))
    assert older.items[0].text.startswith('Dave 李娜 moved WEB-1 to Done')
    token = i18n.current_language.set('zh_CN')
    try:
        call(team.bob, lambda s, a: services.create_milestone(session=s, actor=a, project_id=web.id, name='发布'))
        text = call(team.bob, lambda s, a: services.list_activity(session=s, actor=a, project_id=web.id)).items[0].text
    finally:
        i18n.current_language.reset(token)
    assert 'Bob 张伟' in text and '发布' in text


def test_it_finds_projects_in_global_search_only_when_visible(team: Team, web: Project) -> None:
    make_project(key='DOC', name='文档项目', description='Handbook for 项目 people', members={team.dave.id: 'manager'})
    make_project(key='ORG', name='Company 项目', visibility='org')
    hits = call(team.bob, lambda s, a: global_search(session=s, actor=a, query='项目'))
    assert [(h.title, h.url) for h in hits if h.module == 'projects'] == [('ORG · Company 项目', '/projects/3')]
    dave_hits = call(team.dave, lambda s, a: global_search(session=s, actor=a, query='项目'))
    assert {h.title for h in dave_hits if h.kind == 'project'} == {'DOC · 文档项目', 'ORG · Company 项目'}
    by_key = call(team.dave, lambda s, a: global_search(session=s, actor=a, query='web'))
    assert [h.url for h in by_key if h.kind == 'project'] == [f'/projects/{web.id}']
    outsider = call(team.charlie, lambda s, a: global_search(session=s, actor=a, query='website'))
    assert not [h for h in outsider if h.kind == 'project']


def test_it_audits_the_important_changes(team: Team, web: Project) -> None:
    call(team.bob, lambda s, a: services.archive_project(session=s, actor=a, project_id=web.id))
    with get_database().session() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor_name == 'bob')))
    assert 'project.archived' in actions
