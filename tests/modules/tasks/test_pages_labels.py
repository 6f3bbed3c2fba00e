"""The Labels tab of a project and the label picker of a task: add, rename, recolour, delete, create from a task."""

from __future__ import annotations

from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from modules.projects.models import Member, Project
from modules.tasks.models import Label, TaskLabel
from tests.appliance.support import sign_in_url
from tests.conftest import make_user
from tests.modules.conftest import Team, make_project, make_task
from tests.modules.tasks.support import handled


def project_of(team: Team) -> Project:
    project = make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})
    vic = make_user(username='vic', roles=['member'], display_name='Vic Viewer')
    with get_database().session() as session:
        session.add(Member(project_id=project.id, user_id=vic.id, role='viewer'))
    return project


def labels() -> list[tuple[str, str]]:
    with get_database().session() as session:
        return [(lb.name, lb.color) for lb in session.scalars(select(Label).order_by(Label.name))]


async def test_it_lets_a_manager_add_rename_recolour_and_delete_labels(user: UIUser, team: Team) -> None:
    project = project_of(team)
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/labels'))
    await user.should_see('No labels yet.')
    user.find(marker='label-new').type('bug')
    user.find(marker='label-add').click()
    await user.should_see('Label added.')
    assert labels() == [('bug', '#64748b')]
    with get_database().session() as session:
        label_id = session.scalars(select(Label.id)).one()
    await user.should_see(marker=f'label-name-{label_id}')  # the list is redrawn after the event
    async with handled():
        user.find(marker=f'label-name-{label_id}').clear().type('defect').trigger('keydown.enter')
    await user.should_see('Label renamed.')
    await user.should_see(marker=f'label-color-{label_id}')
    async with handled():
        user.find(marker=f'label-color-{label_id}').elements.pop().value = '#ff0'  # half typed: not saved
    assert labels() == [('defect', '#64748b')]
    async with handled():
        user.find(marker=f'label-color-{label_id}').elements.pop().value = '#FF0000'
    assert labels() == [('defect', '#ff0000')]
    task = make_task(project=project)
    with get_database().session() as session:
        session.add(TaskLabel(task_id=task.id, label_id=label_id))
    await user.should_see(marker=f'label-delete-{label_id}')
    user.find(marker=f'label-delete-{label_id}').click()
    user.find(marker='delete-label-cancel').click()
    assert labels() == [('defect', '#ff0000')]
    user.find(marker=f'label-delete-{label_id}').click()
    user.find(marker='delete-label-confirm').click()
    await user.should_see('Label deleted.')
    assert labels() == []


async def test_it_lets_a_member_add_but_not_manage_and_a_viewer_only_look(user: UIUser, team: Team) -> None:
    project = project_of(team)
    await user.open(sign_in_url('dave', next_path=f'/projects/{project.id}/labels'))
    user.find(marker='label-new').type('ops')
    user.find(marker='label-add').click()
    await user.should_see('Label added.')
    await user.should_see(marker='label-chip-1')
    await user.should_not_see(marker='label-delete-1')
    await user.should_not_see(marker='label-name-1')
    await user.open(sign_in_url('vic', next_path=f'/projects/{project.id}/labels'))
    await user.should_see('Only the members of the project can add labels.')
    await user.should_not_see(marker='label-new')
    assert labels() == [('ops', '#64748b')]


async def test_it_creates_a_label_typed_into_a_tasks_picker(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Fix the footer')
    await user.open(sign_in_url('dave', next_path=f'/tasks/{task.id}'))
    await user.should_see(marker='task-labels')
    picker = user.find(marker='task-labels').elements.pop()
    assert picker.props['hint'] == 'Type a name and press Enter to add a new label.'
    assert picker.props['new-value-mode'] == 'add-unique'
    # What the browser sends when a new name is typed into the picker and Enter is pressed.
    async with handled():
        user.find(marker='task-labels').trigger('update:modelValue', args=['frontend'])
    await user.should_see('Label frontend added.')
    assert labels() == [('frontend', '#64748b')]
    with get_database().session() as session:
        attached = list(session.scalars(select(Label.name).join(TaskLabel).where(TaskLabel.task_id == task.id)))
    assert attached == ['frontend']


async def test_it_picks_the_existing_label_when_its_name_is_typed_in_another_case(user: UIUser, team: Team) -> None:
    project = project_of(team)
    with get_database().session() as session:
        session.add(Label(project_id=project.id, name='Backend', color='#112233'))
    task = make_task(project=project, title='Fix the API')
    await user.open(sign_in_url('dave', next_path=f'/tasks/{task.id}'))
    await user.should_see(marker='task-labels')
    user.find(marker='task-labels').trigger('update:modelValue', args=['backend'])
    await user.should_see('Saved.')
    assert labels() == [('Backend', '#112233')]
    with get_database().session() as session:
        attached = list(session.scalars(select(Label.name).join(TaskLabel).where(TaskLabel.task_id == task.id)))
    assert attached == ['Backend']
