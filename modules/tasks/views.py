"""What the tasks services return to pages and the API: plain, read-only views (no lazy loading after commit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class PersonRef:
    """A person as shown next to a task."""

    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class LabelView:
    """A project label."""

    id: int
    name: str
    color: str


@dataclass(frozen=True)
class StatusView:
    """A board column."""

    id: int
    name: str
    is_closed: bool
    position: int


@dataclass(frozen=True)
class TaskCard:
    """A task as a board card or a list row: enough to show and filter it, nothing heavy."""

    id: int
    ref: str  # WEB-42
    project_id: int
    title: str
    status_id: int
    status_name: str
    closed: bool
    position: int
    priority: str
    start_date: date | None
    due_date: date | None
    assignees: tuple[PersonRef, ...] = ()
    labels: tuple[LabelView, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TaskFilter:
    """Filters and order of a task list, board or export. Every field is optional."""

    project_id: int | None = None
    status_ids: tuple[int, ...] = ()
    assignee_id: int | None = None
    label_id: int | None = None
    priority: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    text: str = ''
    open_only: bool = False
    sort: str = 'position'  # position | due | priority | created | updated | title | ref
    descending: bool = False


@dataclass(frozen=True)
class Column:
    """One board column and the first cards in it (columns are paginated: `total` says how many match)."""

    status: StatusView
    cards: tuple[TaskCard, ...]
    total: int


@dataclass(frozen=True)
class Board:
    """A project's board: its columns in workflow order."""

    project_id: int
    project_key: str
    project_name: str
    columns: tuple[Column, ...]
    can_edit: bool


@dataclass(frozen=True)
class ChecklistView:
    """A checklist line."""

    id: int
    text: str
    done: bool
    position: int


@dataclass(frozen=True)
class TaskLink:
    """Another task referred to from this one (parent, subtask, blocker, blocked)."""

    id: int
    ref: str
    title: str
    closed: bool


@dataclass(frozen=True)
class TaskDetail:
    """Everything the task page shows, except comments, time entries and attachments (their own services)."""

    card: TaskCard
    project_key: str
    project_name: str
    description: str
    reporter: PersonRef | None
    estimate_hours: Decimal | None
    logged_hours: Decimal
    milestone_id: int | None
    parent: TaskLink | None
    subtasks: tuple[TaskLink, ...]
    blocked_by: tuple[TaskLink, ...]
    blocking: tuple[TaskLink, ...]
    checklist: tuple[ChecklistView, ...]
    watchers: tuple[PersonRef, ...]
    created_at: datetime
    can_edit: bool
    watching: bool
    statuses: tuple[StatusView, ...] = field(default=())
    labels_available: tuple[LabelView, ...] = field(default=())
    members: tuple[PersonRef, ...] = field(default=())


@dataclass(frozen=True)
class CommentView:
    """A comment as shown on the task page; `html` is the safely rendered Markdown."""

    id: int
    task_id: int
    author: PersonRef | None
    body: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    can_edit: bool
    can_delete: bool = False


@dataclass(frozen=True)
class TimeEntryView:
    """Time logged on a task."""

    id: int
    task_id: int
    person: PersonRef | None
    day: date
    hours: Decimal
    note: str
    can_delete: bool


@dataclass(frozen=True)
class AttachmentView:
    """A file on a task; `url` downloads it."""

    id: int
    task_id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: PersonRef | None
    created_at: datetime
    url: str
    can_delete: bool
