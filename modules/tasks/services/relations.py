"""What hangs off a task besides comments and files: dependencies, the checklist and watchers."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appliance.db import lock_for_write, utcnow
from appliance.errors import N_, NotFound, ValidationError
from appliance.models import User
from modules.projects.models import Project
from modules.tasks.models import ChecklistItem, Dependency, Task, Watcher
from modules.tasks.services.access import require_task, task_ref
from modules.tasks.services.common import CHECKLIST_TEXT_MAX, record_activity
from modules.tasks.views import ChecklistView


def _reaches(session: Session, start: int, goal: int) -> bool:
    """True when `goal` can be reached from `start` following blocker → blocked edges (one query per level)."""
    frontier, seen = {start}, {start}
    while frontier:
        if goal in frontier:
            return True
        nxt = set(session.scalars(select(Dependency.blocked_id).where(Dependency.blocker_id.in_(frontier))))
        frontier = nxt - seen
        seen |= frontier
    return False


def add_dependency(*, session: Session, actor: User, blocker_id: int, blocked_id: int) -> None:
    """`blocked_id` cannot start before `blocker_id` finishes. Same project only; a cycle is a ValidationError."""
    blocked, project = require_task(session, actor, blocked_id, 'member')
    if blocker_id == blocked_id:
        raise ValidationError(N_('A task cannot block itself. Pick another task.'), field='blocker_id')
    blocker = session.get(Task, blocker_id)
    if blocker is None or blocker.project_id != blocked.project_id:
        raise ValidationError(N_('A task can only depend on a task of the same project.'), field='blocker_id')
    # "Is it there already?" and "would it make a loop?" under the write lock: the same dependency added twice at
    # once, or A-blocks-B and B-blocks-A at once, must not both pass the checks.
    lock_for_write(session, Project, project.id)
    already = ValidationError(
        N_('{blocker} already blocks {blocked}.'),
        field='blocker_id',
        blocker=task_ref(project, blocker),
        blocked=task_ref(project, blocked),
    )
    if session.get(Dependency, (blocker_id, blocked_id)) is not None:
        raise already
    if _reaches(session, blocked_id, blocker_id):
        raise ValidationError(
            N_('{blocker} already waits for {blocked}: this dependency would make a loop.'),
            field='blocker_id',
            blocker=task_ref(project, blocker),
            blocked=task_ref(project, blocked),
        )
    session.add(Dependency(blocker_id=blocker_id, blocked_id=blocked_id))
    try:
        session.flush()
    except IntegrityError:  # a writer the lock did not serialise added it first
        raise already from None
    blocked.updated_at = utcnow()
    record_activity(
        session, actor=actor, project=project, task=blocked, action='task.dependency_added',
        blocker=task_ref(project, blocker),
    )  # fmt: skip
    session.flush()


def remove_dependency(*, session: Session, actor: User, blocker_id: int, blocked_id: int) -> None:
    """Drop a dependency."""
    blocked, project = require_task(session, actor, blocked_id, 'member')
    dependency = session.get(Dependency, (blocker_id, blocked_id))
    if dependency is None:
        raise NotFound(N_('There is no such dependency.'))
    blocker = session.get(Task, blocker_id)
    session.delete(dependency)
    blocked.updated_at = utcnow()
    record_activity(
        session, actor=actor, project=project, task=blocked, action='task.dependency_removed',
        blocker=task_ref(project, blocker) if blocker else '',
    )  # fmt: skip
    session.flush()


def _clean_text(text: str) -> str:
    value = ' '.join((text or '').split())
    if not value or len(value) > CHECKLIST_TEXT_MAX:
        raise ValidationError(N_('A checklist line has 1 to {n} characters.'), field='text', n=CHECKLIST_TEXT_MAX)
    return value


def add_checklist_item(*, session: Session, actor: User, task_id: int, text: str) -> int:
    """Append a line to the checklist; returns its id."""
    task, project = require_task(session, actor, task_id, 'member')
    clean = _clean_text(text)
    lock_for_write(session, Project, project.id)
    last = session.scalar(select(func.max(ChecklistItem.position)).where(ChecklistItem.task_id == task.id))
    item = ChecklistItem(task_id=task.id, text=clean, position=(last or 0) + 1)
    session.add(item)
    task.updated_at = utcnow()
    session.flush()
    record_activity(session, actor=actor, project=project, task=task, action='checklist.added', item=clean)
    return item.id


def _item(session: Session, actor: User, item_id: int) -> tuple[ChecklistItem, Task, Project]:
    item = session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound(N_('This checklist line does not exist, or you cannot see its task.'))
    try:
        task, project = require_task(session, actor, item.task_id, 'member')
    except NotFound:
        raise NotFound(N_('This checklist line does not exist, or you cannot see its task.')) from None
    return item, task, project


def update_checklist_item(
    *, session: Session, actor: User, item_id: int, text: str | None = None, done: bool | None = None
) -> None:
    """Edit or tick a checklist line."""
    item, task, project = _item(session, actor, item_id)
    clean = _clean_text(text) if text is not None else None
    if clean is not None:
        item.text = clean
    if done is not None and bool(done) != item.done:
        item.done = bool(done)
        action = 'checklist.checked' if item.done else 'checklist.unchecked'
        record_activity(session, actor=actor, project=project, task=task, action=action, item=item.text)
    task.updated_at = utcnow()
    session.flush()


def delete_checklist_item(*, session: Session, actor: User, item_id: int) -> None:
    """Remove a checklist line."""
    item, task, _project = _item(session, actor, item_id)
    session.delete(item)
    task.updated_at = utcnow()
    session.flush()


def set_watching(*, session: Session, actor: User, task_id: int, watching: bool) -> None:
    """Start or stop watching a task (anyone who can see it)."""
    task, project = require_task(session, actor, task_id, 'viewer')
    # Two "watch" clicks at once (two tabs) must not both insert the same row.
    lock_for_write(session, Project, project.id)
    present = session.get(Watcher, (task.id, actor.id)) is not None
    if watching and not present:
        session.execute(insert(Watcher).values(task_id=task.id, user_id=actor.id))
    elif not watching and present:
        session.execute(delete(Watcher).where(Watcher.task_id == task.id, Watcher.user_id == actor.id))


def checklist_item(*, session: Session, actor: User, item_id: int) -> ChecklistView:
    """One checklist line, if the actor may see its task."""
    item = session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound(N_('This checklist line does not exist, or you cannot see its task.'))
    try:
        require_task(session, actor, item.task_id, 'viewer')
    except NotFound:
        raise NotFound(N_('This checklist line does not exist, or you cannot see its task.')) from None
    return ChecklistView(item.id, item.text, item.done, item.position)
