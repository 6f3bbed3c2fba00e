"""Project pages as people use them: bob runs a project, dave joins, charlie and erin stay outside."""

from __future__ import annotations

from datetime import date

import pytest
from nicegui import ui
from nicegui.testing import User as UIUser

from appliance.db import get_database
from modules.projects import services
from modules.projects.models import Member, Milestone, Project
from tests.appliance.support import count, sign_in_url
from tests.modules.conftest import Team, make_project

PAGES = ['', '/members', '/milestones', '/timeline', '/activity', '/settings']


@pytest.fixture
def web(team: Team) -> Project:
    """WEB: bob manages it, dave is a viewer; members only."""
    return make_project(
        owner=team.bob,
        members={team.bob.id: 'manager', team.dave.id: 'viewer'},
        description='Our **new** site <script>alert(1)</script>',
        start_date=date(2030, 1, 1),
        end_date=date(2030, 3, 1),
    )


async def test_it_lets_bob_create_a_project_add_dave_and_see_the_overview(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('bob', next_path='/projects'))
    await user.should_see(marker='no-projects')
    user.find(marker='new-project').click()
    user.find(marker='project-name').type('Website 网站')
    user.find(marker='project-key-input').type('web')
    user.find(marker='create-project').click()
    await user.should_see('Project created.')
    await user.should_see(marker='project-progress')  # the dialog leads to the new project's overview
    with get_database().session() as session:
        project = session.query(Project).one()
    assert (project.key, project.name, project.owner_id) == ('WEB', 'Website 网站', team.bob.id)
    await user.open(f'/projects/{project.id}/members')
    [picker] = user.find(marker='add-username').elements
    assert isinstance(picker, ui.select)
    assert picker.options['dave'] == 'Dave 李娜 (@dave)'  # type: ignore[call-overload]  # found by name
    assert 'bob' not in picker.options and 'erin' in picker.options  # not who is in already
    picker.set_value('dave')
    user.find(marker='add-member').click()
    await user.should_see('Member added.')
    await user.should_see(marker='member:dave')
    with get_database().session() as session:
        assert session.get(Member, (project.id, team.dave.id)) is not None
    await user.open(f'/projects/{project.id}')
    await user.should_see(marker='project-tabs')
    await user.should_see(marker='project-progress')
    await user.should_see('Bob 张伟 added Dave 李娜 as member.')
    await user.should_see(marker='project-tab:settings')


async def test_it_shows_why_a_new_project_was_refused(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('dave', next_path='/projects'))
    user.find(marker='new-project').click()
    user.find(marker='project-name').type('Again')
    user.find(marker='project-key-input').type('WEB')
    user.find(marker='create-project').click()
    await user.should_see('The key WEB is already used by another project; choose another.')
    user.find(marker='project-key-input').clear().type('X')
    user.find(marker='create-project').click()
    await user.should_see('A key is 2 to 10 letters or digits')
    assert count(Project) == 1


async def test_it_lists_only_visible_projects_with_progress(user: UIUser, team: Team, web: Project) -> None:
    make_project(key='SEC', name='Secret', members={team.alice.id: 'manager'})
    await user.open(sign_in_url('dave', next_path='/projects'))
    await user.should_see(marker='project:WEB')
    await user.should_not_see(marker='project:SEC')
    await user.should_see('0 of 0 done')


async def test_it_renders_the_description_safely(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}'))
    await user.should_see(marker='project-description')
    html = user.find(marker='project-description').elements.pop()
    assert isinstance(html, ui.html)
    assert '<strong>new</strong>' in html.content and '<script>' not in html.content


async def test_it_gives_charlie_404_on_every_page_of_a_members_only_project(
    user: UIUser, team: Team, web: Project
) -> None:
    await user.http_client.get(sign_in_url('charlie'), follow_redirects=False)
    for suffix in PAGES:
        response = await user.http_client.get(f'/projects/{web.id}{suffix}', follow_redirects=False)
        assert response.status_code == 404, suffix
        assert 'This project does not exist, or you are not one of its members.' in response.text
        assert 'Website' not in response.text
    listing = await user.http_client.get('/projects')
    assert listing.status_code == 200 and 'Website' not in listing.text
    search = await user.http_client.get('/search', params={'q': 'Website'})
    assert f'/projects/{web.id}' not in search.text


async def test_it_refuses_erin_who_has_no_role(user: UIUser, team: Team, web: Project) -> None:
    await user.http_client.get(sign_in_url('erin'), follow_redirects=False)
    for path in ['/projects', *(f'/projects/{web.id}{suffix}' for suffix in PAGES)]:
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert 'Website' not in response.text


async def test_it_keeps_a_viewer_from_changing_anything(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('dave', next_path=f'/projects/{web.id}/members'))
    await user.should_see(marker='member:bob')
    await user.should_not_see(marker='add-member')
    await user.should_not_see(marker='remove:bob')
    await user.should_not_see(marker='project-tab:settings')
    await user.open(f'/projects/{web.id}/milestones')
    await user.should_not_see(marker='new-milestone')
    response = await user.http_client.get(f'/projects/{web.id}/settings', follow_redirects=False)
    assert response.status_code == 403


async def test_it_shows_an_org_project_to_charlie_read_only(user: UIUser, team: Team) -> None:
    project = make_project(key='ORG', name='Open house', visibility='org', members={team.bob.id: 'manager'})
    await user.open(sign_in_url('charlie', next_path='/projects'))
    await user.should_see(marker='project:ORG')
    await user.open(f'/projects/{project.id}/members')
    await user.should_see(marker='member:bob')
    await user.should_not_see(marker='add-member')
    await user.should_not_see(marker='project-tab:settings')


async def test_it_lets_a_manager_add_a_milestone_and_see_the_timeline(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}/milestones'))
    user.find(marker='new-milestone').click()
    user.find(marker='milestone-name').type('Launch 上线')
    user.find(marker='milestone-due').type('2030-02-15')
    [picker] = [e for e in user.find(marker='milestone-due').elements.pop().descendants() if isinstance(e, ui.date)]
    assert picker.props['first-day-of-week'] == '1'  # Monday, as the month calendars
    user.find(marker='save-milestone').click()
    await user.should_see('Milestone created.')
    await user.should_see(marker='milestone:Launch 上线')
    with get_database().session() as session:
        milestone = session.query(Milestone).one()
    assert milestone.due_date == date(2030, 2, 15)
    await user.open(f'/projects/{web.id}/timeline')
    chart = user.find(marker='gantt').elements.pop()
    assert isinstance(chart, ui.echart)
    assert '◆ Launch 上线' in chart.options['yAxis']['data']


async def test_it_refuses_to_remove_the_last_manager_in_the_page(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}/members'))
    await user.should_see(marker='remove:bob')  # the list is drawn once the page is connected
    user.find(marker='remove:bob').click()
    await user.should_see('A project needs at least one manager.')
    assert count(Member) == 2


async def test_it_deletes_a_project_only_with_the_right_key(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}/settings'))
    user.find(marker='delete-project').click()
    user.find(marker='confirm-key').type('WRONG')
    user.find(marker='confirm-delete').click()
    await user.should_see('Type the project key WEB to confirm the deletion.')
    assert count(Project) == 1
    user.find(marker='confirm-key').clear().type('WEB')
    user.find(marker='confirm-delete').click()
    await user.should_see('Project deleted.')
    assert count(Project) == 0


async def test_it_edits_archives_and_restores_in_settings(user: UIUser, team: Team, web: Project) -> None:
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}/settings'))
    user.find(marker='edit-name').clear().type('')
    user.find(marker='save-project').click()
    await user.should_see('Give it a name.')
    user.find(marker='edit-name').type('Site 2')
    user.find(marker='save-project').click()
    await user.should_see('Project saved.')
    user.find(marker='archive-project').click()
    await user.should_see('Project archived.')
    with get_database().session() as session:
        row = session.get(Project, web.id)
        assert row is not None and (row.name, row.status) == ('Site 2', 'archived')
    await user.open(f'/projects/{web.id}/settings')
    user.find(marker='restore-project').click()
    await user.should_see('Project restored.')
    with get_database().session() as session:
        assert services.get_project  # the same services back the pages
        row = session.get(Project, web.id)
        assert row is not None and row.status == 'active'


async def test_settings_open_and_save_when_the_owner_has_left_the_project(
    user: UIUser, team: Team, web: Project
) -> None:
    """An owner who is no longer a member (removed, or the project made by an admin for others) used to be a 500."""
    with get_database().session() as session:
        row = session.get(Project, web.id)
        assert row is not None
        row.owner_id = team.alice.id  # alice is not a member of WEB
    await user.open(sign_in_url('bob', next_path=f'/projects/{web.id}/settings'))
    await user.should_see('Alice Admin (not a member)')
    user.find(marker='edit-name').clear().type('Site 3')
    user.find(marker='save-project').click()
    await user.should_see('Project saved.')
    with get_database().session() as session:
        row = session.get(Project, web.id)
        assert row is not None and (row.name, row.owner_id) == ('Site 3', team.alice.id)


async def test_it_pages_the_activity_feed(user: UIUser, team: Team, web: Project) -> None:
    from modules.projects.services.activity import record

    with get_database().session() as session:
        for n in range(55):
            record(session, project_id=web.id, actor=None, action='milestone.created', name=f'Goal {n}')
    await user.open(sign_in_url('dave', next_path=f'/projects/{web.id}/activity'))
    await user.should_see('Someone created the milestone "Goal 54".')
    await user.should_see('1–50 of 55')
    user.find(marker='next-page').click()
    await user.should_see('Someone created the milestone "Goal 0".')


def test_the_workload_chart_keeps_items_and_hours_on_axes_of_their_own() -> None:
    from modules.projects.pages.parts.gantt import workload_options

    options = workload_options(['Bob', 'Dave'], [3, 1], [12.5, 0.0])
    bottom, top = options['xAxis']
    assert (bottom['name'], bottom['position'], top['name'], top['position']) == ('Items', 'bottom', 'Hours', 'top')
    items, hours = options['series']
    assert items.get('xAxisIndex', 0) == 0 and hours['xAxisIndex'] == 1
    assert hours['data'] == [12.5, 0.0]
