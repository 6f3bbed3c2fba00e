"""CSV export of any task list, and CSV import of tasks into a project: preview with per-row errors, then all or
nothing.

Export is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. Import reads UTF-8 (with or without
the mark) or GB18030/GBK (what Excel saves on Chinese Windows), with English or Chinese column names. Every row is
checked with the rules of `create_task`; the import writes nothing unless the whole file is valid, and then writes
it in one transaction with bulk inserts (numbers and board positions computed here).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.db import bulk_insert, lock_for_write, utcnow
from appliance.errors import N_, ValidationError
from appliance.models import User
from appliance.services import audit
from appliance.services.permissions import require
from modules.projects.models import Member, Project
from modules.projects.services import record_activity as record_project_activity
from modules.projects.services import require_project
from modules.tasks.models import Assignee, Label, Task, TaskLabel, Watcher
from modules.tasks.services.common import POSITION_GAP
from modules.tasks.services.csvcheck import HEADER_ALIASES, Checker, ImportInvalid, ImportRow, Preview, RowError, decode
from modules.tasks.services.queries import list_tasks
from modules.tasks.views import TaskFilter

COLUMNS = ('ref', 'title', 'status', 'priority', 'assignees', 'labels', 'start', 'due', 'estimate', 'description')

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
EXPORT_PAGE = 200


# --- export ---------------------------------------------------------------------------------------------------


def _cell(value: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    return "'" + value if value[:1] in ('=', '+', '-', '@', '\t', '\r') else value


def export_csv(session: Session, actor: User, filters: TaskFilter) -> bytes:
    """The tasks of a list view (same filters and order) as CSV bytes: UTF-8 with BOM, header in English."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\r\n')
    writer.writerow(COLUMNS)
    offset = 0
    while True:
        page = list_tasks(session=session, actor=actor, filters=filters, offset=offset, limit=EXPORT_PAGE)
        if not page.items:
            break
        extra = dict(
            (row.id, (row.description, row.estimate_hours))
            for row in session.execute(
                select(Task.id, Task.description, Task.estimate_hours).where(
                    Task.id.in_([card.id for card in page.items])
                )
            )
        )
        for card in page.items:
            description, estimate = extra.get(card.id, ('', None))
            writer.writerow(
                [
                    card.ref,
                    _cell(card.title),
                    _cell(card.status_name),
                    card.priority,
                    ', '.join(person.username for person in card.assignees),
                    _cell(', '.join(label.name for label in card.labels)),
                    card.start_date.isoformat() if card.start_date else '',
                    card.due_date.isoformat() if card.due_date else '',
                    '' if estimate is None else f'{Decimal(estimate):.2f}',
                    _cell(description or ''),
                ]
            )
        offset += len(page.items)
        if offset >= page.total:
            break
    return ('\ufeff' + out.getvalue()).encode('utf-8')


def _table(model: Any) -> Table:
    """The Core table of a model (bulk inserts skip the ORM's per-row work)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# --- import ---------------------------------------------------------------------------------------------------


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=''))
    for record in reader:
        yield reader.line_num, record


def parse_import(session: Session, actor: User, project_id: int, data: bytes) -> Preview:
    """Check a CSV file for import into the project (members): every row, every error with its line number."""
    require(actor, 'tasks.use', target=f'project:{project_id}')
    require_project(session, actor, project_id, 'member')
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(N_('The file is larger than {n} MB. Split it into smaller files.'), field='file', n=20)
    text, encoding = decode(data)
    try:
        records = list(_records(text))
    except csv.Error as error:
        raise ValidationError(N_('The file is not valid CSV: {reason}'), field='file', reason=str(error)) from None
    records = [(line, rec) for line, rec in records if any(cell.strip() for cell in rec)]
    if not records:
        raise ValidationError(N_('The file is empty. Put the column names on the first line.'), field='file')
    header_line, header = records[0]
    columns = [HEADER_ALIASES.get(name.strip().casefold()) for name in header]
    if 'title' not in columns:
        raise ValidationError(
            N_('The first line must name the columns, with at least "title" (or 标题).'), field='file'
        )
    if len(records) - 1 > MAX_IMPORT_ROWS:
        raise ValidationError(
            N_('A file holds at most {n} tasks. Split it into smaller files.'), field='file', n=MAX_IMPORT_ROWS
        )
    from modules.tasks.services.workflow import ensure_workflow

    ensure_workflow(session, project_id)  # a project nobody opened yet has no columns until now
    checker = Checker(session, project_id)
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for line, record in records[1:]:
        values = {column: cell for column, cell in zip(columns, record, strict=False) if column is not None}
        row = checker.row(line, values, errors)
        if row is not None:
            rows.append(row)
    if not records[1:]:
        errors.append(RowError(header_line, 'file', N_('The file has column names but no tasks.')))
    return Preview(rows=rows, errors=errors, encoding=encoding, new_labels=tuple(checker.new_labels.values()))


def commit_import(session: Session, actor: User, project_id: int, data: bytes) -> int:
    """Import every row of a valid file in this transaction (ImportInvalid, and nothing written, otherwise)."""
    preview = parse_import(session, actor, project_id, data)
    if not preview.ok:
        raise ImportInvalid(preview)
    project = require_project(session, actor, project_id, 'member')
    from modules.tasks.services.workflow import ensure_workflow

    # Numbers, bottom positions and "which labels are new" are read under the write lock (concurrent writers).
    lock_for_write(session, Project, project.id)

    statuses = {s.name: s for s in ensure_workflow(session, project.id)}
    members = dict(
        session.execute(
            select(User.username, User.id)
            .join(Member, Member.user_id == User.id)
            .where(Member.project_id == project.id)
        ).all()
    )
    labels = dict(session.execute(select(Label.name, Label.id).where(Label.project_id == project.id)).all())
    new_labels = [name for name in preview.new_labels if name not in labels]  # someone may have added one since
    if new_labels:
        created = session.execute(
            insert(Label).returning(Label.name, Label.id, sort_by_parameter_order=True),
            [{'project_id': project.id, 'name': name} for name in new_labels],
        )
        labels.update(dict(created.all()))
    number = session.scalar(select(func.max(Task.number)).where(Task.project_id == project.id)) or 0
    bottoms = dict(
        session.execute(
            select(Task.status_id, func.max(Task.position))
            .where(Task.project_id == project.id)
            .group_by(Task.status_id)
        ).all()
    )
    now = utcnow()
    values: list[dict[str, Any]] = []
    for row in preview.rows:
        status = statuses[row.status]
        number += 1
        position = (bottoms.get(status.id) or 0) + POSITION_GAP
        bottoms[status.id] = position
        values.append(
            {
                'project_id': project.id,
                'number': number,
                'status_id': status.id,
                'position': position,
                'title': row.title,
                'description': row.description,
                'priority': row.priority,
                'reporter_id': actor.id,
                'start_date': row.start,
                'due_date': row.due,
                'estimate_hours': row.estimate,
                'created_at': now,
                'updated_at': now,
                'closed_at': now if status.is_closed else None,
            }
        )
    # Core inserts on the tables (executemany): the ORM's bulk path and RETURNING row by row cost several times
    # the insert itself. Numbers are unique per project, so the new ids are read back by number.
    connection = session.connection()
    bulk_insert(session, _table(Task), values)
    first = int(values[0]['number'])
    by_number = dict(
        connection.execute(
            select(Task.number, Task.id).where(Task.project_id == project.id, Task.number >= first)
        ).all()
    )
    ids = [by_number[int(value['number'])] for value in values]
    assignees = [
        {'task_id': task_id, 'user_id': members[name]}
        for task_id, row in zip(ids, preview.rows, strict=True)
        for name in row.assignees
    ]
    # Assignees watch their tasks (as with create_task); the importer does not watch thousands of tasks.
    watchers = {(a['task_id'], a['user_id']) for a in assignees}
    task_labels = [
        {'task_id': task_id, 'label_id': labels[name]}
        for task_id, row in zip(ids, preview.rows, strict=True)
        for name in row.labels
    ]
    if assignees:
        bulk_insert(session, _table(Assignee), assignees)
    if task_labels:
        bulk_insert(session, _table(TaskLabel), task_labels)
    if watchers:
        bulk_insert(session, _table(Watcher), [{'task_id': t, 'user_id': u} for t, u in sorted(watchers)])
    refs = (f'{project.key}-{value["number"]}' for value in values)
    search_index.index_many(
        session,
        'task',
        (
            (task_id, (row.title, row.description, ref))
            for task_id, row, ref in zip(ids, preview.rows, refs, strict=True)
        ),
    )
    audit.record(
        session=session,
        actor=actor,
        action='tasks.import',
        target=f'project:{project.id}',
        details={'count': len(ids), 'encoding': preview.encoding, 'new_labels': len(preview.new_labels)},
    )
    record_project_activity(session, project_id=project.id, actor=actor, action='tasks.imported', count=len(ids))
    return len(ids)


__all__ = [
    'COLUMNS',
    'ImportInvalid',
    'ImportRow',
    'Preview',
    'RowError',
    'commit_import',
    'decode',
    'export_csv',
    'parse_import',
]
