"""Comments: Markdown, @mentions that notify members only, watchers, own edits and deletes (audited), search."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from appliance.db import get_database
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import AuditEvent, Notification, User
from modules.projects.models import Activity
from modules.tasks.models import Comment, Watcher
from modules.tasks.services import comments
from tests.conftest import make_user
from tests.modules.conftest import Team, make_project, make_task


def _actor(user: User) -> User:
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        session.expunge(actor)
        return actor


def _add(user: User, task_id: int, body: str) -> int:
    with get_database().session() as session:
        return comments.add_comment(session=session, actor=_actor(user), task_id=task_id, body=body).id


def _notes(user: User) -> list[Notification]:
    with get_database().session() as session:
        return list(session.scalars(select(Notification).where(Notification.user_id == user.id)))


@pytest.fixture
def setup(team: Team) -> tuple[Team, int]:
    team.erin = make_user(username='vera', roles=['member'], display_name='Vera Viewer')  # a project viewer
    project = make_project(
        owner=team.bob, members={team.bob.id: 'manager', team.dave.id: 'member', team.erin.id: 'viewer'}
    )
    task = make_task(project=project, title='Fix the login')
    return team, task.id


def test_it_renders_markdown_safely_and_lists_oldest_first(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    _add(team.bob, task_id, '**bold** <script>alert(1)</script>')
    _add(team.dave, task_id, 'second')
    with get_database().session() as session:
        views = comments.list_comments(session=session, actor=_actor(team.dave), task_id=task_id)
    assert [v.body for v in views] == ['**bold** <script>alert(1)</script>', 'second']
    assert '<strong>bold</strong>' in views[0].html
    assert '<script>' not in views[0].html
    assert (views[0].can_edit, views[0].can_delete, views[1].can_edit) == (False, False, True)
    assert views[0].author is not None and views[0].author.username == 'bob'


def test_it_notifies_mentioned_members_and_watchers_but_not_outsiders(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    with get_database().session() as session:
        session.add(Watcher(task_id=task_id, user_id=team.erin.id))
        session.add(Watcher(task_id=task_id, user_id=team.charlie.id))  # stale: charlie is not in the project
    _add(team.bob, task_id, 'Hi @dave and @charlie and @nobody, see mail@dave.org')
    dave_notes = _notes(team.dave)
    assert [(n.kind, n.title) for n in dave_notes] == [('mentioned', 'WEB-1 Fix the login')]
    assert dave_notes[0].url.startswith(f'/tasks/{task_id}#comment-')
    assert 'Hi @dave' in dave_notes[0].body
    assert [n.kind for n in _notes(team.erin)] == ['commented']
    assert _notes(team.charlie) == []
    assert _notes(team.bob) == []  # never about one's own doing
    with get_database().session() as session:
        assert session.get(Watcher, (task_id, team.bob.id)) is not None  # the author now watches


def test_a_notification_quotes_the_words_of_a_comment_not_its_markdown(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    _add(team.bob, task_id, '## 目标\n\n@dave 请看 **首页设计稿**，[链接](/tasks/1)')
    [note] = _notes(team.dave)
    assert note.body == '目标 @dave 请看 首页设计稿，链接'


def test_it_does_not_notify_a_mentioned_watcher_twice(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    _add(team.dave, task_id, 'I watch now')
    _add(team.bob, task_id, '@dave please look')
    assert [n.kind for n in _notes(team.dave)] == ['mentioned']
    _add(team.bob, task_id, 'and again')
    assert [n.kind for n in _notes(team.dave)] == ['mentioned', 'commented']


@pytest.mark.parametrize('body', ['', '   ', 'x' * 20_001])
def test_it_refuses_empty_or_oversized_comments(setup: tuple[Team, int], body: str) -> None:
    team, task_id = setup
    with pytest.raises(ValidationError) as caught:
        _add(team.bob, task_id, body)
    assert caught.value.field == 'body'
    with get_database().session() as session:
        assert session.scalars(select(Comment)).all() == []


def test_it_refuses_viewers_and_hides_the_task_from_the_outsider(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    comment_id = _add(team.bob, task_id, 'secret plan')
    with pytest.raises(PermissionDenied):
        _add(team.erin, task_id, 'may I?')
    for call in (
        lambda s: comments.list_comments(session=s, actor=_actor(team.charlie), task_id=task_id),
        lambda s: comments.add_comment(session=s, actor=_actor(team.charlie), task_id=task_id, body='hi'),
        lambda s: comments.edit_comment(session=s, actor=_actor(team.charlie), comment_id=comment_id, body='x'),
        lambda s: comments.delete_comment(session=s, actor=_actor(team.charlie), comment_id=comment_id),
    ):
        with pytest.raises((NotFound, PermissionDenied)), get_database().session() as session:
            call(session)
    with get_database().session() as session:
        assert [c.body for c in session.scalars(select(Comment))] == ['secret plan']
        assert comments.search_comments(session=session, actor=_actor(team.charlie), query='secret', limit=10) == []


def test_it_lets_authors_edit_and_managers_delete_with_an_audit_of_lengths(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    comment_id = _add(team.dave, task_id, 'first draft')
    with get_database().session() as session:
        with pytest.raises(PermissionDenied):
            comments.edit_comment(session=session, actor=_actor(team.bob), comment_id=comment_id, body='hijack')
    with get_database().session() as session:
        comments.edit_comment(session=session, actor=_actor(team.dave), comment_id=comment_id, body='final @bob')
    with get_database().session() as session:
        row = session.get(Comment, comment_id)
        assert row is not None and row.body == 'final @bob' and row.edited_at is not None
    assert [n.kind for n in _notes(team.bob)] == ['mentioned']  # a new mention in an edit notifies
    with get_database().session() as session:
        comments.delete_comment(session=session, actor=_actor(team.bob), comment_id=comment_id)  # bob manages
    with get_database().session() as session:
        assert session.get(Comment, comment_id) is None
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action.startswith('tasks.comment.'))))
        assert [e.action for e in events] == ['tasks.comment.edit', 'tasks.comment.delete']
        edit = json.loads(events[0].details)
        assert (edit['old_length'], edit['new_length']) == (11, 10)
        assert 'first draft' not in events[0].details and 'final' not in events[1].details
        actions = [a.action for a in session.scalars(select(Activity).order_by(Activity.id))]
        assert actions == ['comment.added', 'comment.edited', 'comment.deleted']
        assert json.loads(session.scalars(select(Activity)).first().details)['ref'] == 'WEB-1'  # type: ignore[union-attr]


def test_it_refuses_a_member_deleting_someone_elses_comment(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    comment_id = _add(team.bob, task_id, 'mine')
    with pytest.raises(PermissionDenied), get_database().session() as session:
        comments.delete_comment(session=session, actor=_actor(team.dave), comment_id=comment_id)
    with get_database().session() as session:
        assert session.get(Comment, comment_id) is not None


def test_it_finds_comments_by_chinese_and_english_words(setup: tuple[Team, int]) -> None:
    team, task_id = setup
    comment_id = _add(team.bob, task_id, '我们需要修改项目计划 before Friday')
    with get_database().session() as session:
        for query in ('项目', 'friday', '修改项目', '计'):
            hits = comments.search_comments(session=session, actor=_actor(team.dave), query=query, limit=5)
            assert [(h.kind, h.url, h.title) for h in hits] == [
                ('comment', f'/tasks/{task_id}#comment-{comment_id}', 'WEB-1 Fix the login')
            ], query
        assert comments.search_comments(session=session, actor=_actor(team.dave), query='monday', limit=5) == []


def test_it_finds_an_old_visible_comment_behind_many_newer_hidden_ones(team: Team) -> None:
    from appliance import search_index

    mine = make_project(key='MINE', name='Mine', members={team.bob.id: 'member'})
    hidden = make_project(key='SECRET', name='Secret', members={team.alice.id: 'manager'})
    old_task, secret_task = make_task(project=mine, title='Old'), make_task(project=hidden, title='Secret')
    with get_database().session() as session:
        session.add(Comment(task_id=old_task.id, author_id=team.bob.id, body='部署 checklist, the old one'))
        session.flush()
        session.add_all(
            Comment(task_id=secret_task.id, author_id=team.alice.id, body=f'部署 checklist {n}') for n in range(450)
        )
        session.flush()
        rows = session.execute(select(Comment.id, Comment.body).order_by(Comment.id)).all()
        search_index.index_many(session, 'comment', ((cid, (body,)) for cid, body in rows))
    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        assert bob is not None
        for query in ('部署', 'checklist'):
            hits = comments.search_comments(session=session, actor=bob, query=query, limit=10)
            assert [hit.title for hit in hits] == ['MINE-1 Old'], query
