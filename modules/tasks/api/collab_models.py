"""Bodies of the comments, time-entries and attachments routes (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from appliance.api.deps import IdValue, IsoDate
from modules.tasks.views import AttachmentView, CommentView, PersonRef, TimeEntryView


class PersonOut(BaseModel):
    """A person next to a comment, entry or file."""

    id: int
    username: str
    display_name: str

    @classmethod
    def of(cls, person: PersonRef | None) -> PersonOut | None:
        """Build from a view (None stays None: a deleted account)."""
        return cls(**person.__dict__) if person is not None else None


class CommentOut(BaseModel):
    """A comment: its Markdown source and the safe HTML rendering."""

    id: int
    task_id: int
    author: PersonOut | None
    body: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    can_edit: bool
    can_delete: bool

    @classmethod
    def of(cls, view: CommentView) -> CommentOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'author': PersonOut.of(view.author)})


class CommentIn(BaseModel):
    """A comment's text (Markdown; @username mentions project members)."""

    body: str = Field(max_length=40_000)


class TimeOut(BaseModel):
    """A time entry."""

    id: int
    task_id: int
    person: PersonOut | None
    day: date
    hours: Decimal
    note: str
    can_delete: bool

    @classmethod
    def of(cls, view: TimeEntryView) -> TimeOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'person': PersonOut.of(view.person)})


class TimeIn(BaseModel):
    """Hours worked on a day (0 < hours <= 24); `user_id` lets a manager log for a member."""

    day: IsoDate
    hours: Decimal = Field(max_digits=8, decimal_places=4)
    note: str = Field(default='', max_length=2000)
    user_id: IdValue | None = None


class AttachmentOut(BaseModel):
    """A file on a task; `url` downloads it."""

    id: int
    task_id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: PersonOut | None
    created_at: datetime
    url: str
    can_delete: bool

    @classmethod
    def of(cls, view: AttachmentView) -> AttachmentOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'uploaded_by': PersonOut.of(view.uploaded_by)})
