"""What the projects services return to pages, the API and other modules: plain, read-only views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from modules.projects.extensions import OverdueItem, TimelineItem, Workload


@dataclass(frozen=True)
class ProjectView:
    """A project as its reader sees it, with the reader's role and what that role allows."""

    id: int
    key: str
    name: str
    description: str
    status: str
    visibility: str
    start_date: date | None
    end_date: date | None
    owner_id: int | None
    owner_name: str
    created_at: datetime
    my_role: str  # 'viewer' | 'member' | 'manager' (effective: admins are managers, org-visible non-members viewers)
    can_edit: bool  # may work on tasks (member or manager, project not archived)
    can_manage: bool  # may change the project, members, milestones, workflow (manager, not archived)


@dataclass(frozen=True)
class MemberView:
    """A project member."""

    user_id: int
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class MilestoneView:
    """A milestone with its progress (closed and total items, from the contributing modules)."""

    id: int
    project_id: int
    name: str
    description: str
    due_date: date | None
    status: str
    closed_items: int
    total_items: int


@dataclass(frozen=True)
class ActivityView:
    """A line of the activity feed, as a sentence in the reader's language."""

    id: int
    project_id: int
    actor_name: str
    action: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Overview:
    """What the project's overview page shows."""

    project: ProjectView
    closed_items: int
    total_items: int
    overdue: list[OverdueItem]
    upcoming: list[MilestoneView]
    workload: list[Workload]
    activity: list[ActivityView]


@dataclass(frozen=True)
class Timeline:
    """What the project's timeline (Gantt) shows: milestones and the dated items of the contributing modules."""

    project: ProjectView
    milestones: list[MilestoneView]
    items: list[TimelineItem]
