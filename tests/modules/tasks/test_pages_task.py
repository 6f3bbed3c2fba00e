"""bob works on a task page: title, status, assignees, checklist, a comment that mentions dave, time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import Notification
from modules.projects.models import Project
from modules.tasks.models import Assignee, ChecklistItem, Comment, Task, TimeEntry
from modules.tasks.services import attachments
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.support import handled


def project_of(team: Team) -> Project:
    return make_project(
        owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member', team.alice.id: 'viewer'}
    )


def reload_task(task_id: int) -> Task:
    with get_database().session() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def rows(model: type, *where: object) -> list:  # type: ignore[type-arg]
    with get_database().session() as session:
        return list(session.scalars(select(model).where(*where)))  # type: ignore[arg-type]


async def test_it_edits_the_title_status_and_assignees(user: UIUser, team: Team) -> None:
    project = project_of(team)
    doing = statuses_of(project.id)[1]
    task = make_task(project=project, title='Draft the budget')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    await user.should_see('WEB-1')
    user.find(marker='task-title').clear().type('Draft the 2027 budget').trigger('keydown.enter')
    await user.should_see('Saved.')
    assert reload_task(task.id).title == 'Draft the 2027 budget'
    async with handled():
        user.find(marker='task-status').elements.pop().value = doing.id
    assert reload_task(task.id).status_id == doing.id
    async with handled():
        user.find(marker='task-assignees').elements.pop().value = [team.dave.id]
    assert [row.user_id for row in rows(Assignee, Assignee.task_id == task.id)] == [team.dave.id]


async def test_it_keeps_the_title_when_the_new_one_is_refused(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Keep me')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    async with handled():
        user.find(marker='task-title').clear().trigger('keydown.enter')
    assert reload_task(task.id).title == 'Keep me'
    assert user.find(marker='task-title').elements.pop().value == 'Keep me'


async def test_it_adds_and_ticks_a_checklist_item(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project)
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    async with handled():
        user.find(marker='checklist-add').type('Ask finance').trigger('keydown.enter')
    [item] = rows(ChecklistItem, ChecklistItem.task_id == task.id)
    assert (item.text, item.done) == ('Ask finance', False)
    await user.should_see(marker=f'check-box-{item.id}')
    async with handled():
        user.find(marker=f'check-box-{item.id}').click()
    assert rows(ChecklistItem, ChecklistItem.id == item.id)[0].done is True
    await user.should_see('1 of 1 done')


async def test_it_posts_a_comment_that_notifies_the_mentioned_member(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Budget')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    await user.should_see('@dave')  # the mention hint
    user.find(marker='comment-input').type('Please check the numbers, @dave')
    async with handled():
        user.find(marker='comment-send').click()
    [comment] = rows(Comment, Comment.task_id == task.id)
    await user.should_see(marker=f'comment-{comment.id}')
    assert comment.body == 'Please check the numbers, @dave'
    assert rows(Notification, Notification.user_id == team.dave.id)


async def test_it_logs_time_against_the_estimate(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project)
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    user.find(marker='time-hours').type('1.5')
    user.find(marker='time-note').type('First pass')
    user.find(marker='time-log').click()
    await user.should_see('Time logged.')
    [entry] = rows(TimeEntry, TimeEntry.task_id == task.id)
    assert (entry.hours, entry.note, entry.user_id) == (Decimal('1.5'), 'First pass', team.bob.id)
    await user.should_see('1.5 h logged')
    await user.should_see('1.5 h', marker=f'time-{entry.id}')


async def test_hours_read_as_hours_in_chinese(user: UIUser, team: Team) -> None:
    from appliance.models import User
    from modules.tasks.models import TimeEntry

    project = project_of(team)
    task = make_task(project=project)
    with get_database().session() as session:
        session.get(User, team.bob.id).language = 'zh_CN'  # type: ignore[union-attr]
        session.add(TimeEntry(task_id=task.id, user_id=team.bob.id, day=date(2026, 12, 1), hours=Decimal('1.5')))
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    [entry] = rows(TimeEntry, TimeEntry.task_id == task.id)
    await user.should_see('1.5 小时', marker=f'time-{entry.id}')
    await user.should_not_see('1.5 h')


async def test_it_shows_a_viewer_the_task_read_only(user: UIUser, team: Team) -> None:
    project = make_project(owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'viewer'})
    task = make_task(project=project, title='Read only for dave')
    await user.open(sign_in_url('dave', next_path=f'/tasks/{task.id}'))
    await user.should_see('Read only for dave')
    for marker in (
        'task-title',
        'checklist-add',
        'comment-input',
        'time-log',
        'description-edit',
        'subtask-add',
        'dependency-add',
        'attachment-input',
    ):
        await user.should_not_see(marker=marker)
    await user.should_see(marker='watch-toggle')


async def test_it_hides_the_task_of_a_members_only_project_from_the_outsider(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Secret plan')
    await user.http_client.get(sign_in_url('charlie'), follow_redirects=False)
    for path in (f'/tasks/{task.id}', '/tasks/999999'):
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert 'Secret plan' not in response.text


async def test_it_refuses_the_task_page_to_someone_without_a_role(user: UIUser, team: Team) -> None:
    task = make_task(project=project_of(team))
    await user.http_client.get(sign_in_url('erin'), follow_redirects=False)
    response = await user.http_client.get(f'/tasks/{task.id}', follow_redirects=False)
    assert response.status_code == 403


async def test_it_lists_an_uploaded_file_with_its_download_link(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project)
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    await user.should_see('No files yet.')
    upload = user.find(marker='attachment-input').elements.pop()
    assert upload.props['type'] == 'file'
    # What the page's script does with a chosen file: PUT the raw bytes with the session cookie.
    response = await user.http_client.put(
        f'{attachments.upload_url(task.id)}?filename=notes.txt',
        content=b'hello',
        headers={'content-type': 'text/plain', 'origin': str(user.http_client.base_url).rstrip('/')},
    )
    assert response.status_code == 201, response.text
    await user.open(f'/tasks/{task.id}')
    link = user.find('notes.txt').elements.pop()
    assert link.props['href'].startswith('/api/v1/')


async def test_it_links_tasks_by_ref_and_adds_subtasks(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Launch')
    make_task(project=project, title='Design')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    user.find(marker='dependency-ref').type('web-2')
    user.find(marker='dependency-add').click()
    await user.should_see('Dependency added.')
    await user.should_see(marker='blocked-by-2')
    user.find(marker='subtask-add').type('Write the press note').trigger('keydown.enter')
    await user.should_see('Subtask added.')
    subtask = rows(Task, Task.parent_id == task.id)[0]
    assert subtask.title == 'Write the press note'
    await user.should_see(marker=f'subtask-{subtask.id}')


async def test_it_lets_the_author_edit_a_comment(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project)
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    user.find(marker='comment-input').type('Frist draft')
    async with handled():
        user.find(marker='comment-send').click()
    [comment] = rows(Comment, Comment.task_id == task.id)
    await user.should_see(marker=f'comment-edit-{comment.id}')
    user.find(marker=f'comment-edit-{comment.id}').click()
    await user.should_see(marker=f'comment-edit-input-{comment.id}')
    user.find(marker=f'comment-edit-input-{comment.id}').clear().type('First draft')
    async with handled():
        user.find(marker=f'comment-save-{comment.id}').click()
    await user.should_see('First draft')
    assert rows(Comment, Comment.id == comment.id)[0].body == 'First draft'


async def test_it_saves_a_typed_due_date_only_when_it_is_complete(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Budget')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    await user.should_see('WEB-1')
    # What Chromium's date field does while the year is typed digit by digit after day and month: each digit
    # makes a valid date, and each one fires "change".
    for typed in ('0002-05-31', '0020-05-31', '0202-05-31'):
        async with handled():
            user.find(marker='task-due').clear().type(typed).trigger('change')
        assert reload_task(task.id).due_date is None, typed
    # Typed over an old date, a month's first digit makes no date at all: "change" must not save (or redraw) either.
    async with handled():
        user.find(marker='task-due').clear().type('2026-05-31').trigger('change')
    assert reload_task(task.id).due_date is None
    async with handled():
        user.find(marker='task-due').trigger('blur')
    assert str(reload_task(task.id).due_date) == '2026-05-31'


async def test_it_refuses_a_half_typed_start_date_when_the_field_is_left(user: UIUser, team: Team) -> None:
    project = project_of(team)
    task = make_task(project=project, title='Budget')
    await user.open(sign_in_url('bob', next_path=f'/tasks/{task.id}'))
    await user.should_see('WEB-1')
    async with handled():
        user.find(marker='task-start').clear().type('0202-05-31').trigger('change').trigger('blur')
    await user.should_see('The year 202 is not between 1900 and 2200')
    assert reload_task(task.id).start_date is None
    assert user.find(marker='task-start').elements.pop().value == ''
