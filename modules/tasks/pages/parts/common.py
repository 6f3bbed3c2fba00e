"""Small pieces shared by the tasks pages: reading filters from the query string, the 404 page, names, dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.errors import N_, NotFound, PermissionDenied
from appliance.i18n import _
from appliance.models import User
from appliance.ui.actions import read as read
from appliance.ui.guard import not_found_response as guard_not_found
from appliance.ui.guard import path_int as path_int
from modules.tasks.models import PRIORITIES
from modules.tasks.views import PersonRef, TaskFilter

T = TypeVar('T')
COLOR_RE = re.compile(r'^#[0-9a-fA-F]{6}$')
DEFAULT_COLOR = '#64748b'
# Quasar colours of the priority badges; 'normal' gets none (most cards are normal: keep them quiet).
PRIORITY_COLORS = {'low': 'grey-6', 'normal': 'blue-grey-4', 'high': 'orange-8', 'urgent': 'red-8'}


def priority_labels() -> dict[str, str]:
    """Priority names in the reader's language, in order."""
    names = {'low': _('Low'), 'normal': _('Normal'), 'high': _('High'), 'urgent': _('Urgent')}
    return {key: names.get(key, key) for key in PRIORITIES}


def today_for(user: User) -> date:
    """Today in the reader's time zone."""
    try:
        zone = ZoneInfo(user.timezone or 'UTC')
    except (KeyError, ValueError):
        zone = ZoneInfo('UTC')
    return datetime.now(zone).date()


def initials(person: PersonRef) -> str:
    """Two letters for an avatar: the first letters of the first two words of the name (or the username)."""
    words = (person.display_name or person.username).split()
    if not words:
        return '?'
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][:1] + words[1][:1]).upper()


def safe_color(color: str) -> str:
    """A label colour that is certainly a #rrggbb value (anything else: the default grey)."""
    return color if COLOR_RE.match(color or '') else DEFAULT_COLOR


def parse_date(value: str | None) -> date | None:
    """An ISO date from the query string, or None when absent or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    """A positive integer from the query string, or None."""
    return int(value) if value and value.isdigit() and len(value) < 12 else None


SORTS = ('position', 'due', 'priority', 'created', 'updated', 'title', 'ref')


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


def not_found_response(message: str = N_('This task does not exist, or you cannot see its project.')) -> Response:
    """A plain 404 page in the reader's language (the same look as the platform's 403 page)."""
    return guard_not_found(i18n.language(), message)


def read_or_404(actor: User, fn: Callable[[Session, User], T]) -> T | Response:
    """Like `read`, but an invisible or missing thing becomes the 404 page."""
    try:
        return read(actor, fn)
    except (NotFound, PermissionDenied):
        return not_found_response()


def add_board_css() -> None:
    """The tasks pages' small stylesheet (served locally under /tasks-static)."""
    from nicegui import ui

    ui.add_head_html('<link rel="stylesheet" href="/tasks-static/board.css">')
