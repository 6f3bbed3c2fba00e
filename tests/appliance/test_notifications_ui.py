"""The bell and /notifications: bob sees his unread count, opens one (read, and taken to it), marks all read."""

from __future__ import annotations

from nicegui.testing import User as UIUser
from sqlalchemy import select

from appliance.db import get_database
from appliance.models import Notification, User
from appliance.services import notifications
from appliance.ui.frame import BELL_REFRESH_SECONDS
from tests.appliance.support import fast_hashing, sign_in_url  # noqa: F401 - autouse
from tests.conftest import People
from tests.support.ui import click


def _notify(people: People, *, user: User, title: str, url: str = '/profile') -> None:
    with get_database().session() as session:
        actor = session.get(User, people.alice.id)
        notifications.notify(
            session, user_ids=[user.id], module='tasks', kind='mentioned', title=title, url=url, actor=actor
        )


def _unread(user: User) -> int:
    with get_database().session() as session:
        return notifications.unread_count(session, user=user)


async def test_it_shows_the_unread_count_on_the_bell(user: UIUser, people: People) -> None:
    _notify(people, user=people.bob, title='WEB-1 Fix the login')
    _notify(people, user=people.bob, title='WEB-2 Write docs')
    _notify(people, user=people.charlie, title='OPS-9 Private thing')
    await user.open(sign_in_url('bob', next_path='/'))
    [header] = user.find(marker='frame-header').elements
    assert header.props['unread'] == 2
    await user.should_see('2', marker='frame-header')


async def test_it_opens_a_notification_and_marks_it_read(user: UIUser, people: People) -> None:
    _notify(people, user=people.bob, title='WEB-1 Fix the login', url='/profile')
    _notify(people, user=people.charlie, title='OPS-9 Private thing')
    await user.open(sign_in_url('bob', next_path='/notifications'))
    await user.should_see('Alice Admin mentioned you in WEB-1 Fix the login')
    await user.should_not_see('OPS-9')
    with get_database().session() as session:
        note_id = session.scalars(select(Notification.id).where(Notification.user_id == people.bob.id)).one()
    await click(user, marker=f'notification:{note_id}')
    assert _unread(people.bob) == 0
    assert _unread(people.charlie) == 1


async def test_it_marks_all_read(user: UIUser, people: People) -> None:
    for n in range(3):
        _notify(people, user=people.bob, title=f'WEB-{n} Task')
    _notify(people, user=people.charlie, title='OPS-9 Private thing')
    await user.open(sign_in_url('bob', next_path='/notifications'))
    user.find(marker='mark-all-read').click()
    await user.should_see('3 marked as read.')
    assert _unread(people.bob) == 0 and _unread(people.charlie) == 1


async def test_it_shows_an_empty_list_to_someone_without_notifications(user: UIUser, people: People) -> None:
    _notify(people, user=people.bob, title='WEB-1 Fix the login')
    await user.open(sign_in_url('charlie', next_path='/notifications'))
    await user.should_see(marker='no-notifications')
    await user.should_not_see('WEB-1')
    [header] = user.find(marker='frame-header').elements
    assert header.props['unread'] == 0  # no badge at zero (appliance/static/frame_header.js)


async def test_the_bell_counts_again_when_the_open_page_asks_but_not_more_often_than_every_minute(
    user: UIUser, people: People
) -> None:
    """The browser asks every BELL_REFRESH_SECONDS ('refresh', appliance/static/frame_header.js); each answer
    reads the database, so a client that asks sooner is not answered, however often it asks."""
    await user.open(sign_in_url('bob', next_path='/'))
    [header] = user.find(marker='frame-header').elements
    assert header.props['unread'] == 0
    _notify(people, user=people.bob, title='WEB-1 Fix the login')
    for _ in range(5):  # at once after the page: not answered
        user.find(marker='frame-header').trigger('refresh')
    await user.should_not_see('1', marker='frame-header', retries=2)
    assert header.props['unread'] == 0
    header.refreshed -= BELL_REFRESH_SECONDS  # a minute later
    user.find(marker='frame-header').trigger('refresh')
    await user.should_see('1', marker='frame-header')
    assert header.props['unread'] == 1
    _notify(people, user=people.bob, title='WEB-2 Write docs')
    user.find(marker='frame-header').trigger('refresh')  # asked again at once: the count stays until the next minute
    await user.should_not_see('2', marker='frame-header', retries=2)
    assert header.props['unread'] == 1
