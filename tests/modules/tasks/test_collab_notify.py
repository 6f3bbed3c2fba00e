"""Task notifications: sentences in the reader's language, the due-date job (idempotent), no leaks to outsiders."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from appliance import i18n
from appliance.db import get_database
from appliance.models import Notification, User
from appliance.services import notifications
from modules.projects.models import Member
from modules.tasks.jobs import JOBS, due_notifications
from modules.tasks.models import Assignee, Task
from modules.tasks.services import notify
from tests.modules.conftest import Team, make_project, make_task

TODAY = date(2026, 3, 10)


def _assign(task: Task, *users: User) -> None:
    with get_database().session() as session:
        for user in users:
            session.add(Assignee(task_id=task.id, user_id=user.id))


def _notes() -> list[tuple[str, str, str, str | None]]:
    with get_database().session() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [(n.kind, n.title, session.get(User, n.user_id).username, n.dedup_key) for n in rows]  # type: ignore[union-attr]


def test_it_reminds_assignees_of_tasks_due_tomorrow_and_overdue_once(team: Team) -> None:
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    tomorrow = make_task(project=project, title='Ship it', due_date=TODAY + timedelta(days=1))
    late = make_task(project=project, title='Late one', due_date=TODAY - timedelta(days=2))
    done = make_task(project=project, title='Finished', status='Done', due_date=TODAY - timedelta(days=1))
    later = make_task(project=project, title='Later', due_date=TODAY + timedelta(days=5))
    ancient = make_task(project=project, title='Ancient', due_date=TODAY - timedelta(days=100))
    _assign(tomorrow, team.bob, team.dave)
    _assign(late, team.dave)
    for task in (done, later, ancient):
        _assign(task, team.bob)
    assert due_notifications(TODAY) == 3
    assert due_notifications(TODAY) == 0  # idempotent
    assert _notes() == [
        ('due_tomorrow', 'WEB-1 Ship it', 'bob', f'tasks.due:{tomorrow.id}:2026-03-11'),
        ('due_tomorrow', 'WEB-1 Ship it', 'dave', f'tasks.due:{tomorrow.id}:2026-03-11'),
        ('overdue', 'WEB-2 Late one', 'dave', f'tasks.overdue:{late.id}:2026-03-08'),
    ]
    # A day later "Ship it" is overdue: a new notification, the old ones stay single.
    assert due_notifications(TODAY + timedelta(days=2)) == 2
    assert [n[0] for n in _notes()].count('overdue') == 3


def test_it_does_not_remind_someone_who_left_the_project(team: Team) -> None:
    project = make_project(members={team.bob.id: 'member'})
    task = make_task(project=project, due_date=TODAY + timedelta(days=1))
    _assign(task, team.bob, team.charlie)  # charlie is assigned but not a member (e.g. removed since)
    assert due_notifications(TODAY) == 1
    assert [n[2] for n in _notes()] == ['bob']
    with get_database().session() as session:
        session.delete(session.get(Member, (project.id, team.bob.id)))
    assert due_notifications(TODAY + timedelta(days=2)) == 0


def test_it_declares_an_hourly_job_that_also_runs_after_start_up() -> None:
    (job,) = JOBS
    assert (job.id, job.trigger, job.trigger_args['hours']) == ('tasks.due_notifications', 'interval', 1)
    assert 'next_run_time' in job.trigger_args


def test_it_writes_the_sentence_in_the_readers_language(team: Team) -> None:
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    task = make_task(project=project, title='Fix the login')
    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        assert bob is not None
        notify.assigned(session, actor=bob, project=project, task=task, user_ids=[team.dave.id, team.bob.id])
    with get_database().session() as session:
        dave = session.get(User, team.dave.id)
        assert dave is not None
        page = notifications.list_views(session, user=dave)
        assert [v.text for v in page.items] == ['Bob 张伟 assigned you WEB-1 Fix the login']
        assert page.items[0].url == f'/tasks/{task.id}'
        token = i18n.current_language.set('zh_CN')
        try:
            text = notifications.list_views(session, user=dave).items[0].text
        finally:
            i18n.current_language.reset(token)
        expected = i18n.catalog('zh_CN').get('{actor} assigned you {title}', '{actor} assigned you {title}')
        assert text == expected.format(actor='Bob 张伟', title='WEB-1 Fix the login')
    assert [n[2] for n in _notes()] == ['dave']  # never the actor
