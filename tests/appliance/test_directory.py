"""The directory: departments as a tree, placing people, managers, and the points modules use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db import get_database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import AuditEvent, Department, DepartmentEvent, DepartmentMember, User
from appliance.services import accounts, directory
from appliance.services.actors import Operator
from tests.conftest import People, make_user

T = TypeVar('T')


def run(fn: Callable[[Session], T]) -> T:
    with get_database().session() as session:
        return fn(session)


def dept(actor: User, name: str, parent: int | None = None, code: str = '') -> int:
    return run(lambda s: directory.create_department(s, actor, name=name, parent_id=parent, code=code).id)


def place(actor: User, user: User, **fields: object) -> directory.Placement:
    return run(lambda s: directory.place_user(s, actor, user.id, **fields))  # type: ignore[arg-type]


@pytest.fixture
def company(people: People) -> dict[str, int]:
    """总部 > 销售部 > 华东区, 总部 > 研发部; bob in 华东区, charlie in 研发部."""
    alice = people.alice
    hq = dept(alice, '总部 Headquarters', code='HQ')
    sales = dept(alice, '销售部', hq, code='SALES')
    east = dept(alice, '华东区', sales)
    rnd = dept(alice, '研发部 R&D', hq)
    place(alice, people.bob, main_department_id=east, position='销售经理', work_phone='+86 21 5555 0101')
    place(alice, people.charlie, main_department_id=rnd, other_department_ids=[sales], position='工程师')
    return {'hq': hq, 'sales': sales, 'east': east, 'rnd': rnd}


def test_a_tree_of_departments_counts_its_people_once(people: People, company: dict[str, int]) -> None:
    roots = run(lambda s: directory.tree(s, people.bob))
    assert [root.name for root in roots] == ['总部 Headquarters']
    (hq,) = roots
    assert [child.name for child in hq.children] == ['销售部', '研发部 R&D']  # in the order they were made
    sales = hq.children[0]
    assert (sales.members, sales.total) == (1, 2)  # charlie is also in sales; bob is under it in 华东区
    assert hq.total == 2  # charlie is in two departments of the branch and counts once
    assert sales.code == 'SALES'


def test_members_of_a_department_include_its_sub_departments_unless_asked(
    people: People, company: dict[str, int]
) -> None:
    with get_database().session() as session:
        assert directory.members_of(session, company['hq']) == sorted([people.bob.id, people.charlie.id])
        assert directory.members_of(session, company['sales'], with_subdepartments=False) == [people.charlie.id]
        assert directory.members_of(session, company['east']) == [people.bob.id]
        assert directory.departments_of(session, people.charlie.id) == [company['rnd'], company['sales']]
    accounts_off(people)
    with get_database().session() as session:
        assert directory.members_of(session, company['east']) == []
        assert directory.members_of(session, company['east'], active_only=False) == [people.bob.id]


def accounts_off(people: People) -> None:
    run(lambda s: accounts.set_active(session=s, actor=people.alice, user_id=people.bob.id, active=False))


def test_the_manager_is_the_one_set_or_else_a_head_up_the_tree(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    dora = make_user(username='dora', display_name='Dora 主管')
    run(lambda s: directory.set_heads(s, alice, company['sales'], [dora.id]))
    with get_database().session() as session:
        # 华东区 has no head: bob reports to the head of 销售部 above it.
        assert directory.manager_of(session, people.bob.id) == dora.id
        # dora heads sales but sits nowhere: nobody above her.
        assert directory.manager_of(session, dora.id) is None
        assert directory.reports_of(session, dora.id) == [people.bob.id]
    place(alice, people.bob, manager_id=alice.id)
    with get_database().session() as session:
        assert directory.manager_of(session, people.bob.id) == alice.id
        assert directory.reports_of(session, dora.id) == []
        assert directory.reports_of(session, alice.id) == [people.bob.id]


def test_a_head_is_not_their_own_manager(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    run(lambda s: directory.set_heads(s, alice, company['east'], [people.bob.id]))
    run(lambda s: directory.set_heads(s, alice, company['hq'], [alice.id]))
    with get_database().session() as session:
        # bob heads 华东区, where he sits: his manager is the next head up (销售部 has none, so 总部's).
        assert directory.manager_of(session, people.bob.id) == alice.id


def test_reporting_lines_cannot_go_round_in_a_circle(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    place(alice, people.bob, manager_id=people.charlie.id)
    with pytest.raises(ValidationError):
        place(alice, people.bob, manager_id=people.bob.id)
    with pytest.raises(Conflict, match='already reports'):
        place(alice, people.charlie, manager_id=people.bob.id)
    dave = make_user(username='dave')
    place(alice, dave, manager_id=people.bob.id)
    with pytest.raises(Conflict):
        place(alice, people.charlie, manager_id=dave.id)  # charlie -> dave -> bob -> charlie
    assert run(lambda s: directory.placement_of(s, alice, people.charlie.id)).manager_id is None


def test_a_department_cannot_move_under_itself(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    with pytest.raises(Conflict, match='under itself'):
        run(lambda s: directory.update_department(s, alice, company['sales'], parent_id=company['east']))
    with pytest.raises(Conflict, match='under itself'):
        run(lambda s: directory.update_department(s, alice, company['sales'], parent_id=company['sales']))
    run(lambda s: directory.update_department(s, alice, company['east'], parent_id=None))
    roots = run(lambda s: directory.tree(s, alice))
    assert sorted(root.name for root in roots) == ['华东区', '总部 Headquarters']
    events = run(lambda s: directory.history(s, alice, company['east']))
    assert [event.action for event in events] == ['moved', 'created']
    assert json.loads(events[0].details) == {'from': '销售部', 'to': ''}


def test_names_codes_and_depth_are_checked(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    before = run(lambda s: s.scalar(select(Department.id).order_by(Department.id.desc())))
    for name, code, error in [
        ('', '', ValidationError),
        ('x' * 101, '', ValidationError),
        ('bad\x00name', '', ValidationError),
        ('销售部', '', Conflict),  # a sibling of that name is already under 总部
        ('Another', 'sales', Conflict),  # codes are unique whatever the case
        ('Another', 'has space', ValidationError),
    ]:
        with pytest.raises(error):
            dept(alice, name, company['hq'], code=code)
    assert run(lambda s: s.scalar(select(Department.id).order_by(Department.id.desc()))) == before
    parent = company['east']
    for depth in range(12):
        parent = dept(alice, f'L{depth}', parent)
    with pytest.raises(ValidationError, match='levels'):
        dept(alice, 'too deep', parent)


def test_merging_moves_people_heads_and_sub_departments_and_keeps_history(
    people: People, company: dict[str, int]
) -> None:
    alice = people.alice
    run(lambda s: directory.set_heads(s, alice, company['sales'], [people.bob.id]))
    kept = run(lambda s: directory.merge_departments(s, alice, company['sales'], company['rnd']).id)
    assert kept == company['rnd']
    with get_database().session() as session:
        sales = session.get(Department, company['sales'])
        assert sales is not None and sales.closed_at is not None and sales.merged_into_id == company['rnd']
        east = session.get(Department, company['east'])
        assert east is not None and east.parent_id == company['rnd']
        # charlie was in both: one membership, his main one (研发部) still main
        rows = session.scalars(select(DepartmentMember).where(DepartmentMember.user_id == people.charlie.id)).all()
        assert [(row.department_id, row.is_main) for row in rows] == [(company['rnd'], True)]
        assert directory.manager_of(session, people.charlie.id) == people.bob.id
        actions = session.scalars(select(DepartmentEvent.action).where(DepartmentEvent.department_id == sales.id))
        assert set(actions) == {'created', 'heads', 'merged'}
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like('department.%'))).all()
        assert 'department.merged' in audited and 'department.absorbed' in audited
    with pytest.raises(Conflict, match='merged into itself'):
        run(lambda s: directory.merge_departments(s, alice, company['hq'], company['east']))
    with pytest.raises(ValidationError):
        run(lambda s: directory.merge_departments(s, alice, company['sales'], company['hq']))  # already closed


def test_only_an_empty_department_closes(people: People, company: dict[str, int]) -> None:
    alice = people.alice
    with pytest.raises(Conflict, match='People are still'):
        run(lambda s: directory.close_department(s, alice, company['east']))
    with pytest.raises(Conflict, match='sub-departments'):
        run(lambda s: directory.close_department(s, alice, company['hq']))
    place(alice, people.bob, main_department_id=None)
    run(lambda s: directory.close_department(s, alice, company['east']))
    assert '华东区' not in {n.name for root in run(lambda s: directory.tree(s, alice)) for n in root.walk()}
    # A closed department is still readable (its history), and can take no one.
    assert run(lambda s: directory.get_department(s, alice, company['east'])).closed_at is not None
    with pytest.raises(ValidationError):
        place(alice, people.bob, main_department_id=company['east'])


def test_only_user_admins_change_the_tree_and_members_only_read_it(people: People, company: dict[str, int]) -> None:
    bob = people.bob
    for change in (
        lambda s: directory.create_department(s, bob, name='Mine'),
        lambda s: directory.update_department(s, bob, company['east'], name='Mine'),
        lambda s: directory.merge_departments(s, bob, company['east'], company['rnd']),
        lambda s: directory.close_department(s, bob, company['east']),
        lambda s: directory.set_heads(s, bob, company['east'], [bob.id]),
        lambda s: directory.place_user(s, bob, bob.id, position='CEO'),
    ):
        with pytest.raises(PermissionDenied):
            run(change)
    assert run(lambda s: directory.placement_of(s, bob, bob.id)).position == '销售经理'  # his own: readable
    with pytest.raises(PermissionDenied):
        run(lambda s: directory.placement_of(s, bob, people.charlie.id))
    roleless = make_user(username='erin', roles=[])
    with pytest.raises(PermissionDenied):
        run(lambda s: directory.tree(s, roleless))
    with pytest.raises(PermissionDenied):
        run(lambda s: directory.colleagues(s, roleless))
    operator = Operator()
    assert run(lambda s: directory.create_department(s, operator, name='By the operator').name) == 'By the operator'


def test_the_colleague_directory_finds_by_name_position_phone_and_department(
    people: People, company: dict[str, int]
) -> None:
    bob = people.bob

    def find(**kwargs: object) -> list[str]:
        page = run(lambda s: directory.colleagues(s, bob, **kwargs))  # type: ignore[arg-type]
        return [c.username for c in page.items]

    assert find() == ['alice', 'bob', 'charlie']
    assert find(query='张伟') == ['bob']
    assert find(query='工程') == ['charlie']
    assert find(query='5555') == ['bob']
    assert find(query='%') == []  # a wildcard is a character
    assert find(department_id=company['sales']) == ['bob', 'charlie']
    assert find(department_id=company['rnd']) == ['charlie']
    (charlie,) = run(lambda s: directory.colleagues(s, bob, query='charlie')).items
    assert charlie.departments == ('研发部 R&D', '销售部')  # main first
    assert (charlie.position, charlie.work_phone) == ('工程师', '')


def test_a_placement_checks_every_field_and_changes_nothing_on_refusal(people: People, company: dict[str, int]) -> None:
    alice, bob = people.alice, people.bob
    before = run(lambda s: directory.placement_of(s, alice, bob.id))
    for fields in (
        {'work_phone': 'call me'},
        {'position': 'x' * 101},
        {'position': 'a\x07b'},
        {'main_department_id': 10**9},
        {'other_department_ids': [10**9]},
        {'manager_id': 10**9},
        {'other_department_ids': list(range(1, 13))},
    ):
        with pytest.raises((ValidationError, Conflict)):
            place(alice, bob, **fields)
    assert run(lambda s: directory.placement_of(s, alice, bob.id)) == before
    with pytest.raises(NotFound):
        place(alice, User(id=10**9))


def test_a_placement_is_audited_with_what_changed(people: People, company: dict[str, int]) -> None:
    place(people.alice, people.bob, position='区域经理')
    with get_database().session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == 'user.placed').order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and json.loads(event.details) == {'position': '区域经理'}


def test_a_path_or_a_code_finds_a_department(people: People, company: dict[str, int]) -> None:
    with get_database().session() as session:
        found = directory.department_by_name_or_code(session, '总部 Headquarters / 销售部 / 华东区')
        assert found is not None and found.id == company['east']
        found = directory.department_by_name_or_code(session, 'sales')
        assert found is not None and found.id == company['sales']
        assert directory.department_by_name_or_code(session, '华东区') is None  # not at the top
        assert directory.department_by_name_or_code(session, '') is None
