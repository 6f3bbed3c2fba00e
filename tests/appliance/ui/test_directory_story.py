"""The directory in the browser: bob finds colleagues and reads the org chart; alice builds departments."""

from __future__ import annotations

from nicegui import background_tasks
from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import Department, User
from appliance.services import directory
from tests.appliance.support import sign_in_url
from tests.conftest import People
from tests.support.ui import click, settled, trigger


def company(people: People) -> dict[str, int]:
    alice = people.alice
    with get_database().session() as session:
        hq = directory.create_department(session, alice, name='总部', code='HQ').id
        sales = directory.create_department(session, alice, name='销售部 <b>Sales</b>', parent_id=hq).id
        directory.set_heads(session, alice, hq, [alice.id])
        directory.place_user(session, alice, people.bob.id, main_department_id=sales, position='销售代表')
        directory.place_user(session, alice, people.charlie.id, main_department_id=hq, work_phone='021-5555-0199')
    return {'hq': hq, 'sales': sales}


async def test_a_member_finds_a_colleague_by_department_and_by_name(user: UIUser, people: People) -> None:
    found = company(people)
    await user.open(sign_in_url('bob', next_path='/directory'))
    await user.should_see(marker='directory-table')
    assert rows(user) == [
        ('Alice Admin', '', '', ''),
        ('Bob 张伟', '销售部 <b>Sales</b>', '销售代表', 'Alice Admin'),
        ('Charlie Outsider', '总部', '', 'Alice Admin'),
    ]
    await choose(user, 'directory-department', found['sales'])
    assert [row[0] for row in rows(user)] == ['Bob 张伟']
    await choose(user, 'directory-department', None)
    user.find(marker='directory-search').type('nobody-like-this').trigger('keydown.enter')
    await user.should_see(marker='directory-empty')


def rows(user: UIUser) -> list[tuple[str, str, str, str]]:
    grid = user.find(marker='directory-table').elements.pop()
    return [(r['name'], r['departments'], r['position'], r['manager']) for r in grid.rows]  # type: ignore[attr-defined]


async def choose(user: UIUser, marker: str, value: object) -> None:
    before = set(background_tasks.running_tasks)
    user.find(marker=marker).elements.pop().value = value
    await settled(before)


async def test_the_org_chart_shows_the_tree_with_names_as_text(user: UIUser, people: People) -> None:
    company(people)
    await user.open(sign_in_url('charlie', next_path='/directory/org'))
    await user.should_see(marker='org-chart')
    chart = user.find(marker='org-chart').elements.pop()
    options = chart.props['options']
    assert options['tooltip'] == {'show': False}
    top = options['series'][0]['data'][0]
    assert top['children'][0]['name'].startswith('总部 (2)')
    assert top['children'][0]['children'][0]['name'] == '销售部 <b>Sales</b> (1)'  # drawn as text by the canvas
    outline = user.find(marker='org-outline').elements.pop()
    assert outline.props['nodes'][0]['label'].startswith('总部 · 2 · Alice Admin')


async def test_an_empty_org_chart_says_so(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path='/directory/org'))
    await user.should_see(marker='org-empty')


async def test_an_admin_creates_renames_and_merges_departments(user: UIUser, people: People) -> None:
    found = company(people)
    await user.open(sign_in_url('alice', next_path='/admin/departments'))
    await user.should_see(marker='departments-tree')
    await click(user, marker='new-department')
    user.find(marker='new-department-name').type('研发部')
    user.find(marker='new-department-parent').elements.pop().value = found['hq']
    await click(user, marker='create-department')
    await user.should_see('Department created.')
    with get_database().session() as session:
        rnd = session.scalar(select(Department).where(Department.name == '研发部'))
        assert rnd is not None and rnd.parent_id == found['hq']
        rnd_id = rnd.id
    await user.should_see(marker='department-form')  # the new one is chosen
    user.find(marker='department-name').clear().type('研发中心')
    await click(user, marker='save-department')
    await user.should_see('Department saved.')
    await trigger(user, 'update:selected', str(found['sales']), marker='departments-tree')
    await click(user, marker='merge-department')
    user.find(marker='merge-target').elements.pop().value = rnd_id
    await click(user, marker='confirm-merge')
    await user.should_see('Departments merged.')
    with get_database().session() as session:
        sales = session.get(Department, found['sales'])
        assert sales is not None and sales.merged_into_id == rnd_id
        assert directory.main_department_of(session, people.bob.id) == rnd_id
        renamed = session.get(Department, rnd_id)
        assert renamed is not None and renamed.name == '研发中心'


async def test_a_member_is_kept_out_of_the_departments_admin(user: UIUser, people: People) -> None:
    response = await user.http_client.get(sign_in_url('bob', next_path='/admin/departments'), follow_redirects=True)
    assert response.status_code == 403


async def test_an_admin_places_a_person_in_the_user_dialog(user: UIUser, people: People) -> None:
    found = company(people)
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await trigger(user, 'rowClick', [{}, {'id': people.bob.id}], marker='users-table')
    assert user.find(marker='user-main-department').elements.pop().value == found['sales']
    assert user.find(marker='user-position').elements.pop().value == '销售代表'
    user.find(marker='user-main-department').elements.pop().value = found['hq']
    user.find(marker='user-other-departments').elements.pop().value = [found['sales']]
    user.find(marker='user-position').clear().type('区域经理')
    user.find(marker='user-manager').elements.pop().value = people.charlie.id
    user.find(marker='user-work-phone').type('010-6666')
    await click(user, marker='save-user')
    await user.should_see('User saved.')
    with get_database().session() as session:
        placed = directory.placement_of(session, people.alice, people.bob.id)
    assert placed == directory.Placement(found['hq'], (found['sales'],), '区域经理', people.charlie.id, '010-6666')


async def test_the_user_dialog_refuses_a_bad_work_phone_and_changes_nothing(user: UIUser, people: People) -> None:
    company(people)
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await trigger(user, 'rowClick', [{}, {'id': people.charlie.id}], marker='users-table')
    user.find(marker='user-work-phone').clear().type('call me')
    user.find(marker='new-display-name').clear().type('Charlie Renamed')
    await click(user, marker='save-user')
    await user.should_see('A work phone holds digits')
    with get_database().session() as session:
        charlie = session.get(User, people.charlie.id)
        assert charlie is not None and (charlie.display_name, charlie.work_phone) == (
            'Charlie Outsider',
            '021-5555-0199',
        )
