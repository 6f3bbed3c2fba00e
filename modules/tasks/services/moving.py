"""Board order: gapped integer positions, midpoints on a move, one-pass renumbering when a gap runs out."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from appliance.db import utcnow
from modules.tasks.models import Status, Task
from modules.tasks.services.common import POSITION_GAP


def bottom_position(session: Session, status_id: int) -> int:
    """The position just below the last card of a column."""
    last = session.scalar(select(func.max(Task.position)).where(Task.status_id == status_id))
    return (last or 0) + POSITION_GAP


def renumber(session: Session, status_id: int, *, skip_id: int | None = None, base: int = 0) -> None:
    """Give every card of the column a fresh, evenly gapped position in its current order (one UPDATE)."""
    where = [Task.status_id == status_id]
    if skip_id is not None:
        where.append(Task.id != skip_id)
    ranked = (
        select(Task.id.label('tid'), func.row_number().over(order_by=(Task.position, Task.id)).label('rn'))
        .where(*where)
        .subquery()
    )
    session.execute(
        update(Task)
        .where(Task.id == ranked.c.tid)
        .values(position=base + ranked.c.rn * POSITION_GAP)
        .execution_options(synchronize_session=False)
    )


def _neighbours(session: Session, status_id: int, task_id: int, after_id: int | None) -> tuple[int, int | None]:
    """(position of the card above, position of the card below) the drop place; 0 above the top card."""
    stmt = select(Task.position).where(Task.status_id == status_id, Task.id != task_id)
    if after_id is None:
        lower = 0
    else:
        lower = session.scalar(select(Task.position).where(Task.id == after_id)) or 0
        stmt = stmt.where(or_(Task.position > lower, and_(Task.position == lower, Task.id > after_id)))
    upper = session.scalar(stmt.order_by(Task.position, Task.id).limit(1))
    return lower, upper


def place(session: Session, task: Task, status_id: int, after_id: int | None) -> int:
    """The new position of `task` in column `status_id` right after `after_id` (None: the top)."""
    lower, upper = _neighbours(session, status_id, task.id, after_id)
    if upper is None:
        return lower + POSITION_GAP
    if upper - lower >= 2:
        return (lower + upper) // 2
    renumber(session, status_id, skip_id=task.id)
    lower, upper = _neighbours(session, status_id, task.id, after_id)
    return lower + POSITION_GAP if upper is None else (lower + upper) // 2


def append_column(session: Session, *, from_status: Status, to_status: Status) -> None:
    """Move every card of one column to the bottom of another, keeping their order (deleting a column)."""
    base = bottom_position(session, to_status.id)
    ranked = (
        select(Task.id.label('tid'), func.row_number().over(order_by=(Task.position, Task.id)).label('rn'))
        .where(Task.status_id == from_status.id)
        .subquery()
    )
    values: dict[str, object] = {'status_id': to_status.id, 'position': base + ranked.c.rn * POSITION_GAP}
    if from_status.is_closed != to_status.is_closed:
        values['closed_at'] = utcnow() if to_status.is_closed else None
    session.execute(
        update(Task).where(Task.id == ranked.c.tid).values(**values).execution_options(synchronize_session=False)
    )
