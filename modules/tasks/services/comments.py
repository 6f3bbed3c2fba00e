"""Comments on tasks (Markdown, @mentions that notify), edited and deleted by their authors (audited).

A mention is `@username` of a member of the task's project (any role). A mention of anyone else does nothing at
all: no notification, no error, nothing that would tell the author whether that account exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.db import lock_for_write, utcnow
from appliance.errors import N_, NotFound, PermissionDenied, ValidationError
from appliance.markdown import render
from appliance.models import User
from appliance.search import SearchHit, like_pattern, match_score
from appliance.services import audit
from appliance.services.permissions import has_permission
from modules.projects.models import Member, Project
from modules.projects.services import role_in, visible_project_ids
from modules.tasks.models import Comment, Task, Watcher
from modules.tasks.services import notify
from modules.tasks.services.access import require_task, task_ref, task_url
from modules.tasks.services.common import record_activity
from modules.tasks.views import CommentView, PersonRef

MAX_BODY = 20_000
INDEX_KIND = 'comment'
# A mention starts a word (not inside an e-mail address) and is a username as accounts.USERNAME_RE allows.
MENTION_RE = re.compile(r'(?<![\w@.])@([a-z0-9][a-z0-9._-]{1,31})', re.IGNORECASE)


def people(session: Session, user_ids: Iterable[int | None]) -> dict[int, PersonRef]:
    """{user_id: PersonRef} for the given ids (unknown ids are left out)."""
    ids = {uid for uid in user_ids if uid is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(ids)))
    return {uid: PersonRef(id=uid, username=name, display_name=display) for uid, name, display in rows}


def _clean_body(body: str) -> str:
    body = (body or '').strip()
    if not body:
        raise ValidationError(N_('Write something before sending the comment.'), field='body')
    if len(body) > MAX_BODY:
        raise ValidationError(
            N_('A comment is at most {n} characters; this one has {length}. Shorten it or split it in two.'),
            field='body',
            n=MAX_BODY,
            length=len(body),
        )
    return body


def mentioned_usernames(body: str) -> set[str]:
    """The lower-cased usernames written as @username in a text (trailing dots and dashes are punctuation)."""
    return {match.rstrip('.-').lower() for match in MENTION_RE.findall(body)}


def _mentioned_members(session: Session, project_id: int, body: str) -> set[int]:
    names = mentioned_usernames(body)
    if not names:
        return set()
    rows = session.scalars(
        select(User.id)
        .join(Member, Member.user_id == User.id)
        .where(Member.project_id == project_id, User.username.in_(names), User.is_active.is_(True))
    )
    return set(rows)


def _watchers_who_can_see(session: Session, project: Project, task_id: int) -> set[int]:
    """Watchers still allowed to see the project (someone removed from a private project hears nothing)."""
    ids = list(session.scalars(select(Watcher.user_id).where(Watcher.task_id == task_id)))
    if not ids:
        return set()
    users = session.scalars(select(User).where(User.id.in_(ids), User.is_active.is_(True)))
    return {user.id for user in users if role_in(session, user, project) is not None}


def _watch(session: Session, task_id: int, user_id: int) -> None:
    if session.get(Watcher, (task_id, user_id)) is None:
        session.add(Watcher(task_id=task_id, user_id=user_id))


def _view(comment: Comment, person: PersonRef | None, *, actor: User, can_write: bool, manager: bool) -> CommentView:
    own = can_write and comment.author_id is not None and comment.author_id == actor.id
    return CommentView(
        id=comment.id,
        task_id=comment.task_id,
        author=person,
        body=comment.body,
        html=render(comment.body),
        created_at=comment.created_at,
        edited_at=comment.edited_at,
        can_edit=own,
        can_delete=own or manager,
    )


def list_comments(*, session: Session, actor: User, task_id: int) -> list[CommentView]:
    """The task's comments, oldest first."""
    _task, project = require_task(session, actor, task_id)
    role = role_in(session, actor, project)
    can_write = project.status != 'archived' and role in ('member', 'manager')
    manager = can_write and role == 'manager'
    rows = list(session.scalars(select(Comment).where(Comment.task_id == task_id).order_by(Comment.id)))
    authors = people(session, (row.author_id for row in rows))
    return [
        _view(row, authors.get(row.author_id or 0), actor=actor, can_write=can_write, manager=manager) for row in rows
    ]


def add_comment(*, session: Session, actor: User, task_id: int, body: str) -> Comment:
    """Comment (project members); @username mentions of project members notify them; watchers hear of it."""
    task, project = require_task(session, actor, task_id, 'member')
    body = _clean_body(body)
    # The commenter starts watching ("watching already?" then insert): two comments at once must not both insert.
    lock_for_write(session, Project, project.id)
    comment = Comment(task_id=task.id, author_id=actor.id, body=body, created_at=utcnow())
    session.add(comment)
    session.flush()
    mentioned = _mentioned_members(session, project.id, body) - {actor.id}
    notify.mentioned(
        session, actor=actor, project=project, task=task, comment_id=comment.id, body=body, user_ids=mentioned
    )
    watchers = _watchers_who_can_see(session, project, task.id) - mentioned - {actor.id}
    notify.commented(
        session, actor=actor, project=project, task=task, comment_id=comment.id, body=body, user_ids=watchers
    )
    _watch(session, task.id, actor.id)
    search_index.index(session, INDEX_KIND, comment.id, body)
    record_activity(session, actor=actor, project=project, task=task, action='comment.added')
    session.flush()
    return comment


def _own_comment(session: Session, actor: User, comment_id: int) -> tuple[Comment, Task, Project]:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(N_('This comment does not exist, or you cannot see its task.'))
    try:
        task, project = require_task(session, actor, comment.task_id)
    except NotFound:
        raise NotFound(N_('This comment does not exist, or you cannot see its task.')) from None
    return comment, task, project


def edit_comment(*, session: Session, actor: User, comment_id: int, body: str) -> Comment:
    """Change one's own comment (audited); people newly @mentioned in it are notified."""
    comment, task, project = _own_comment(session, actor, comment_id)
    if comment.author_id != actor.id:
        raise PermissionDenied(N_('Only its author can edit a comment.'))
    require_task(session, actor, task.id, 'member')
    body = _clean_body(body)
    old = comment.body
    comment.body = body
    comment.edited_at = utcnow()
    new_mentions = _mentioned_members(session, project.id, body) - _mentioned_members(session, project.id, old)
    notify.mentioned(
        session,
        actor=actor,
        project=project,
        task=task,
        comment_id=comment.id,
        body=body,
        user_ids=new_mentions - {actor.id},
    )
    search_index.index(session, INDEX_KIND, comment.id, body)
    audit.record(
        session=session,
        actor=actor,
        action='tasks.comment.edit',
        target=f'comment:{comment.id}',
        details={'task': task_ref(project, task), 'old_length': len(old), 'new_length': len(body)},
    )
    record_activity(session, actor=actor, project=project, task=task, action='comment.edited')
    session.flush()
    return comment


def delete_comment(*, session: Session, actor: User, comment_id: int) -> None:
    """Delete one's own comment (a project manager may delete any; audited)."""
    comment, task, project = _own_comment(session, actor, comment_id)
    need = 'member' if comment.author_id == actor.id else 'manager'
    if need == 'manager' and role_in(session, actor, project) != 'manager':
        raise PermissionDenied(N_('Only its author or a project manager can delete a comment.'))
    require_task(session, actor, task.id, need)
    length = len(comment.body)
    author_id = comment.author_id
    session.delete(comment)
    search_index.remove(session, INDEX_KIND, comment_id)
    audit.record(
        session=session,
        actor=actor,
        action='tasks.comment.delete',
        target=f'comment:{comment_id}',
        details={'task': task_ref(project, task), 'length': length, 'author_id': author_id},
    )
    record_activity(session, actor=actor, project=project, task=task, action='comment.deleted')
    session.flush()


def search_comments(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Comments on visible tasks matching the query (Chinese and English)."""
    if not (has_permission(actor, 'tasks.use') and has_permission(actor, 'projects.use')):
        return []
    stmt = (
        select(Comment.id, Comment.task_id, Comment.body, Task.title, Task.number, Project.key)
        .join(Task, Task.id == Comment.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(Task.project_id.in_(visible_project_ids(actor)))
    )
    rows = _matching_comments(session, stmt, query, limit)
    hits: list[SearchHit] = []
    for comment_id, task_id, body, title, number, key in rows:
        if not search_index.confirm(query, body):
            continue
        hits.append(
            SearchHit(
                module='tasks',
                kind='comment',
                title=f'{key}-{number} {title}',
                url=f'{task_url(task_id)}#comment-{comment_id}',
                snippet=notify.excerpt(body)[:200],
                score=max(match_score(query, body), 0.5),
            )
        )
        if len(hits) >= limit:
            break
    return hits


SEARCH_BATCH = 200
SEARCH_BATCHES = 10


def _matching_comments(session: Session, stmt: Any, query: str, limit: int) -> list[Any]:
    """Visible comments matching `query`, newest first: the index is read a batch at a time, so that the comments
    of projects the reader cannot see never crowd out older ones they can (a one-character query scans instead)."""
    if not search_index.indexable(query):
        like = stmt.where(Comment.body.ilike(like_pattern(query), escape='\\'))
        return list(session.execute(like.order_by(Comment.id.desc()).limit(limit * 3)).all())
    rows: list[Any] = []
    cursor: int | None = None
    for _batch in range(SEARCH_BATCHES):
        found = search_index.newest(session, INDEX_KIND, query, before=cursor, limit=SEARCH_BATCH)
        assert found is not None
        ids, cursor = found
        if ids:
            rows += session.execute(stmt.where(Comment.id.in_(ids)).order_by(Comment.id.desc())).all()
        if cursor is None or len(rows) >= limit * 3:
            break
    return rows
