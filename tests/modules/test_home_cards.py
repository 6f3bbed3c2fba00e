"""Home, the page people start their day on: the cards the core and the modules contribute, for each reader."""

from __future__ import annotations

from datetime import date, timedelta

from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import User
from appliance.modules import CardContent, DashboardCard
from appliance.services import notifications
from appliance.ui.pages_home import HomeCard, load_cards
from modules.projects.services import activity
from modules.tasks.models import Assignee, Task
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team, make_project, make_task


def card(user: UIUser, name: str) -> HomeCard:
    [found] = user.find(marker=f'home-card:{name}').elements
    assert isinstance(found, HomeCard)
    return found


def assign(task: Task, person: User) -> None:
    with get_database().session() as session:
        session.add(Assignee(task_id=task.id, user_id=person.id))


async def test_a_member_sees_his_due_tasks_his_projects_their_activity_and_his_unread_notifications(
    user: UIUser, team: Team
) -> None:
    project = make_project(owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member'})
    today = date.today()
    late = make_task(project=project, title='Late <b>report</b>', due_date=today - timedelta(days=3))
    soon = make_task(project=project, title='Soon', due_date=today + timedelta(days=2))
    later = make_task(project=project, title='Next month', due_date=today + timedelta(days=30))
    make_task(project=project, title='Finished', status='Done', due_date=today - timedelta(days=1))
    for task in (late, soon, later):
        assign(task, team.dave)
    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        activity.record(session, project_id=project.id, actor=bob, action='project.created', name=project.name)
        notifications.notify(
            session,
            user_ids=[team.dave.id],
            module='tasks',
            kind='mentioned',
            title='WEB-1 Late',
            url='/tasks/1',
            actor=bob,
        )
    await user.open(sign_in_url('dave'))
    await user.should_see(marker='welcome')

    tasks = card(user, 'tasks.due_soon').props
    assert [line['text'] for line in tasks['lines']] == ['WEB-1 · Late <b>report</b>', 'WEB-2 · Soon']
    assert tasks['lines'][0]['tone'] == 'red' and tasks['lines'][0]['caption'].startswith('Overdue since')
    assert tasks['lines'][1]['href'] == f'/tasks/{soon.id}'
    assert tasks['summary'] == 'Overdue: 1 · due within a week: 1' and tasks['summaryTone'] == 'red'

    projects = card(user, 'projects.mine').props
    [line] = projects['lines']
    assert line['text'] == 'WEB · Website' and line['caption'] == '1 of 4 done' and line['progress'] == 0.25

    feed = card(user, 'projects.activity').props
    assert len(feed['lines']) == 1 and 'Bob' in feed['lines'][0]['text']

    unread = card(user, 'core.notifications').props
    [note] = unread['lines']
    assert 'WEB-1 Late' in note['text'] and note['href'] == '/tasks/1'
    await user.should_see('Late <b>report</b>')  # as text (Vue binds it as text; nothing here makes HTML of it)
    await user.should_not_see(marker='home-card:console.health')  # the box's health is for admins


async def test_someone_new_sees_each_card_say_there_is_nothing_yet(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('charlie'))
    await user.should_see(marker='welcome')
    assert card(user, 'tasks.due_soon').props['lines'] == ()
    await user.should_see('Nothing overdue and nothing due this week.')
    await user.should_see('You are not a member of any project yet.')
    await user.should_see('You have read everything.')


async def test_an_admin_sees_the_health_of_the_box_first_in_one_line(user: UIUser, team: Team) -> None:
    from console.models import CheckState

    with get_database().session() as session:
        session.add(CheckState(name='database', status='green', message='ok'))
        session.add(CheckState(name='console.backups', status='amber', message='old'))
    await user.open(sign_in_url('alice'))
    await user.should_see(marker='welcome')
    health = card(user, 'console.health').props
    assert health['summary'] == 'Everything works. To look at soon: 1' and health['summaryTone'] == 'amber'
    assert health['href'] == '/console'
    [first, *_rest] = user.find(marker='home-cards').elements.pop().default_slot.children
    assert first is card(user, 'console.health')


async def test_the_cards_speak_the_readers_language(user: UIUser, team: Team) -> None:
    with get_database().session() as session:
        session.get(User, team.dave.id).language = 'zh_CN'  # type: ignore[union-attr]
    await user.open(sign_in_url('dave'))
    await user.should_see('我即将到期的任务')
    await user.should_see('你还不是任何项目的成员。')


def test_a_failing_card_is_left_out_and_the_others_still_show(team: Team) -> None:
    def broken(session: object, actor: object, today: date) -> CardContent:
        raise RuntimeError('this card is broken')

    def fine(session: object, actor: object, today: date) -> CardContent:
        return CardContent(title='Fine')

    cards = [DashboardCard('x.broken', '', broken), DashboardCard('x.fine', '', fine)]
    with get_database().session(write=False) as session:
        actor = session.get(User, team.bob.id)
        assert actor is not None
        shown = load_cards(session, actor, cards, date.today())
    assert shown == [('x.fine', CardContent(title='Fine'))]
