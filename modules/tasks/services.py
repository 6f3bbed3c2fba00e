"""Every read and write of tasks: workflow, tasks, board order, labels, dependencies, checklists, watchers.

Keyword-only `session` and `actor`; permissions are checked here (project role via modules.tasks.access);
every change is one transaction, audited where it matters and written to the project's activity feed.
CONTRACT STUB: signatures are fixed (pages and the API are written against them); bodies are being written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from appliance.models import User
from appliance.services.paging import Page
from modules.tasks.models import Label, Status, Task
from modules.tasks.views import Board, Column, LabelView, StatusView, TaskCard, TaskDetail, TaskFilter

# --- workflow (board columns) -------------------------------------------------------------------------------


def list_statuses(*, session: Session, actor: User, project_id: int) -> list[StatusView]:
    """The project's statuses in board order (the default workflow is created on first use)."""
    raise NotImplementedError


def add_status(*, session: Session, actor: User, project_id: int, name: str, is_closed: bool = False) -> Status:
    """Add a column at the end (project managers)."""
    raise NotImplementedError


def update_status(
    *, session: Session, actor: User, status_id: int, name: str | None = None, is_closed: bool | None = None
) -> Status:
    """Rename a column or change whether it counts as closed (project managers)."""
    raise NotImplementedError


def reorder_statuses(*, session: Session, actor: User, project_id: int, status_ids: list[int]) -> None:
    """Put the columns in this order; the list must name each of the project's statuses once."""
    raise NotImplementedError


def delete_status(*, session: Session, actor: User, status_id: int, move_to_id: int) -> None:
    """Delete a column, moving its tasks to another column of the same project; the last open/closed one stays."""
    raise NotImplementedError


# --- labels ---------------------------------------------------------------------------------------------------


def list_labels(*, session: Session, actor: User, project_id: int) -> list[LabelView]:
    """The project's labels by name."""
    raise NotImplementedError


def create_label(*, session: Session, actor: User, project_id: int, name: str, color: str = '#64748b') -> Label:
    """A new label (project members)."""
    raise NotImplementedError


def delete_label(*, session: Session, actor: User, label_id: int) -> None:
    """Remove a label from the project and its tasks (project managers)."""
    raise NotImplementedError


# --- tasks ----------------------------------------------------------------------------------------------------


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
    raise NotImplementedError


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


def update_task(*, session: Session, actor: User, task_id: int, changes: dict[str, Any]) -> Task:
    """Change the fields named in `changes` (keys from UPDATABLE; anything else is a ValidationError)."""
    raise NotImplementedError


def move_task(*, session: Session, actor: User, task_id: int, status_id: int, after_id: int | None = None) -> Task:
    """Drag and drop: put the task in `status_id`, right after task `after_id` (None: at the top)."""
    raise NotImplementedError


def delete_task(*, session: Session, actor: User, task_id: int) -> None:
    """Delete a task and what hangs off it (project members; audited). Its subtasks lose their parent."""
    raise NotImplementedError


def get_task(*, session: Session, actor: User, task_id: int) -> TaskDetail:
    """The task page's data."""
    raise NotImplementedError


def find_by_ref(*, session: Session, actor: User, ref: str) -> Task:
    """The task called KEY-number (case-insensitive key), if visible."""
    raise NotImplementedError


# --- views: board, list, my tasks, calendar --------------------------------------------------------------------


def board(
    *, session: Session, actor: User, project_id: int, filters: TaskFilter | None = None, per_column: int = 50
) -> Board:
    """The board: every column with its first `per_column` cards (in board order) and its total."""
    raise NotImplementedError


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
    raise NotImplementedError


def list_tasks(
    *, session: Session, actor: User, filters: TaskFilter, offset: int = 0, limit: int = 50
) -> Page[TaskCard]:
    """Tasks the actor may see, filtered, sorted, one page (the list view, the API and CSV export)."""
    raise NotImplementedError


def my_tasks(*, session: Session, actor: User, today: date) -> dict[str, list[TaskCard]]:
    """The actor's open assigned tasks in buckets 'overdue', 'today', 'week' (next 7 days), 'later', 'undated'."""
    raise NotImplementedError


def calendar(
    *, session: Session, actor: User, year: int, month: int, project_id: int | None = None, mine_only: bool = False
) -> dict[date, list[TaskCard]]:
    """Visible tasks due in that month, by day."""
    raise NotImplementedError


# --- dependencies, checklist, watchers -------------------------------------------------------------------------


def add_dependency(*, session: Session, actor: User, blocker_id: int, blocked_id: int) -> None:
    """`blocked_id` cannot start before `blocker_id` finishes. Same project only; a cycle is a ValidationError."""
    raise NotImplementedError


def remove_dependency(*, session: Session, actor: User, blocker_id: int, blocked_id: int) -> None:
    """Drop a dependency."""
    raise NotImplementedError


def add_checklist_item(*, session: Session, actor: User, task_id: int, text: str) -> int:
    """Append a line to the checklist; returns its id."""
    raise NotImplementedError


def update_checklist_item(
    *, session: Session, actor: User, item_id: int, text: str | None = None, done: bool | None = None
) -> None:
    """Edit or tick a checklist line."""
    raise NotImplementedError


def delete_checklist_item(*, session: Session, actor: User, item_id: int) -> None:
    """Remove a checklist line."""
    raise NotImplementedError


def set_watching(*, session: Session, actor: User, task_id: int, watching: bool) -> None:
    """Start or stop watching a task (anyone who can see it)."""
    raise NotImplementedError
