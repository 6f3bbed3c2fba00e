"""Request and response bodies of the projects API (pydantic), shared by its route files."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from appliance.api.deps import IdValue, IsoDate
from modules.projects.views import ActivityView, MemberView, MilestoneView, ProjectView

Visibility = Literal['members', 'org']


EditableStatus = Literal['active', 'on_hold', 'done']


Role = Literal['viewer', 'member', 'manager']


MilestoneStatus = Literal['open', 'done']


class ProjectOut(BaseModel):
    """A project as the caller sees it, with their role in it."""

    id: int = Field(description='The project id, used in every other project route.')
    key: str = Field(description='Short upper-case code used in task ids (WEB in WEB-42).')
    name: str
    description: str = Field(description='Markdown.')
    status: str = Field(description='active, on_hold, done or archived.')
    visibility: str = Field(description='members (only members see it) or org (every user reads it).')
    start_date: date | None
    end_date: date | None
    owner_id: int | None
    owner_name: str
    created_at: datetime
    my_role: str = Field(description="The caller's effective role: viewer, member or manager.")
    can_edit: bool = Field(description='The caller may work on its items (member or manager, not archived).')
    can_manage: bool = Field(description='The caller may change the project, its members and milestones.')

    @classmethod
    def of(cls, view: ProjectView) -> ProjectOut:
        """Build from a service view."""
        return cls(**view.__dict__)


class ProjectPage(BaseModel):
    """A page of projects."""

    items: list[ProjectOut]
    total: int
    offset: int
    limit: int


class ProjectCreate(BaseModel):
    """A new project: the caller becomes its owner and manager."""

    name: str = Field(max_length=1000, description='1 to 200 characters.')
    key: str = Field(max_length=100, description='2 to 10 letters or digits, starting with a letter; upper-cased.')
    description: str = Field(default='', max_length=100_000, description='Markdown, at most 20,000 characters.')
    visibility: Visibility = Field(default='members', description='members or org.')
    start_date: IsoDate | None = None
    end_date: IsoDate | None = Field(default=None, description='On or after start_date.')


class ProjectPatch(BaseModel):
    """Fields to change (managers); absent fields stay as they are. Archive with POST .../archive."""

    name: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=100_000)
    status: EditableStatus | None = Field(default=None, description='active, on_hold or done.')
    visibility: Visibility | None = Field(default=None, description='members or org.')
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    owner_id: IdValue | None = Field(default=None, description='A member of the project, or null for no owner.')


class MemberOut(BaseModel):
    """A project member."""

    user_id: int
    username: str
    display_name: str
    role: str = Field(description='viewer, member or manager.')

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        """Build from a service view."""
        return cls(**view.__dict__)


class MemberList(BaseModel):
    """Every member of a project, managers first."""

    items: list[MemberOut]


class MemberAdd(BaseModel):
    """Someone to add: an active user by `user_id` or `username`."""

    user_id: IdValue | None = None
    username: str = Field(default='', max_length=64)
    role: Role = Field(default='member', description='viewer, member or manager.')


class MemberPatch(BaseModel):
    """A member's new role."""

    role: Role = Field(description='viewer, member or manager.')


class MilestoneOut(BaseModel):
    """A milestone with its progress (closed and total items attached to it)."""

    id: int
    project_id: int
    name: str
    description: str
    due_date: date | None
    status: str = Field(description='open or done.')
    closed_items: int
    total_items: int

    @classmethod
    def of(cls, view: MilestoneView) -> MilestoneOut:
        """Build from a service view."""
        return cls(**view.__dict__)


class MilestoneList(BaseModel):
    """A project's milestones by due date."""

    items: list[MilestoneOut]


class MilestoneCreate(BaseModel):
    """A new milestone (managers)."""

    name: str = Field(max_length=1000, description='1 to 200 characters.')
    due_date: IsoDate | None = None
    description: str = Field(default='', max_length=100_000)
    status: MilestoneStatus = Field(default='open', description='open or done.')


class MilestonePatch(BaseModel):
    """Fields to change; absent fields stay as they are."""

    name: str | None = Field(default=None, max_length=1000)
    due_date: IsoDate | None = None
    description: str | None = Field(default=None, max_length=100_000)
    status: MilestoneStatus | None = Field(default=None, description='open or done.')


class ActivityOut(BaseModel):
    """A line of the activity feed, as a sentence in the caller's language."""

    id: int
    project_id: int
    actor_name: str
    action: str = Field(description="A dotted verb such as 'project.created' or 'task.moved'.")
    text: str
    created_at: datetime

    @classmethod
    def of(cls, view: ActivityView) -> ActivityOut:
        """Build from a service view."""
        return cls(**view.__dict__)


class ActivityPage(BaseModel):
    """A page of the feed, newest first."""

    items: list[ActivityOut]
    total: int
    offset: int
    limit: int
