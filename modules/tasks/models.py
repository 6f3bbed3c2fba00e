"""Tasks tables (prefix `tasks_`): workflow statuses, tasks and everything hanging off a task."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db import Base, utcnow
from appliance.errors import N_

PRIORITIES = ('low', 'normal', 'high', 'urgent')
# A new project's columns, named in the organisation's language when they are made (workflow.default_names).
DEFAULT_WORKFLOW = ((N_('To do'), False), (N_('In progress'), False), (N_('Done'), True))


class Status(Base):
    """A column of a project's board; `is_closed` marks statuses where a task counts as finished."""

    __tablename__ = 'tasks_statuses'
    __table_args__ = (UniqueConstraint('project_id', 'name', name='uq_tasks_statuses_name'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'), index=True)
    name: Mapped[str] = mapped_column(String(60))
    is_closed: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Task(Base):
    """A task: numbered per project (KEY-number), in one status column at a `position` (board order)."""

    __tablename__ = 'tasks_tasks'
    __table_args__ = (
        UniqueConstraint('project_id', 'number', name='uq_tasks_tasks_number'),
        Index('ix_tasks_tasks_board', 'project_id', 'status_id', 'position'),
        Index('ix_tasks_tasks_due', 'due_date'),
        Index('ix_tasks_tasks_parent', 'parent_id'),
        Index('ix_tasks_tasks_milestone', 'milestone_id'),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'))
    number: Mapped[int] = mapped_column()
    status_id: Mapped[int] = mapped_column(ForeignKey('tasks_statuses.id', ondelete='RESTRICT'))
    # Gapped integers: a move between two neighbours takes the midpoint; the column is renumbered when none is left.
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default='')
    priority: Mapped[str] = mapped_column(String(8), default='normal')
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='SET NULL'), default=None)
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey('projects_milestones.id', ondelete='SET NULL'), default=None
    )
    start_date: Mapped[date | None] = mapped_column(default=None)
    due_date: Mapped[date | None] = mapped_column(default=None)
    estimate_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class Assignee(Base):
    """A person a task is assigned to (a task may have several)."""

    __tablename__ = 'tasks_assignees'
    __table_args__ = (Index('ix_tasks_assignees_user', 'user_id'),)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)


class Watcher(Base):
    """Someone who hears about comments on a task."""

    __tablename__ = 'tasks_watchers'
    __table_args__ = (Index('ix_tasks_watchers_user', 'user_id'),)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)


class Label(Base):
    """A project's label (name and colour), attached to any of its tasks."""

    __tablename__ = 'tasks_labels'
    __table_args__ = (UniqueConstraint('project_id', 'name', name='uq_tasks_labels_name'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'), index=True)
    name: Mapped[str] = mapped_column(String(40))
    color: Mapped[str] = mapped_column(String(7), default='#64748b')


class TaskLabel(Base):
    """A label on a task."""

    __tablename__ = 'tasks_task_labels'
    __table_args__ = (Index('ix_tasks_task_labels_label', 'label_id'),)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey('tasks_labels.id', ondelete='CASCADE'), primary_key=True)


class Dependency(Base):
    """Finish-to-start: `blocked_id` cannot start before `blocker_id` is finished. The graph has no cycles."""

    __tablename__ = 'tasks_dependencies'
    __table_args__ = (Index('ix_tasks_dependencies_blocked', 'blocked_id'),)
    blocker_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), primary_key=True)


class ChecklistItem(Base):
    """One line of a task's checklist."""

    __tablename__ = 'tasks_checklist'
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), index=True)
    text: Mapped[str] = mapped_column(String(300))
    done: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Comment(Base):
    """A comment (Markdown) on a task; authors edit and delete their own."""

    __tablename__ = 'tasks_comments'
    __table_args__ = (Index('ix_tasks_comments_task', 'task_id', 'id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'))
    author_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)


class TimeEntry(Base):
    """Time logged on a task: who, which day, how many hours, and a note."""

    __tablename__ = 'tasks_time_entries'
    __table_args__ = (Index('ix_tasks_time_entries_task', 'task_id'), Index('ix_tasks_time_entries_user', 'user_id'))
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'))
    user_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    day: Mapped[date] = mapped_column()
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    note: Mapped[str] = mapped_column(String(500), default='')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file on a task; the bytes are a blob in the platform blob store (ref owner `tasks.attachment`)."""

    __tablename__ = 'tasks_attachments'
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks_tasks.id', ondelete='CASCADE'), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey('core_blobs.sha256', ondelete='RESTRICT'))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127), default='application/octet-stream')
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarFeed(Base):
    """A user's personal iCalendar feed: the URL carries a secret whose sha256 is stored; revoking deletes it."""

    __tablename__ = 'tasks_calendar_feeds'
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
