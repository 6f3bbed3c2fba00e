"""The list and board filters in the query string: read from a URL, written back into one."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from modules.tasks.models import PRIORITIES
from modules.tasks.views import TaskFilter

SORTS = ('position', 'due', 'priority', 'created', 'updated', 'title', 'ref')


def parse_date(value: str | None) -> date | None:
    """An ISO date from the query string, or None when absent or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    """A positive integer from the query string, or None."""
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def filters_from_query(query: dict[str, str], project_id: int | None = None) -> TaskFilter:
    """The list/board filters a URL asks for; anything malformed is ignored rather than refused."""
    priority = query.get('priority') or None
    status = parse_int(query.get('status'))
    sort = query.get('sort', 'position')
    return TaskFilter(
        project_id=project_id,
        status_ids=(status,) if status else (),
        assignee_id=parse_int(query.get('assignee')),
        label_id=parse_int(query.get('label')),
        priority=priority if priority in PRIORITIES else None,
        due_from=parse_date(query.get('due_from')),
        due_to=parse_date(query.get('due_to')),
        text=(query.get('q') or '').strip()[:200],
        sort=sort if sort in SORTS else 'position',
        descending=query.get('desc') == '1',
    )


def filter_query(filters: TaskFilter) -> dict[str, str]:
    """The query-string form of `filters` (the inverse of filters_from_query, without the project)."""
    pairs: dict[str, str] = {}
    if filters.status_ids:
        pairs['status'] = str(filters.status_ids[0])
    if filters.assignee_id:
        pairs['assignee'] = str(filters.assignee_id)
    if filters.label_id:
        pairs['label'] = str(filters.label_id)
    if filters.priority:
        pairs['priority'] = filters.priority
    if filters.due_from:
        pairs['due_from'] = filters.due_from.isoformat()
    if filters.due_to:
        pairs['due_to'] = filters.due_to.isoformat()
    if filters.text:
        pairs['q'] = filters.text
    if filters.sort != 'position':
        pairs['sort'] = filters.sort
    if filters.descending:
        pairs['desc'] = '1'
    return pairs


def with_query(path: str, pairs: dict[str, str]) -> str:
    """`path` with a query string (none when `pairs` is empty)."""
    return f'{path}?{urlencode(pairs)}' if pairs else path
