"""The list view, my tasks, the calendars and the workflow page."""

from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import User
from modules.projects.models import Project
from modules.tasks.models import Assignee, CalendarFeed, Status, Task
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team, make_project, make_task, statuses_of
from tests.modules.tasks.support import handled


def team_project(team: Team, **kwargs: object) -> Project:
    return make_project(owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member'}, **kwargs)  # type: ignore[arg-type]


def assign(task: Task, *users: object) -> None:
    with get_database().session() as session:
        for person in users:
            session.add(Assignee(task_id=task.id, user_id=person.id))  # type: ignore[attr-defined]


def table_rows(user: UIUser) -> list[dict[str, object]]:
    table = user.find(marker='task-table').elements.pop()
    assert isinstance(table, ui.table)
    return table.rows


async def test_it_lists_filters_and_pages_tasks(user: UIUser, team: Team) -> None:
    project = team_project(team)
    for number in range(1, 56):
        make_task(project=project, title=f'Row {number:02d}', priority='high' if number % 11 == 0 else 'normal')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/tasks'))
    rows = table_rows(user)
    assert len(rows) == 50
    assert rows[0]['ref'] == 'WEB-1'
    async with handled():
        user.find(marker='task-table').trigger('request', {'pagination': {'page': 2, 'rowsPerPage': 50}})
    assert [row['title'] for row in table_rows(user)] == [f'Row {n}' for n in range(51, 56)]
    async with handled():
        user.find(marker='task-table').trigger(
            'request', {'pagination': {'page': 1, 'rowsPerPage': 50, 'sortBy': 'title', 'descending': True}}
        )
    assert table_rows(user)[0]['title'] == 'Row 55'
    await user.open(f'/projects/{project.id}/tasks?priority=high')
    assert [row['title'] for row in table_rows(user)] == ['Row 11', 'Row 22', 'Row 33', 'Row 44', 'Row 55']
    export = user.find(marker='export-csv').elements.pop()
    assert export.props['href'] == f'/api/v1/tasks/export.csv?project_id={project.id}&priority=high'


async def test_it_sorts_my_tasks_into_due_date_buckets(user: UIUser, team: Team) -> None:
    project = team_project(team)
    today = date.today()
    for title, due in (
        ('Late report', today - timedelta(days=3)),
        ('Stand-up notes', today),
        ('Plan the sprint', today + timedelta(days=3)),
        ('Annual review', today + timedelta(days=60)),
        ('Someday idea', None),
    ):
        assign(make_task(project=project, title=title, due_date=due), team.bob)
    make_task(project=project, title='Not mine', due_date=today)
    await user.open(sign_in_url('bob', next_path='/tasks/mine'))
    for bucket, title in (
        ('overdue', 'Late report'),
        ('today', 'Stand-up notes'),
        ('week', 'Plan the sprint'),
        ('later', 'Annual review'),
        ('undated', 'Someday idea'),
    ):
        section = user.find(marker=f'bucket-{bucket}').elements.pop()
        texts = [getattr(e, 'text', '') for e in section.descendants()]
        assert any(title in text for text in texts), bucket
    await user.should_not_see('Not mine')


async def test_it_draws_long_sections_of_my_tasks_on_request_and_exports_them(user: UIUser, team: Team) -> None:
    project = team_project(team)
    overdue = date.today() - timedelta(days=2)
    for n in range(25):
        assign(make_task(project=project, title=f'Old chore {n:02d}', due_date=overdue), team.bob)
    make_task(project=project, title='Not mine', due_date=overdue)
    await user.open(sign_in_url('bob', next_path='/tasks/mine'))
    await user.should_see('Old chore 19')
    await user.should_not_see('Old chore 24')
    user.find(marker='bucket-more-overdue').click()
    await user.should_see('Old chore 24')

    export = user.find(marker='export-csv').elements.pop()
    response = await user.http_client.get(export.props['href'])
    assert response.status_code == 200
    text = response.content.decode('utf-8-sig')
    assert text.count('Old chore') == 25
    assert 'Not mine' not in text


async def test_it_shows_a_task_on_its_due_day(user: UIUser, team: Team) -> None:
    project = team_project(team)
    due = date.today().replace(day=15)
    task = make_task(project=project, title='Pay the invoices', due_date=due)
    await user.open(sign_in_url('bob', next_path='/tasks/calendar'))
    day = user.find(marker=f'day-{due.isoformat()}').elements.pop()
    assert any(e.text == 'WEB-1 Pay the invoices' for e in day.descendants() if isinstance(e, ui.link))
    await user.should_see(marker='today')
    await user.open(f'/projects/{project.id}/calendar?month={due:%Y-%m}')
    await user.should_see(marker=f'cal-task-{task.id}')
    next_month = (due.replace(day=28) + timedelta(days=7)).strftime('%Y-%m')
    await user.open(f'/projects/{project.id}/calendar?month={next_month}')
    await user.should_not_see(marker=f'cal-task-{task.id}')


async def test_the_month_is_also_an_agenda_for_phones_and_its_title_reads_the_chinese_way(
    user: UIUser, team: Team
) -> None:
    project = team_project(team)
    due = date.today().replace(day=15)
    make_task(project=project, title='Pay the invoices', due_date=due)
    make_task(project=project, title='Close the books', due_date=due)
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/calendar?month={due:%Y-%m}'))
    agenda = user.find(marker=f'agenda-{due.isoformat()}').elements.pop()
    links = [e.text for e in agenda.descendants() if isinstance(e, ui.link)]
    assert links == ['WEB-1 Pay the invoices', 'WEB-2 Close the books']
    await user.should_see(due.strftime('%B %Y'))
    empty = (due.replace(day=28) + timedelta(days=7)).strftime('%Y-%m')
    await user.open(f'/projects/{project.id}/calendar?month={empty}')
    await user.should_see('Nothing is due this month.')
    with get_database().session() as session:
        session.get(User, team.bob.id).language = 'zh_CN'  # type: ignore[union-attr]
    await user.open(f'/projects/{project.id}/calendar?month=2026-12')
    await user.should_see('2026年12月')


async def test_it_never_shows_the_outsider_tasks_of_a_members_only_project(user: UIUser, team: Team) -> None:
    project = team_project(team)
    task = make_task(project=project, title='Secret launch', due_date=date.today())
    assign(task, team.charlie)  # even a stale assignment must not leak
    await user.open(sign_in_url('charlie', next_path='/tasks/mine'))
    await user.should_not_see('Secret launch')
    await user.open('/tasks/calendar')
    await user.should_see(marker='calendar')
    await user.should_not_see(marker=f'cal-task-{task.id}')


async def test_it_refuses_my_tasks_and_the_calendar_to_someone_without_a_role(user: UIUser, team: Team) -> None:
    await user.http_client.get(sign_in_url('erin'), follow_redirects=False)
    for path in ('/tasks/mine', '/tasks/calendar'):
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 403, path


async def test_it_lets_a_manager_edit_the_workflow(user: UIUser, team: Team) -> None:
    project = team_project(team)
    todo, doing, _done = statuses_of(project.id)
    make_task(project=project, title='In progress work', status='In progress')
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/workflow'))
    user.find(marker='status-new').type('Review')
    user.find(marker='status-add').click()
    await user.should_see('Column added.')
    assert [s.name for s in statuses_of(project.id)] == ['To do', 'In progress', 'Done', 'Review']
    await user.should_see(marker=f'status-up-{doing.id}')
    async with handled():
        user.find(marker=f'status-up-{doing.id}').click()
    assert [s.name for s in statuses_of(project.id)] == ['In progress', 'To do', 'Done', 'Review']
    await user.should_see(marker=f'status-delete-{doing.id}')
    user.find(marker=f'status-delete-{doing.id}').click()
    user.find(marker='delete-status-target').elements.pop().value = todo.id
    user.find(marker='delete-status-confirm').click()
    await user.should_see('Column deleted.')
    assert [s.name for s in statuses_of(project.id)] == ['To do', 'Done', 'Review']
    with get_database().session() as session:
        assert session.get(Status, doing.id) is None


async def test_it_shows_members_the_workflow_read_only(user: UIUser, team: Team) -> None:
    project = team_project(team)
    await user.open(sign_in_url('dave', next_path=f'/projects/{project.id}/workflow'))
    await user.should_see('Only the project managers can change the workflow.')
    await user.should_not_see(marker='status-add')


async def upload_csv(user: UIUser, data: bytes) -> None:
    upload = user.find(marker='import-file').elements.pop()
    assert isinstance(upload, ui.upload)
    await upload.handle_uploads([SmallFileUpload(name='tasks.csv', content_type='text/csv', _data=data)])


async def test_it_imports_a_csv_after_an_error_free_preview(user: UIUser, team: Team) -> None:
    project = team_project(team)
    await user.open(sign_in_url('bob', next_path=f'/projects/{project.id}/tasks'))
    user.find(marker='import-csv').click()
    await upload_csv(user, b'title,priority\nBad row,whenever\n')
    await user.should_see(marker='import-error')
    assert 'disable' in user.find(marker='import-commit').elements.pop().props
    await upload_csv(user, 'title,due\n打印合同,2027-03-01\nOrder paper,\n'.encode('gbk'))
    await user.should_see('2 tasks in the file.')
    preview = user.find(marker='import-preview').elements.pop()
    assert [row['title'] for row in preview.props['rows']] == ['打印合同', 'Order paper']
    await user.should_not_see(marker='import-error')
    assert 'disable' not in user.find(marker='import-commit').elements.pop().props
    with get_database().session() as session:
        assert session.query(Task).filter_by(project_id=project.id).count() == 0  # nothing before Import
    user.find(marker='import-commit').click()
    await user.should_see('2 tasks imported.')
    with get_database().session() as session:
        titles = sorted(t.title for t in session.query(Task).filter_by(project_id=project.id))
    assert titles == ['Order paper', '打印合同']


async def test_it_shows_a_calendar_address_once_and_revokes_it(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('bob', next_path='/tasks/calendar'))
    await user.should_see(marker='ical-none')
    user.find(marker='ical-create').click()
    await user.should_see(marker='ical-url')
    url = user.find(marker='ical-url').elements.pop().value
    assert '/api/v1/calendar/' in url and url.endswith('.ics')
    with get_database().session() as session:
        assert session.query(CalendarFeed).filter_by(user_id=team.bob.id).count() == 1
    await user.open('/tasks/calendar')
    await user.should_see(marker='ical-active')
    await user.should_not_see(marker='ical-url')
    user.find(marker='ical-revoke').click()
    await user.should_see('Address revoked.')
    with get_database().session() as session:
        assert session.query(CalendarFeed).filter_by(user_id=team.bob.id).count() == 0
