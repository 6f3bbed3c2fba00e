"""Per-project workflow (the board's columns) and labels."""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appliance.db import get_database, lock_for_write, session_intent, utcnow
from appliance.errors import N_, Conflict, NotFound, ValidationError
from appliance.i18n import LANGUAGES, catalog
from appliance.models import User
from appliance.services import audit, orgsettings
from modules.projects.models import Project
from modules.projects.services import record_activity as record_project_activity
from modules.projects.services import require_project
from modules.tasks.models import DEFAULT_WORKFLOW, Label, Status, Task, TaskLabel
from modules.tasks.services.common import LABEL_NAME_MAX, STATUS_NAME_MAX
from modules.tasks.services.moving import append_column
from modules.tasks.views import LabelView, StatusView

_COLOR = re.compile(r'^#[0-9a-fA-F]{6}$')


def ensure_workflow(session: Session, project_id: int) -> list[Status]:
    """The project's statuses in board order, creating the default workflow the first time one is needed.

    In a read-only session (a view of the board or the list), the workflow is made in a short write transaction
    of its own, and the read continues in a fresh snapshot that sees it.
    """
    stmt = select(Status).where(Status.project_id == project_id).order_by(Status.position)
    rows = list(session.scalars(stmt))
    if rows:
        return rows
    if session_intent(session) == 'read':
        get_database().independently(lambda writer: _create_workflow(writer, project_id))
        session.commit()  # ends the read snapshot (nothing to write): the next statement sees the new rows
        return list(session.scalars(stmt))
    return _create_workflow(session, project_id)


def default_names(language: str) -> list[str]:
    """The default columns' names in `language` (待办 / 进行中 / 已完成 in Chinese)."""
    words = catalog(language)
    return [words.get(name) or name for name, _closed in DEFAULT_WORKFLOW]


def default_aliases() -> dict[str, set[str]]:
    """{casefolded name in any language: every casefolded name of that default column in every language}, so that a
    file written in English finds the columns of a Chinese project, and the other way round."""
    aliases: dict[str, set[str]] = {}
    for index, (name, _closed) in enumerate(DEFAULT_WORKFLOW):
        names = {name.casefold()} | {default_names(language)[index].casefold() for language in LANGUAGES}
        for each in names:
            aliases[each] = names
    return aliases


def _create_workflow(session: Session, project_id: int) -> list[Status]:
    stmt = select(Status).where(Status.project_id == project_id).order_by(Status.position)
    # Two first uses at once must not both create it: read again under the write lock.
    lock_for_write(session, Project, project_id)
    rows = list(session.scalars(stmt))
    if rows:
        return rows
    names = default_names(orgsettings.get(session, 'language'))
    rows = [
        Status(project_id=project_id, name=names[position], is_closed=closed, position=position)
        for position, (_name, closed) in enumerate(DEFAULT_WORKFLOW)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def status_view(status: Status) -> StatusView:
    """The plain view of a status."""
    return StatusView(status.id, status.name, status.is_closed, status.position)


def list_statuses(*, session: Session, actor: User, project_id: int) -> list[StatusView]:
    """The project's statuses in board order (the default workflow is created on first use)."""
    require_project(session, actor, project_id, 'viewer')
    return [status_view(status) for status in ensure_workflow(session, project_id)]


def _clean_status_name(name: str) -> str:
    value = ' '.join((name or '').split())
    if not value or len(value) > STATUS_NAME_MAX:
        raise ValidationError(N_('Give the column a name of 1 to {n} characters.'), field='name', n=STATUS_NAME_MAX)
    return value


def _check_unique_status(session: Session, project_id: int, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Status.id).where(Status.project_id == project_id, func.lower(Status.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Status.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise ValidationError(
            N_('There is already a column called {name}. Pick another name.'), field='name', name=name
        )


_Owned = TypeVar('_Owned', Status, Label)


def _project_part(session: Session, actor: User, model: type[_Owned], row_id: int, need: str, missing: str) -> _Owned:
    """A column or label of a project the actor has `need` in; one NotFound for "no such row" and "not yours"."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(missing)
    try:
        require_project(session, actor, row.project_id, need)
    except NotFound:
        raise NotFound(missing) from None
    return row


def _status_of(session: Session, actor: User, status_id: int, need: str) -> Status:
    missing = N_('This column does not exist, or you cannot see its project.')
    return _project_part(session, actor, Status, status_id, need, missing)


def add_status(*, session: Session, actor: User, project_id: int, name: str, is_closed: bool = False) -> Status:
    """Add a column at the end (project managers)."""
    require_project(session, actor, project_id, 'manager')
    clean = _clean_status_name(name)
    lock_for_write(session, Project, project_id)
    existing = ensure_workflow(session, project_id)
    _check_unique_status(session, project_id, clean)
    status = Status(
        project_id=project_id,
        name=clean,
        is_closed=bool(is_closed),
        position=max((s.position for s in existing), default=-1) + 1,
    )
    session.add(status)
    session.flush()
    record_project_activity(
        session,
        project_id=project_id,
        actor=actor,
        action='status.added',
        target_kind='status',
        target_id=status.id,
        name=clean,
    )
    return status


def update_status(
    *, session: Session, actor: User, status_id: int, name: str | None = None, is_closed: bool | None = None
) -> Status:
    """Rename a column or change whether it counts as closed (project managers)."""
    status = _status_of(session, actor, status_id, 'manager')
    old_name = status.name
    if name is not None:
        clean = _clean_status_name(name)
        lock_for_write(session, Project, status.project_id)
        _check_unique_status(session, status.project_id, clean, exclude_id=status.id)
        status.name = clean
    if is_closed is not None and bool(is_closed) != status.is_closed:
        # "Is another column open (closed)?" under the write lock, or two changes at once could leave none.
        lock_for_write(session, Project, status.project_id)
        others = session.scalars(
            select(Status).where(Status.project_id == status.project_id, Status.id != status.id)
        ).all()
        if not any(o.is_closed == status.is_closed for o in others):
            raise ValidationError(
                N_('A workflow needs at least one open and one closed column. Add another first.'), field='is_closed'
            )
        status.is_closed = bool(is_closed)
        # Tasks in the column change state with it.
        session.execute(
            update(Task)
            .where(Task.status_id == status.id)
            .values(closed_at=utcnow() if status.is_closed else None)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    record_project_activity(
        session,
        project_id=status.project_id,
        actor=actor,
        action='status.updated',
        target_kind='status',
        target_id=status.id,
        name=status.name,
        old_name=old_name,
    )
    return status


def reorder_statuses(*, session: Session, actor: User, project_id: int, status_ids: list[int]) -> None:
    """Put the columns in this order; the list must name each of the project's statuses once."""
    require_project(session, actor, project_id, 'manager')
    statuses = {s.id: s for s in ensure_workflow(session, project_id)}
    if len(status_ids) != len(set(status_ids)) or set(status_ids) != set(statuses):
        raise ValidationError(
            N_("Name each of the project's columns exactly once, in the new order."), field='status_ids'
        )
    for position, sid in enumerate(status_ids):
        statuses[sid].position = position
    session.flush()
    record_project_activity(
        session, project_id=project_id, actor=actor, action='status.reordered', target_kind='status'
    )


def delete_status(*, session: Session, actor: User, status_id: int, move_to_id: int) -> None:
    """Delete a column, moving its tasks to another column of the same project; the last open/closed one stays."""
    status = _status_of(session, actor, status_id, 'manager')
    # The target and "is another column open (closed)?" under the write lock: two columns deleted at once, each
    # into the other, must not both pass.
    lock_for_write(session, Project, status.project_id)
    target = session.get(Status, move_to_id)
    if target is None or target.project_id != status.project_id or target.id == status.id:
        raise ValidationError(
            N_("Pick another column of this project to move the column's tasks to."), field='move_to_id'
        )
    others = session.scalars(select(Status).where(Status.project_id == status.project_id, Status.id != status.id))
    if not any(o.is_closed == status.is_closed for o in others):
        raise Conflict(N_('A workflow needs at least one open and one closed column. Add another before deleting.'))
    append_column(session, from_status=status, to_status=target)
    session.execute(delete(Status).where(Status.id == status.id))
    record_project_activity(
        session,
        project_id=status.project_id,
        actor=actor,
        action='status.deleted',
        target_kind='status',
        target_id=status_id,
        name=status.name,
        moved_to=target.name,
    )
    audit.record(
        session=session,
        actor=actor,
        action='tasks.status_deleted',
        target=f'status:{status_id}',
        details={'project_id': status.project_id, 'name': status.name, 'moved_to': target.name},
    )


# --- labels ---------------------------------------------------------------------------------------------------


def list_labels(*, session: Session, actor: User, project_id: int) -> list[LabelView]:
    """The project's labels by name."""
    require_project(session, actor, project_id, 'viewer')
    rows = session.execute(
        select(Label.id, Label.name, Label.color).where(Label.project_id == project_id).order_by(Label.name)
    )
    return [LabelView(lid, name, color) for lid, name, color in rows]


def label_view(label: Label) -> LabelView:
    """The plain view of a label."""
    return LabelView(label.id, label.name, label.color)


def _clean_label(name: str, color: str) -> tuple[str, str]:
    clean = ' '.join((name or '').split())
    if not clean or len(clean) > LABEL_NAME_MAX:
        raise ValidationError(N_('Give the label a name of 1 to {n} characters.'), field='name', n=LABEL_NAME_MAX)
    if not _COLOR.match(color or ''):
        raise ValidationError(N_('Give the colour as #rrggbb, e.g. #64748b.'), field='color')
    return clean, color.lower()


def _check_unique_label(session: Session, project_id: int, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Label.id).where(Label.project_id == project_id, func.lower(Label.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Label.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise ValidationError(N_('There is already a label called {name}.'), field='name', name=name)


def _flush_label(session: Session, name: str) -> None:
    """Write the label; a name taken by a writer the lock did not serialise is a conflict, not a crash."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            N_('There is already a label called {name}. Reload the page and pick it, or choose another name.'),
            name=name,
        ) from None


def _label_of(session: Session, actor: User, label_id: int, need: str) -> Label:
    missing = N_('This label does not exist, or you cannot see its project.')
    return _project_part(session, actor, Label, label_id, need, missing)


def create_label(*, session: Session, actor: User, project_id: int, name: str, color: str = '#64748b') -> Label:
    """A new label (project members; viewers may not)."""
    require_project(session, actor, project_id, 'member')
    clean, colour = _clean_label(name, color)
    # "Is the name taken?" and the insert under one write lock: two people adding "bug" at once get one label.
    lock_for_write(session, Project, project_id)
    _check_unique_label(session, project_id, clean)
    label = Label(project_id=project_id, name=clean, color=colour)
    session.add(label)
    _flush_label(session, clean)
    record_project_activity(
        session,
        project_id=project_id,
        actor=actor,
        action='label.created',
        target_kind='label',
        target_id=label.id,
        name=clean,
    )
    return label


def update_label(
    *, session: Session, actor: User, label_id: int, name: str | None = None, color: str | None = None
) -> Label:
    """Rename a label or change its colour (project managers); the tasks that have it keep it."""
    label = _label_of(session, actor, label_id, 'manager')
    old_name = label.name
    clean, colour = _clean_label(label.name if name is None else name, label.color if color is None else color)
    if clean == label.name and colour == label.color:
        return label
    lock_for_write(session, Project, label.project_id)
    _check_unique_label(session, label.project_id, clean, exclude_id=label.id)
    label.name, label.color = clean, colour
    _flush_label(session, clean)
    record_project_activity(
        session,
        project_id=label.project_id,
        actor=actor,
        action='label.updated',
        target_kind='label',
        target_id=label.id,
        name=clean,
        old_name=old_name,
    )
    return label


def delete_label(*, session: Session, actor: User, label_id: int) -> None:
    """Remove a label from the project and its tasks (project managers)."""
    label = _label_of(session, actor, label_id, 'manager')
    project_id, name = label.project_id, label.name
    session.execute(delete(TaskLabel).where(TaskLabel.label_id == label_id))
    session.execute(delete(Label).where(Label.id == label_id))
    session.expunge(label)
    record_project_activity(
        session,
        project_id=project_id,
        actor=actor,
        action='label.deleted',
        target_kind='label',
        target_id=label_id,
        name=name,
    )
