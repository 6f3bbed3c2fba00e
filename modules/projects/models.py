"""Projects tables (prefix `projects_`): projects, their members, milestones and the activity feed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db import Base, utcnow

STATUSES = ('active', 'on_hold', 'done', 'archived')
ROLES = ('viewer', 'member', 'manager')  # in rising order of rights
VISIBILITIES = ('members', 'org')
MILESTONE_STATUSES = ('open', 'done')


class Project(Base):
    """A project: a key for task ids (WEB-42), a status, dates, an owner, and who may see it."""

    __tablename__ = 'projects_projects'
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default='')
    status: Mapped[str] = mapped_column(String(16), default='active')
    # The status before archiving, so that restoring puts the project back where it was.
    status_before_archive: Mapped[str] = mapped_column(String(16), default='')
    # 'members': only members see it; 'org': every user with projects.use reads it (members still write).
    visibility: Mapped[str] = mapped_column(String(16), default='members')
    start_date: Mapped[date | None] = mapped_column(default=None)
    end_date: Mapped[date | None] = mapped_column(default=None)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Member(Base):
    """A user's role in a project: viewer (reads), member (works on tasks), manager (runs the project)."""

    __tablename__ = 'projects_members'
    __table_args__ = (Index('ix_projects_members_user', 'user_id'),)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default='member')
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Milestone(Base):
    """A dated goal of a project; its progress comes from the tasks attached to it."""

    __tablename__ = 'projects_milestones'
    __table_args__ = (Index('ix_projects_milestones_project_due', 'project_id', 'due_date'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default='')
    due_date: Mapped[date | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default='open')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(Base):
    """One line of a project's activity feed: who did what to which object, when.

    `action` is a dotted verb ('project.created', 'task.moved', ...); `details` is JSON for the sentence shown
    (e.g. the task's id and title, the old and new status). Other modules add lines through the services.
    """

    __tablename__ = 'projects_activity'
    __table_args__ = (Index('ix_projects_activity_project_id', 'project_id', 'id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects_projects.id', ondelete='CASCADE'))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32), default='')
    target_id: Mapped[int | None] = mapped_column(default=None)
    details: Mapped[str] = mapped_column(Text, default='{}')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
