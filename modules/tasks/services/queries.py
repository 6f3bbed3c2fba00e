"""Reading many tasks: cards for the board, the list, my tasks and the calendar, with batch-loaded people and labels.

Every view runs a fixed number of queries (cards, a count, assignees of the shown cards, labels of the shown
cards) selecting plain columns, never one query per card. They run as Core statements on the session's connection
(`_rows`): plain tuples, without the ORM's result loading, which cost ten times the SQL on a board of 150 cards.
The statements of an unfiltered board are built once (with bound parameters), so SQLAlchemy finds their compiled
form by identity instead of building and hashing a new statement per column and per page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.errors import N_, ValidationError
from appliance.models import User
from appliance.search import like_pattern
from appliance.services.paging import MAX_LIMIT, Page
from appliance.services.permissions import require
from modules.projects.models import Project
from modules.projects.services import LEVEL, require_project, role_in, visible_project_ids
from modules.tasks.models import Assignee, Label, Status, Task, TaskLabel
from modules.tasks.services.common import PRIORITY_RANK
from modules.tasks.services.workflow import ensure_workflow, status_view
from modules.tasks.views import Board, Column, LabelView, PersonRef, StatusView, TaskCard, TaskFilter

SORTS = ('position', 'due', 'priority', 'created', 'updated', 'title', 'ref')
MY_TASKS_MAX = 500
CALENDAR_MAX = 3000

_CARD_COLUMNS = (
    Task.id,
    Task.number,
    Task.project_id,
    Task.title,
    Task.status_id,
    Task.position,
    Task.priority,
    Task.start_date,
    Task.due_date,
    Task.updated_at,
)


# Assignees and labels of the shown cards, by the cards' ids (one statement each, built once).
_PEOPLE = (
    select(Assignee.task_id, User.id, User.username, User.display_name)
    .join(User, User.id == Assignee.user_id)
    .where(Assignee.task_id.in_(bindparam('ids', expanding=True)))
    .order_by(Assignee.task_id, User.display_name)
)
_LABELS = (
    select(TaskLabel.task_id, Label.id, Label.name, Label.color)
    .join(Label, Label.id == TaskLabel.label_id)
    .where(TaskLabel.task_id.in_(bindparam('ids', expanding=True)))
    .order_by(TaskLabel.task_id, Label.name)
)
# A page of one board column, and the count of every column (filters add their WHERE clauses to these).
_COLUMN = (
    select(*_CARD_COLUMNS)
    .where(Task.project_id == bindparam('project_id'), Task.status_id == bindparam('status_id'))
    .order_by(Task.position, Task.id)
    .offset(bindparam('offset'))
    .limit(bindparam('limit'))
)
_COUNTS = (
    select(Task.status_id, func.count()).where(Task.project_id == bindparam('project_id')).group_by(Task.status_id)
)
_STATUSES = (
    select(Status.id, Status.name, Status.is_closed, Status.position)
    .where(Status.project_id == bindparam('project_id'))
    .order_by(Status.position)
)


def _rows(session: Session, stmt: Executable, params: dict[str, Any] | None = None) -> Sequence[Any]:
    """Every row of a Core statement, run on the session's connection (inside its transaction)."""
    return session.connection().execute(stmt, params or {}).all()


def _check_filters(filters: TaskFilter) -> None:
    if filters.sort not in SORTS:
        raise ValidationError(N_('Sort by one of: {choices}.'), field='sort', choices=', '.join(SORTS))
    if filters.due_from and filters.due_to and filters.due_from > filters.due_to:
        raise ValidationError(N_('The "due from" date is after the "due to" date.'), field='due_to')


def conditions(session: Session, filters: TaskFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for a filter (not the project or visibility: the caller adds those)."""
    where: list[ColumnElement[bool]] = []
    if filters.status_ids:
        where.append(Task.status_id.in_(filters.status_ids))
    if filters.assignee_id is not None:
        # IN (subquery), not EXISTS: SQLite then starts from the person's few assignments instead of every task.
        where.append(Task.id.in_(select(Assignee.task_id).where(Assignee.user_id == filters.assignee_id)))
    if filters.label_id is not None:
        where.append(Task.id.in_(select(TaskLabel.task_id).where(TaskLabel.label_id == filters.label_id)))
    if filters.priority:
        where.append(Task.priority == filters.priority)
    if filters.due_from is not None:
        where.append(Task.due_date >= filters.due_from)
    if filters.due_to is not None:
        where.append(Task.due_date <= filters.due_to)
    text = ' '.join(filters.text.split())
    if text:
        matching = search_index.matching(session, 'task', text)
        if matching is not None:
            where.append(Task.id.in_(matching.order_by(None)))
        else:
            where.append(Task.title.ilike(like_pattern(text), escape='\\'))
    if filters.open_only:
        where.append(Task.status_id.in_(select(Status.id).where(Status.is_closed.is_(False))))
    return where


def people_of(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[PersonRef, ...]]:
    """{task_id: assignees} for the shown cards (one query)."""
    if not task_ids:
        return {}
    out: dict[int, list[PersonRef]] = defaultdict(list)
    for task_id, uid, username, display in _rows(session, _PEOPLE, {'ids': list(task_ids)}):
        out[task_id].append(PersonRef(uid, username, display))
    return {tid: tuple(refs) for tid, refs in out.items()}


def labels_of(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[LabelView, ...]]:
    """{task_id: labels} for the shown cards (one query)."""
    if not task_ids:
        return {}
    out: dict[int, list[LabelView]] = defaultdict(list)
    for task_id, lid, name, color in _rows(session, _LABELS, {'ids': list(task_ids)}):
        out[task_id].append(LabelView(lid, name, color))
    return {tid: tuple(views) for tid, views in out.items()}


def build_cards(
    session: Session, rows: Sequence[Sequence[Any]], keys: dict[int, str], statuses: dict[int, tuple[str, bool]]
) -> list[TaskCard]:
    """TaskCards from rows of _CARD_COLUMNS, with their assignees and labels batch-loaded."""
    ids = [row[0] for row in rows]
    assignees, labels = people_of(session, ids), labels_of(session, ids)
    cards = []
    for tid, number, project_id, title, status_id, position, priority, start, due, updated in rows:
        status_name, closed = statuses[status_id]
        cards.append(
            TaskCard(
                id=tid,
                ref=f'{keys[project_id]}-{number}',
                project_id=project_id,
                title=title,
                status_id=status_id,
                status_name=status_name,
                closed=closed,
                position=position,
                priority=priority,
                start_date=start,
                due_date=due,
                assignees=assignees.get(tid, ()),
                labels=labels.get(tid, ()),
                updated_at=updated,
            )
        )
    return cards


def _joined_cards(session: Session, stmt: Any) -> list[TaskCard]:
    """Run a select of _CARD_COLUMNS + project key + status name/closed and build cards."""
    rows = _rows(session, stmt)
    keys = {row.project_id: row.key for row in rows}
    statuses = {row.status_id: (row.status_name, row.is_closed) for row in rows}
    return build_cards(session, [tuple(row)[: len(_CARD_COLUMNS)] for row in rows], keys, statuses)


def _card_select() -> Any:
    return (
        select(*_CARD_COLUMNS, Project.key, Status.name.label('status_name'), Status.is_closed)
        .join(Project, Project.id == Task.project_id)
        .join(Status, Status.id == Task.status_id)
    )


# --- board ------------------------------------------------------------------------------------------------------


def _column_cards(
    session: Session, project_id: int, status: StatusView, where: list[ColumnElement[bool]], offset: int, limit: int
) -> Sequence[Any]:
    stmt = _COLUMN.where(*where) if where else _COLUMN
    return _rows(session, stmt, {'project_id': project_id, 'status_id': status.id, 'offset': offset, 'limit': limit})


def _statuses(session: Session, project_id: int) -> list[StatusView]:
    """The project's columns in board order (the default workflow is made the first time one is needed)."""
    rows = _rows(session, _STATUSES, {'project_id': project_id})
    if not rows:
        return [status_view(status) for status in ensure_workflow(session, project_id)]
    return [StatusView(sid, name, closed, position) for sid, name, closed, position in rows]


def board(
    *, session: Session, actor: User, project_id: int, filters: TaskFilter | None = None, per_column: int = 50
) -> Board:
    """The board: every column with its first `per_column` cards (in board order) and its total."""
    require(actor, 'tasks.use', target=f'project:{project_id}')
    project = require_project(session, actor, project_id, 'viewer')
    filters = filters or TaskFilter()
    per_column = min(max(per_column, 1), MAX_LIMIT)
    statuses = _statuses(session, project.id)
    where = conditions(session, filters)
    shown = [s for s in statuses if not filters.status_ids or s.id in filters.status_ids]
    # One LIMITed query per column walks the board index; far less than numbering every row of a big project.
    rows = {s.id: _column_cards(session, project.id, s, where, 0, per_column) for s in shown}
    counts = dict(_rows(session, _COUNTS.where(*where) if where else _COUNTS, {'project_id': project.id}))
    all_rows = [row for s in shown for row in rows[s.id]]
    names = {s.id: (s.name, s.is_closed) for s in statuses}
    cards = build_cards(session, all_rows, {project.id: project.key}, names)
    by_status: dict[int, list[TaskCard]] = defaultdict(list)
    for card in cards:
        by_status[card.status_id].append(card)
    role = role_in(session, actor, project) or 'viewer'
    return Board(
        project_id=project.id,
        project_key=project.key,
        project_name=project.name,
        columns=tuple(Column(s, tuple(by_status[s.id]), counts.get(s.id, 0)) for s in shown),
        can_edit=LEVEL[role] >= LEVEL['member'] and project.status != 'archived',
    )


def column_page(
    *,
    session: Session,
    actor: User,
    project_id: int,
    status_id: int,
    filters: TaskFilter | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Column:
    """More cards of one column ("show more")."""
    require(actor, 'tasks.use', target=f'project:{project_id}')
    project = require_project(session, actor, project_id, 'viewer')
    statuses = {s.id: s for s in _statuses(session, project.id)}
    status = statuses.get(status_id)
    if status is None:
        raise ValidationError(
            N_("This column belongs to another project. Pick one of this project's columns."), field='status_id'
        )
    where = conditions(session, filters or TaskFilter())
    rows = _column_cards(session, project.id, status, where, max(offset, 0), min(max(limit, 1), MAX_LIMIT))
    total = session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == project.id, Task.status_id == status_id, *where)
    )
    cards = build_cards(session, rows, {project.id: project.key}, {status.id: (status.name, status.is_closed)})
    return Column(status, tuple(cards), total or 0)


# --- list, my tasks, calendar -----------------------------------------------------------------------------------


def _order(filters: TaskFilter) -> list[Any]:
    sort = filters.sort
    keys: list[Any]
    if sort == 'due':
        keys = [Task.due_date.is_(None), Task.due_date]
    elif sort == 'priority':
        keys = [case(PRIORITY_RANK, value=Task.priority, else_=len(PRIORITY_RANK))]
    elif sort == 'created':
        keys = [Task.created_at]
    elif sort == 'updated':
        keys = [Task.updated_at]
    elif sort == 'title':
        keys = [Task.title]
    elif sort == 'ref':
        keys = [Project.key, Task.number]
    else:
        keys = [Project.key, Status.position, Task.position]
    keys.append(Task.id)
    if filters.descending:
        # NULL dates stay last whichever way the list runs.
        return [key if i == 0 and sort == 'due' else key.desc() for i, key in enumerate(keys)]
    return keys


def list_tasks(
    *, session: Session, actor: User, filters: TaskFilter, offset: int = 0, limit: int = 50
) -> Page[TaskCard]:
    """Tasks the actor may see, filtered, sorted, one page (the list view, the API and CSV export)."""
    require(actor, 'tasks.use', target='tasks')
    _check_filters(filters)
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    where = conditions(session, filters)
    if filters.project_id is not None:
        require_project(session, actor, filters.project_id, 'viewer')
        where.append(Task.project_id == filters.project_id)
    else:
        where.append(Task.project_id.in_(visible_project_ids(actor)))
    total = session.scalar(select(func.count()).select_from(Task).where(*where)) or 0
    cards = _joined_cards(session, _card_select().where(*where).order_by(*_order(filters)).offset(offset).limit(limit))
    return Page(items=cards, total=total, offset=offset, limit=limit)


def _mine(actor: User) -> list[ColumnElement[bool]]:
    return [
        Task.id.in_(select(Assignee.task_id).where(Assignee.user_id == actor.id)),
        Task.project_id.in_(visible_project_ids(actor)),
    ]


def my_tasks(*, session: Session, actor: User, today: date) -> dict[str, list[TaskCard]]:
    """The actor's open assigned tasks in buckets 'overdue', 'today', 'week' (next 7 days), 'later', 'undated'."""
    require(actor, 'tasks.use', target='tasks')
    stmt = (
        _card_select()
        .where(*_mine(actor), Status.is_closed.is_(False))
        .order_by(Task.due_date.is_(None), Task.due_date, case(PRIORITY_RANK, value=Task.priority).desc(), Task.id)
        .limit(MY_TASKS_MAX)
    )
    buckets: dict[str, list[TaskCard]] = {name: [] for name in ('overdue', 'today', 'week', 'later', 'undated')}
    week_end = today + timedelta(days=7)
    for card in _joined_cards(session, stmt):
        due = card.due_date
        if due is None:
            buckets['undated'].append(card)
        elif due < today:
            buckets['overdue'].append(card)
        elif due == today:
            buckets['today'].append(card)
        elif due <= week_end:
            buckets['week'].append(card)
        else:
            buckets['later'].append(card)
    return buckets


@dataclass(frozen=True)
class DueTask:
    """A task of "due soon" on home: enough for a line (no people, no labels)."""

    id: int
    ref: str
    title: str
    due_date: date


@dataclass(frozen=True)
class DueSoon:
    """The actor's open assigned tasks that are overdue or due within `days`: how many of each, and the first few."""

    overdue: int
    soon: int
    tasks: tuple[DueTask, ...]


def due_soon(*, session: Session, actor: User, today: date, days: int = 7, limit: int = 8) -> DueSoon:
    """Overdue first (oldest first), then due within `days`, by due date: one statement, whatever the number of the
    actor's tasks (my_tasks builds every open task's card, with people and labels, for its page)."""
    require(actor, 'tasks.use', target='tasks')
    week_end = today + timedelta(days=days)
    where = [*_mine(actor), Status.is_closed.is_(False), Task.due_date.is_not(None), Task.due_date <= week_end]
    # One walk over the actor's tasks: the counts ride along as window functions over every matching row.
    stmt = (
        select(
            Task.id,
            Project.key,
            Task.number,
            Task.title,
            Task.due_date,
            func.count(case((Task.due_date < today, 1))).over(),
            func.count(case((Task.due_date >= today, 1))).over(),
        )
        .join(Project, Project.id == Task.project_id)
        .join(Status, Status.id == Task.status_id)
        .where(*where)
        .order_by(Task.due_date, Task.id)
        .limit(limit)
    )
    rows = _rows(session, stmt)
    overdue, soon = (rows[0][5], rows[0][6]) if rows else (0, 0)
    tasks = tuple(DueTask(row[0], f'{row[1]}-{row[2]}', row[3], row[4]) for row in rows)
    return DueSoon(overdue=overdue or 0, soon=soon or 0, tasks=tasks)


def calendar(
    *, session: Session, actor: User, year: int, month: int, project_id: int | None = None, mine_only: bool = False
) -> dict[date, list[TaskCard]]:
    """Visible tasks due in that month, by day."""
    require(actor, 'tasks.use', target='tasks')
    try:
        first = date(year, month, 1)
    except ValueError:
        raise ValidationError(
            N_('Pick a month between 1 and 12 of a year between 1 and 9999.'), field='month'
        ) from None
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    where: list[ColumnElement[bool]] = [Task.due_date >= first, Task.due_date <= last]
    if project_id is not None:
        require_project(session, actor, project_id, 'viewer')
        where.append(Task.project_id == project_id)
    where.extend(_mine(actor) if mine_only else [Task.project_id.in_(visible_project_ids(actor))])
    stmt = _card_select().where(and_(*where)).order_by(Task.due_date, Status.is_closed, Task.id).limit(CALENDAR_MAX)
    days: dict[date, list[TaskCard]] = defaultdict(list)
    for card in _joined_cards(session, stmt):
        assert card.due_date is not None
        days[card.due_date].append(card)
    return dict(days)


NOTHING = -1  # an id no row has: a filter naming something unknown matches no task
_MAX_ID = 2**63 - 1  # the largest id a database column holds


def _ref(digits: str) -> int:
    """An id written in a filter; one beyond what a database column holds (64 bits) matches no task."""
    value = int(digits)
    return value if value <= _MAX_ID else NOTHING


def resolve_refs(
    session: Session, actor: User, *, project_id: int | None, status: str = '', assignee: str = '', label: str = ''
) -> tuple[tuple[int, ...], int | None, int | None]:
    """(status_ids, assignee_id, label_id) from API-style filters that may give names instead of ids.

    `status`: ids or names, comma-separated; `assignee`: an id, a username or 'me'; `label`: an id, or a name when
    `project_id` is given. A name that matches nothing matches no task.
    """
    status_ids: list[int] = []
    for part in (p.strip() for p in status.split(',')):
        if not part:
            continue
        if part.isdecimal():
            status_ids.append(_ref(part))
            continue
        stmt = select(Status.id).where(func.lower(Status.name) == part.lower())
        if project_id is not None:
            stmt = stmt.where(Status.project_id == project_id)
        else:
            stmt = stmt.where(Status.project_id.in_(visible_project_ids(actor)))
        status_ids.extend(session.scalars(stmt).all() or [NOTHING])
    assignee_id: int | None = None
    if assignee.strip():
        name = assignee.strip()
        if name.lower() == 'me':
            assignee_id = actor.id
        elif name.isdecimal():
            assignee_id = _ref(name)
        else:
            assignee_id = session.scalar(select(User.id).where(func.lower(User.username) == name.lower())) or NOTHING
    label_id: int | None = None
    if label.strip():
        name = label.strip()
        if name.isdecimal():
            label_id = _ref(name)
        elif project_id is None:
            raise ValidationError(N_('Give a label id, or a project_id with a label name.'), field='label')
        else:
            label_id = (
                session.scalar(
                    select(Label.id).where(Label.project_id == project_id, func.lower(Label.name) == name.lower())
                )
                or NOTHING
            )
    return tuple(status_ids), assignee_id, label_id
