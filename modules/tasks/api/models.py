"""Request and response bodies of the tasks REST API (dates are ISO strings, hours are numbers)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appliance.api.deps import IdValue, IsoDate
from modules.tasks.views import (
    Board,
    ChecklistView,
    Column,
    LabelView,
    PersonRef,
    StatusView,
    TaskCard,
    TaskDetail,
    TaskLink,
)


class PersonOut(BaseModel):
    """A person next to a task."""

    id: int
    username: str
    display_name: str

    @classmethod
    def of(cls, ref: PersonRef) -> PersonOut:
        """Build from a view."""
        return cls(id=ref.id, username=ref.username, display_name=ref.display_name)


class LabelOut(BaseModel):
    """A project label."""

    id: int
    name: str
    color: str = Field(description='#rrggbb')

    @classmethod
    def of(cls, view: LabelView) -> LabelOut:
        """Build from a view."""
        return cls(id=view.id, name=view.name, color=view.color)


class StatusOut(BaseModel):
    """A board column of a project's workflow."""

    id: int
    name: str
    is_closed: bool = Field(description='Tasks in this column count as finished.')
    position: int = Field(description='Order of the column on the board (left to right).')

    @classmethod
    def of(cls, view: StatusView) -> StatusOut:
        """Build from a view."""
        return cls(id=view.id, name=view.name, is_closed=view.is_closed, position=view.position)


class CardOut(BaseModel):
    """A task as a list row or board card."""

    id: int = Field(description='The task id, used in every other task route.')
    ref: str = Field(description='The task id as people say it: KEY-number, e.g. WEB-42.')
    project_id: int
    title: str
    status_id: int
    status_name: str
    closed: bool = Field(description='The task is in a closed column.')
    position: int = Field(description='Order within its column (smaller is higher).')
    priority: str = Field(description='low, normal, high or urgent.')
    start_date: date | None
    due_date: date | None
    assignees: list[PersonOut]
    labels: list[LabelOut]
    updated_at: datetime | None

    @classmethod
    def of(cls, card: TaskCard) -> CardOut:
        """Build from a view."""
        values = {**card.__dict__}
        values['assignees'] = [PersonOut.of(p) for p in card.assignees]
        values['labels'] = [LabelOut.of(lb) for lb in card.labels]
        return cls(**values)


class LinkOut(BaseModel):
    """Another task this one refers to."""

    id: int
    ref: str
    title: str
    closed: bool

    @classmethod
    def of(cls, link: TaskLink) -> LinkOut:
        """Build from a view."""
        return cls(id=link.id, ref=link.ref, title=link.title, closed=link.closed)


class ChecklistOut(BaseModel):
    """A checklist line."""

    id: int
    text: str
    done: bool
    position: int

    @classmethod
    def of(cls, view: ChecklistView) -> ChecklistOut:
        """Build from a view."""
        return cls(id=view.id, text=view.text, done=view.done, position=view.position)


def _hours(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


class TaskOut(CardOut):
    """A task with everything its page shows except comments, time entries and attachments."""

    project_key: str
    description: str = Field(description='Markdown.')
    reporter: PersonOut | None
    estimate_hours: float | None
    logged_hours: float = Field(description='Hours logged on the task so far.')
    milestone_id: int | None
    parent: LinkOut | None
    subtasks: list[LinkOut]
    blocked_by: list[LinkOut] = Field(description='Tasks that must finish before this one starts.')
    blocking: list[LinkOut] = Field(description='Tasks waiting for this one.')
    checklist: list[ChecklistOut]
    watchers: list[PersonOut]
    created_at: datetime
    can_edit: bool = Field(description='The caller may change the task.')
    watching: bool = Field(description='The caller watches the task.')

    @classmethod
    def of_detail(cls, detail: TaskDetail) -> TaskOut:
        """Build from the task page's view."""
        return cls(
            **CardOut.of(detail.card).model_dump(),
            project_key=detail.project_key,
            description=detail.description,
            reporter=PersonOut.of(detail.reporter) if detail.reporter else None,
            estimate_hours=_hours(detail.estimate_hours),
            logged_hours=float(detail.logged_hours),
            milestone_id=detail.milestone_id,
            parent=LinkOut.of(detail.parent) if detail.parent else None,
            subtasks=[LinkOut.of(t) for t in detail.subtasks],
            blocked_by=[LinkOut.of(t) for t in detail.blocked_by],
            blocking=[LinkOut.of(t) for t in detail.blocking],
            checklist=[ChecklistOut.of(c) for c in detail.checklist],
            watchers=[PersonOut.of(p) for p in detail.watchers],
            created_at=detail.created_at,
            can_edit=detail.can_edit,
            watching=detail.watching,
        )


class TaskPage(BaseModel):
    """A page of tasks and how many matched."""

    items: list[CardOut]
    total: int
    offset: int
    limit: int


class MyTasksOut(BaseModel):
    """The caller's open assigned tasks by when they are due."""

    overdue: list[CardOut]
    today: list[CardOut]
    week: list[CardOut] = Field(description='Due in the next 7 days.')
    later: list[CardOut]
    undated: list[CardOut]


class ColumnOut(BaseModel):
    """A board column with its first cards; `total` says how many match."""

    status: StatusOut
    cards: list[CardOut]
    total: int

    @classmethod
    def of(cls, column: Column) -> ColumnOut:
        """Build from a view."""
        return cls(status=StatusOut.of(column.status), cards=[CardOut.of(c) for c in column.cards], total=column.total)


class BoardOut(BaseModel):
    """A project's board: its columns in workflow order."""

    project_id: int
    project_key: str
    project_name: str
    can_edit: bool
    columns: list[ColumnOut]

    @classmethod
    def of(cls, board: Board) -> BoardOut:
        """Build from a view."""
        return cls(
            project_id=board.project_id,
            project_key=board.project_key,
            project_name=board.project_name,
            can_edit=board.can_edit,
            columns=[ColumnOut.of(c) for c in board.columns],
        )


_STRICT = ConfigDict(extra='forbid')
Priority = Literal['low', 'normal', 'high', 'urgent']


class TaskCreate(BaseModel):
    """A new task; it goes to the bottom of its column (default: the project's first column)."""

    model_config = _STRICT
    project_id: IdValue
    title: str = Field(max_length=1000, description='1 to 200 characters.')
    description: str = Field(default='', max_length=60_000, description='Markdown, at most 50,000 characters.')
    status_id: IdValue | None = Field(default=None, description="One of the project's columns.")
    priority: Priority = Field(default='normal')
    assignee_ids: list[IdValue] = Field(default_factory=list, max_length=100, description='Project members only.')
    label_ids: list[IdValue] = Field(default_factory=list, max_length=100, description="The project's labels.")
    start_date: IsoDate | None = None
    due_date: IsoDate | None = Field(default=None, description='Not before start_date.')
    estimate_hours: Decimal | None = Field(default=None, description='0 to 10,000 hours.')
    parent_id: IdValue | None = Field(default=None, description='A task of the same project.')
    milestone_id: IdValue | None = Field(default=None, description="One of the project's milestones.")


class TaskPatch(BaseModel):
    """Fields to change; absent fields stay as they are, null clears an optional one."""

    model_config = _STRICT
    title: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=60_000)
    status_id: IdValue | None = None
    priority: Priority | None = None
    assignee_ids: list[IdValue] | None = Field(default=None, max_length=100, description='The new full list.')
    label_ids: list[IdValue] | None = Field(default=None, max_length=100, description='The new full list.')
    start_date: IsoDate | None = None
    due_date: IsoDate | None = None
    estimate_hours: Decimal | None = None
    parent_id: IdValue | None = None
    milestone_id: IdValue | None = None


class MoveIn(BaseModel):
    """Where a dragged card was dropped."""

    model_config = _STRICT
    status_id: IdValue = Field(description="The column (one of the task's project).")
    after_id: IdValue | None = Field(default=None, description='The card it now follows; null puts it at the top.')


class StatusCreate(BaseModel):
    """A new column at the end of the board."""

    model_config = _STRICT
    name: str = Field(max_length=200, description='1 to 60 characters, unique in the project.')
    is_closed: bool = False


class StatusPatch(BaseModel):
    """Rename a column or change whether it is closed."""

    model_config = _STRICT
    name: str | None = Field(default=None, max_length=200)
    is_closed: bool | None = None


class StatusOrder(BaseModel):
    """Every column id of the project once, in the new order."""

    model_config = _STRICT
    status_ids: list[IdValue] = Field(max_length=200)


class LabelCreate(BaseModel):
    """A new label."""

    model_config = _STRICT
    name: str = Field(max_length=200, description='1 to 40 characters, unique in the project.')
    color: str = Field(default='#64748b', max_length=16, description='#rrggbb')


class LabelPatch(BaseModel):
    """A new name or colour for a label; send only what changes."""

    model_config = _STRICT
    name: str | None = Field(default=None, max_length=200, description='1 to 40 characters, unique in the project.')
    color: str | None = Field(default=None, max_length=16, description='#rrggbb')


class DependencyIn(BaseModel):
    """`blocker_id` must finish before this task starts."""

    model_config = _STRICT
    blocker_id: IdValue


class ChecklistIn(BaseModel):
    """A new checklist line."""

    model_config = _STRICT
    text: str = Field(max_length=1000, description='1 to 300 characters.')


class ChecklistPatch(BaseModel):
    """Change a checklist line's text or tick it."""

    model_config = _STRICT
    text: str | None = Field(default=None, max_length=1000)
    done: bool | None = None


class StatusList(BaseModel):
    """A project's columns in board order."""

    items: list[StatusOut]


class LabelList(BaseModel):
    """A project's labels by name."""

    items: list[LabelOut]
