"""Writing tasks: create, update, move (drag and drop), delete, and the checks on what a task refers to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.db import lock_for_write, utcnow
from appliance.errors import N_, NotFound, ValidationError
from appliance.models import BlobRef, User
from appliance.services import audit
from modules.projects.models import Member, Milestone, Project
from modules.projects.services import require_project
from modules.tasks.models import Assignee, Attachment, Comment, Label, Status, Task, TaskLabel, Watcher
from modules.tasks.services import notify
from modules.tasks.services.access import require_task, task_ref
from modules.tasks.services.common import (
    check_dates,
    clean_date,
    clean_description,
    clean_estimate,
    clean_ids,
    clean_priority,
    clean_title,
    record_activity,
    reindex,
)
from modules.tasks.services.moving import bottom_position, place
from modules.tasks.services.workflow import ensure_workflow

UPDATABLE = (
    'title',
    'description',
    'status_id',
    'priority',
    'assignee_ids',
    'label_ids',
    'start_date',
    'due_date',
    'estimate_hours',
    'parent_id',
    'milestone_id',
)
# Changes whose checks or writes depend on rows other writers change at the same time: made under the write lock.
LOCKED_CHANGES = frozenset({'parent_id', 'status_id', 'assignee_ids', 'label_ids'})


# --- checks on what a task refers to ----------------------------------------------------------------------------


def check_status(session: Session, project_id: int, status_id: Any) -> Status:
    """A status of this project (moving a task into another project's column is refused)."""
    status = session.get(Status, status_id) if isinstance(status_id, int) else None
    if status is None:
        raise ValidationError(N_('This column does not exist. Pick one of the board.'), field='status_id')
    if status.project_id != project_id:
        raise ValidationError(
            N_("This column belongs to another project. Pick one of this project's columns."), field='status_id'
        )
    return status


def check_assignees(session: Session, project_id: int, user_ids: list[int]) -> None:
    """Every assignee is a member of the project (any role)."""
    if not user_ids:
        return
    members = set(
        session.scalars(select(Member.user_id).where(Member.project_id == project_id, Member.user_id.in_(user_ids)))
    )
    outsiders = [uid for uid in user_ids if uid not in members]
    if outsiders:
        names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(outsiders))).all())
        listed = ', '.join(names.get(uid, f'#{uid}') for uid in outsiders)
        raise ValidationError(
            N_('Not a member of this project: {names}. Add them to the project first.'),
            field='assignee_ids',
            names=listed,
        )


def check_labels(session: Session, project_id: int, label_ids: list[int]) -> None:
    """Every label belongs to the project."""
    if not label_ids:
        return
    found = session.scalar(
        select(func.count()).select_from(Label).where(Label.id.in_(label_ids), Label.project_id == project_id)
    )
    if found != len(label_ids):
        raise ValidationError(
            N_("A label belongs to another project or does not exist. Pick this project's labels."), field='label_ids'
        )


def check_milestone(session: Session, project_id: int, milestone_id: Any) -> int | None:
    """A milestone of the project, or None."""
    if milestone_id is None:
        return None
    milestone = session.get(Milestone, milestone_id) if isinstance(milestone_id, int) else None
    if milestone is None or milestone.project_id != project_id:
        raise ValidationError(
            N_("This milestone is not one of this project's. Pick one of its milestones."), field='milestone_id'
        )
    return milestone.id


def check_parent(session: Session, project_id: int, task_id: int | None, parent_id: Any) -> int | None:
    """A parent task in the same project that is neither the task itself nor one of its subtasks."""
    if parent_id is None:
        return None
    parent = session.get(Task, parent_id) if isinstance(parent_id, int) else None
    if parent is None or parent.project_id != project_id:
        raise ValidationError(N_('The parent task must be a task of the same project.'), field='parent_id')
    if task_id is not None:
        current: int | None = parent.id
        seen: set[int] = set()
        while current is not None and current not in seen:
            if current == task_id:
                raise ValidationError(
                    N_('A task cannot be its own parent or the parent of its parent. Pick another task.'),
                    field='parent_id',
                )
            seen.add(current)
            current = session.scalar(select(Task.parent_id).where(Task.id == current))
    return parent.id


def _watch(session: Session, task_id: int, user_ids: Iterable[int]) -> None:
    wanted = set(user_ids)
    if not wanted:
        return
    have = set(session.scalars(select(Watcher.user_id).where(Watcher.task_id == task_id)))
    new = sorted(wanted - have)
    if new:
        session.execute(insert(Watcher), [{'task_id': task_id, 'user_id': uid} for uid in new])


# --- create -----------------------------------------------------------------------------------------------------


def create_task(
    *,
    session: Session,
    actor: User,
    project_id: int,
    title: str,
    description: str = '',
    status_id: int | None = None,
    priority: str = 'normal',
    assignee_ids: list[int] | None = None,
    label_ids: list[int] | None = None,
    start_date: date | None = None,
    due_date: date | None = None,
    estimate_hours: Any = None,
    parent_id: int | None = None,
    milestone_id: int | None = None,
) -> Task:
    """Create a task (project members); it goes to the bottom of its column (default: the first column)."""
    project = require_project(session, actor, project_id, 'member')
    clean_title_ = clean_title(title)
    clean_desc = clean_description(description)
    clean_prio = clean_priority(priority)
    start, due = clean_date(start_date, 'start_date'), clean_date(due_date, 'due_date')
    check_dates(start, due)
    estimate = clean_estimate(estimate_hours)
    assignees = clean_ids(assignee_ids, 'assignee_ids')
    labels = clean_ids(label_ids, 'label_ids')
    check_assignees(session, project.id, assignees)
    check_labels(session, project.id, labels)
    milestone = check_milestone(session, project.id, milestone_id)
    parent = check_parent(session, project.id, None, parent_id)
    # The next number and the bottom position are read under the write lock: concurrent creates must not both
    # take the same number (UNIQUE project_id, number).
    lock_for_write(session, Project, project.id)
    statuses = ensure_workflow(session, project.id)
    status = check_status(session, project.id, status_id) if status_id is not None else statuses[0]
    number = (session.scalar(select(func.max(Task.number)).where(Task.project_id == project.id)) or 0) + 1
    now = utcnow()
    task = Task(
        project_id=project.id,
        number=number,
        status_id=status.id,
        position=bottom_position(session, status.id),
        title=clean_title_,
        description=clean_desc,
        priority=clean_prio,
        reporter_id=actor.id,
        parent_id=parent,
        milestone_id=milestone,
        start_date=start,
        due_date=due,
        estimate_hours=estimate,
        created_at=now,
        updated_at=now,
        closed_at=now if status.is_closed else None,
    )
    session.add(task)
    session.flush()
    if assignees:
        session.execute(insert(Assignee), [{'task_id': task.id, 'user_id': uid} for uid in assignees])
    if labels:
        session.execute(insert(TaskLabel), [{'task_id': task.id, 'label_id': lid} for lid in labels])
    _watch(session, task.id, [actor.id, *assignees])
    reindex(session, project, task)
    record_activity(session, actor=actor, project=project, task=task, action='task.created')
    if assignees:
        names = ', '.join(_names(session, assignees))
        record_activity(session, actor=actor, project=project, task=task, action='task.assigned', assignees=names)
        notify.assigned(session, actor=actor, project=project, task=task, user_ids=assignees)
    return task


def _names(session: Session, user_ids: list[int]) -> list[str]:
    rows = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    return [rows.get(uid, f'#{uid}') for uid in user_ids]


# --- update -----------------------------------------------------------------------------------------------------


def update_task(*, session: Session, actor: User, task_id: int, changes: dict[str, Any]) -> Task:
    """Change the fields named in `changes` (keys from UPDATABLE; anything else is a ValidationError)."""
    task, project = require_task(session, actor, task_id, 'member')
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationError(
            N_('These fields cannot be changed: {fields}.'), field=unknown[0], fields=', '.join(unknown)
        )
    values: dict[str, Any] = {}
    if 'title' in changes:
        values['title'] = clean_title(changes['title'])
    if 'description' in changes:
        values['description'] = clean_description(changes['description'])
    if 'priority' in changes:
        values['priority'] = clean_priority(changes['priority'])
    if 'start_date' in changes:
        values['start_date'] = clean_date(changes['start_date'], 'start_date')
    if 'due_date' in changes:
        values['due_date'] = clean_date(changes['due_date'], 'due_date')
    check_dates(values.get('start_date', task.start_date), values.get('due_date', task.due_date))
    if 'estimate_hours' in changes:
        values['estimate_hours'] = clean_estimate(changes['estimate_hours'])
    if 'milestone_id' in changes:
        values['milestone_id'] = check_milestone(session, project.id, changes['milestone_id'])
    if LOCKED_CHANGES & set(changes):
        # The loop check on the parent and the replacement of assignees, labels and watchers read what other
        # writers change: read them under the write lock (A under B and B under A at once must not both pass).
        lock_for_write(session, Project, project.id)
    if 'parent_id' in changes:
        values['parent_id'] = check_parent(session, project.id, task.id, changes['parent_id'])
    new_status: Status | None = None
    if 'status_id' in changes and changes['status_id'] != task.status_id:
        new_status = check_status(session, project.id, changes['status_id'])
    assignees = labels = None
    if 'assignee_ids' in changes:
        assignees = clean_ids(changes['assignee_ids'], 'assignee_ids')
        check_assignees(session, project.id, assignees)
    if 'label_ids' in changes:
        labels = clean_ids(changes['label_ids'], 'label_ids')
        check_labels(session, project.id, labels)
    # Every check passed: now write.
    changed = [name for name, value in values.items() if getattr(task, name) != value]
    for name in changed:
        setattr(task, name, values[name])
    if new_status is not None:
        _enter_status(session, project, task, new_status, position=bottom_position(session, new_status.id), actor=actor)
    if labels is not None and _set_labels(session, task.id, labels):
        changed.append('label_ids')
    if assignees is not None:
        added = _set_assignees(session, task.id, assignees)
        if added is not None:
            changed.append('assignee_ids')
            if added:
                _watch(session, task.id, added)
                names = ', '.join(_names(session, added))
                record_activity(
                    session, actor=actor, project=project, task=task, action='task.assigned', assignees=names
                )
                notify.assigned(session, actor=actor, project=project, task=task, user_ids=added)
    if changed or new_status is not None:
        task.updated_at = utcnow()
    if changed:
        record_activity(
            session, actor=actor, project=project, task=task, action='task.updated', fields=', '.join(changed)
        )
    if 'title' in changed or 'description' in changed:
        reindex(session, project, task)
    session.flush()
    return task


def _set_labels(session: Session, task_id: int, label_ids: list[int]) -> bool:
    have = set(session.scalars(select(TaskLabel.label_id).where(TaskLabel.task_id == task_id)))
    if have == set(label_ids):
        return False
    session.execute(delete(TaskLabel).where(TaskLabel.task_id == task_id))
    if label_ids:
        session.execute(insert(TaskLabel), [{'task_id': task_id, 'label_id': lid} for lid in label_ids])
    return True


def _set_assignees(session: Session, task_id: int, user_ids: list[int]) -> list[int] | None:
    """Replace the assignees; the newly added ones ([] when only removals), or None when nothing changed."""
    have = set(session.scalars(select(Assignee.user_id).where(Assignee.task_id == task_id)))
    if have == set(user_ids):
        return None
    session.execute(delete(Assignee).where(Assignee.task_id == task_id))
    if user_ids:
        session.execute(insert(Assignee), [{'task_id': task_id, 'user_id': uid} for uid in user_ids])
    return [uid for uid in user_ids if uid not in have]


def _enter_status(
    session: Session, project: Project, task: Task, status: Status, *, position: int, actor: User
) -> None:
    """Put the task in `status` at `position`; closing and reopening follow the column; the feed hears of it."""
    old = session.get(Status, task.status_id)
    task.status_id = status.id
    task.position = position
    if status.is_closed and task.closed_at is None:
        task.closed_at = utcnow()
    elif not status.is_closed:
        task.closed_at = None
    if old is None or old.id != status.id:
        record_activity(
            session,
            actor=actor,
            project=project,
            task=task,
            action='task.moved',
            from_status=old.name if old is not None else '',
            to_status=status.name,
        )


# --- move, delete, find -----------------------------------------------------------------------------------------


def move_task(*, session: Session, actor: User, task_id: int, status_id: int, after_id: int | None = None) -> Task:
    """Drag and drop: put the task in `status_id`, right after task `after_id` (None: at the top)."""
    task, project = require_task(session, actor, task_id, 'member')
    status = check_status(session, project.id, status_id)
    if after_id is not None:
        after_status = session.scalar(select(Task.status_id).where(Task.id == after_id))
        if after_id == task.id or after_status != status.id:
            raise ValidationError(N_('Drop the task after a card of the same column, or at the top.'), field='after_id')
    lock_for_write(session, Project, project.id)
    position = place(session, task, status.id, after_id)
    moved_column = status.id != task.status_id
    _enter_status(session, project, task, status, position=position, actor=actor)
    if moved_column:
        task.updated_at = utcnow()
    session.flush()
    return task


def delete_task(*, session: Session, actor: User, task_id: int) -> None:
    """Delete a task and what hangs off it (project members; audited). Its subtasks lose their parent."""
    task, project = require_task(session, actor, task_id, 'member')
    ref, title = task_ref(project, task), task.title
    record_activity(session, actor=actor, project=project, task=task, action='task.deleted')
    audit.record(
        session=session,
        actor=actor,
        action='tasks.task_deleted',
        target=f'task:{task.id}',
        details={'project_id': project.id, 'ref': ref, 'title': title},
    )
    forget_tasks(session, [task.id])
    session.delete(task)
    session.flush()


def forget_tasks(session: Session, task_ids: list[int]) -> None:
    """Drop what the database's cascade does not reach for these tasks: search entries and attachment blob refs.

    The blobs themselves go at the blob store's next garbage collection, once nothing refers to them.
    """
    for start in range(0, len(task_ids), 500):
        batch = task_ids[start : start + 500]
        comment_ids = list(session.scalars(select(Comment.id).where(Comment.task_id.in_(batch))))
        search_index.remove(session, 'comment', *comment_ids)
        search_index.remove(session, 'task', *batch)
        attachment_ids = [str(a) for a in session.scalars(select(Attachment.id).where(Attachment.task_id.in_(batch)))]
        if attachment_ids:
            session.execute(
                delete(BlobRef).where(BlobRef.owner == 'tasks.attachment', BlobRef.owner_id.in_(attachment_ids))
            )


def forget_project(session: Session, project_id: int) -> None:
    """The tasks module's clean-up before its project is deleted (the 'projects.before_delete' hook)."""
    forget_tasks(session, list(session.scalars(select(Task.id).where(Task.project_id == project_id))))


def find_by_ref(*, session: Session, actor: User, ref: str) -> Task:
    """The task called KEY-number (case-insensitive key), if visible."""
    key, _sep, number = (ref or '').strip().rpartition('-')
    if not key or not number.isdecimal() or len(number) > 18:  # 18 digits always fit a 64-bit column
        raise NotFound(N_('No task is called {ref}. A task id looks like WEB-42.'), ref=ref)
    task_id = session.scalar(
        select(Task.id)
        .join(Project, Project.id == Task.project_id)
        .where(func.upper(Project.key) == key.upper(), Task.number == int(number))
    )
    if task_id is None:
        raise NotFound(N_('No task is called {ref}. A task id looks like WEB-42.'), ref=ref)
    return require_task(session, actor, task_id, 'viewer')[0]
