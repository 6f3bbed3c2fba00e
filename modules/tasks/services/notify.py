"""Who hears about what: the tasks module's notifications (in the app, and by e-mail when the admin enables it).

A notification stores its kind and the task's "KEY-12 Title"; the sentence ("Bob assigned you WEB-12 Fix the
login") is written in the reader's language when it is read (see MESSAGES).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from appliance.errors import N_
from appliance.markdown import plain_text
from appliance.models import User
from appliance.services.notifications import notify, register_messages
from modules.projects.models import Project
from modules.tasks.models import Task
from modules.tasks.services.access import task_ref, task_url

MODULE = 'tasks'
MESSAGES = {
    'assigned': N_('{actor} assigned you {title}'),
    'mentioned': N_('{actor} mentioned you in {title}'),
    'commented': N_('{actor} commented on {title}'),
    'due_tomorrow': N_('{title} is due tomorrow'),
    'overdue': N_('{title} is overdue'),
}
register_messages(MODULE, MESSAGES)
EXCERPT = 300


def headline(project: Project, task: Task) -> str:
    """What a notification names: the task's ref and title."""
    return f'{task_ref(project, task)} {task.title}'


def excerpt(text: str) -> str:
    """The start of a comment, on one line and without its Markdown, for the notification's body."""
    flat = plain_text(text)
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + '…'


def assigned(session: Session, *, actor: User, project: Project, task: Task, user_ids: Iterable[int]) -> None:
    """Tell newly assigned people (not the actor) that a task is theirs."""
    notify(
        session,
        user_ids=user_ids,
        module=MODULE,
        kind='assigned',
        title=headline(project, task),
        url=task_url(task.id),
        actor=actor,
    )


def mentioned(
    session: Session, *, actor: User, project: Project, task: Task, comment_id: int, body: str, user_ids: Iterable[int]
) -> int:
    """Tell the people @mentioned in a comment (callers pass project members only); returns how many."""
    return _about_comment(session, 'mentioned', actor, project, task, comment_id, body, user_ids)


def commented(
    session: Session, *, actor: User, project: Project, task: Task, comment_id: int, body: str, user_ids: Iterable[int]
) -> int:
    """Tell watchers of a task that someone commented on it; returns how many."""
    return _about_comment(session, 'commented', actor, project, task, comment_id, body, user_ids)


def _about_comment(
    session: Session,
    kind: str,
    actor: User,
    project: Project,
    task: Task,
    comment_id: int,
    body: str,
    user_ids: Iterable[int],
) -> int:
    return notify(
        session,
        user_ids=user_ids,
        module=MODULE,
        kind=kind,
        title=headline(project, task),
        body=excerpt(body),
        url=f'{task_url(task.id)}#comment-{comment_id}',
        actor=actor,
    )


def due_tomorrow(session: Session, *, project: Project, task: Task, due: date, user_ids: Iterable[int]) -> int:
    """Remind assignees that a task is due tomorrow (once per task and due date)."""
    return notify(
        session,
        user_ids=user_ids,
        module=MODULE,
        kind='due_tomorrow',
        title=headline(project, task),
        url=task_url(task.id),
        dedup_key=f'tasks.due:{task.id}:{due.isoformat()}',
    )


def overdue(session: Session, *, project: Project, task: Task, due: date, user_ids: Iterable[int]) -> int:
    """Tell assignees that a task is past its due date (once per task and due date)."""
    return notify(
        session,
        user_ids=user_ids,
        module=MODULE,
        kind='overdue',
        title=headline(project, task),
        url=task_url(task.id),
        dedup_key=f'tasks.overdue:{task.id}:{due.isoformat()}',
    )
