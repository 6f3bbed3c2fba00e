"""REST API of the projects module: projects, members, milestones and the activity feed, under /api/v1.

Every route calls the same services as the pages, so the permission rules are the same; a project the caller
may not see answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from appliance import i18n
from appliance.api.deps import DB, Actor, Id, IdValue, IsoDate, PageParams
from modules.projects import services
from modules.projects.services import UNSET, get_milestone
from modules.projects.views import ActivityView, MemberView, MilestoneView, ProjectView

router = APIRouter(prefix='/api/v1', tags=['projects'])

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


@router.post('/projects', response_model=ProjectOut, status_code=201, summary='Create a project')
def create_project(body: ProjectCreate, session: DB, actor: Actor) -> Any:
    """Create a project; needs the projects.create permission. The key must be unique."""
    return ProjectOut.of(services.create_project(session=session, actor=actor, **body.model_dump()))


@router.get('/projects', response_model=ProjectPage, summary='List the projects the caller may see')
def list_projects(
    session: DB,
    actor: Actor,
    paging: PageParams,
    status: Annotated[
        Literal['', 'active', 'on_hold', 'done', 'archived'],
        Query(description='A status; archived ones only when asked for.'),
    ] = '',
    q: Annotated[str, Query(max_length=200, description='Text in the key, name or description.')] = '',
) -> Any:
    """Visible projects by name, paginated."""
    page = services.list_projects(
        session=session, actor=actor, status=status, query=q, offset=paging.offset, limit=paging.limit
    )
    items = [ProjectOut.of(view) for view in page.items]
    return ProjectPage(items=items, total=page.total, offset=page.offset, limit=page.limit)


@router.get('/projects/{project_id}', response_model=ProjectOut, summary='One project')
def get_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """A project the caller may see (404 otherwise)."""
    return ProjectOut.of(services.get_project(session=session, actor=actor, project_id=project_id))


@router.patch('/projects/{project_id}', response_model=ProjectOut, summary='Change a project (managers)')
def patch_project(project_id: Id, body: ProjectPatch, session: DB, actor: Actor) -> Any:
    """Change name, description, status, visibility, dates or owner; send only what changes."""
    sent = body.model_fields_set
    view = services.update_project(
        session=session,
        actor=actor,
        project_id=project_id,
        name=body.name,
        description=body.description,
        status=body.status,
        visibility=body.visibility,
        start_date=body.start_date if 'start_date' in sent else UNSET,
        end_date=body.end_date if 'end_date' in sent else UNSET,
        owner_id=body.owner_id if 'owner_id' in sent else UNSET,
    )
    return ProjectOut.of(view)


@router.post('/projects/{project_id}/archive', response_model=ProjectOut, summary='Archive a project (managers)')
def archive_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """Make the project read-only and hide it from the default list."""
    return ProjectOut.of(services.archive_project(session=session, actor=actor, project_id=project_id))


@router.post('/projects/{project_id}/restore', response_model=ProjectOut, summary='Restore a project (managers)')
def restore_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """Bring an archived project back to the status it had before."""
    return ProjectOut.of(services.restore_project(session=session, actor=actor, project_id=project_id))


@router.delete('/projects/{project_id}', status_code=204, summary='Delete a project (managers)')
def delete_project(
    project_id: Id,
    session: DB,
    actor: Actor,
    confirm: Annotated[str, Query(max_length=16, description='The project key, to confirm.')] = '',
) -> Response:
    """Delete an archived or empty project for good, with everything in it."""
    services.delete_project(session=session, actor=actor, project_id=project_id, confirm_key=confirm)
    return Response(status_code=204)


@router.get('/projects/{project_id}/members', response_model=MemberList, summary="A project's members")
def list_members(project_id: Id, session: DB, actor: Actor) -> Any:
    """Everyone in the project with their role."""
    views = services.list_members(session=session, actor=actor, project_id=project_id)
    return MemberList(items=[MemberOut.of(view) for view in views])


@router.post(
    '/projects/{project_id}/members', response_model=MemberOut, status_code=201, summary='Add a member (managers)'
)
def add_member(project_id: Id, body: MemberAdd, session: DB, actor: Actor) -> Any:
    """Add an active user with a role."""
    view = services.add_member(
        session=session,
        actor=actor,
        project_id=project_id,
        user_id=body.user_id,
        username=body.username,
        role=body.role,
    )
    return MemberOut.of(view)


@router.patch(
    '/projects/{project_id}/members/{user_id}', response_model=MemberOut, summary="Change a member's role (managers)"
)
def change_role(project_id: Id, user_id: Id, body: MemberPatch, session: DB, actor: Actor) -> Any:
    """Give a member another role; the last manager cannot step down."""
    view = services.change_role(session=session, actor=actor, project_id=project_id, user_id=user_id, role=body.role)
    return MemberOut.of(view)


@router.delete('/projects/{project_id}/members/{user_id}', status_code=204, summary='Remove a member')
def remove_member(project_id: Id, user_id: Id, session: DB, actor: Actor) -> Response:
    """Managers remove anyone; a member may remove themselves. The last manager stays."""
    services.remove_member(session=session, actor=actor, project_id=project_id, user_id=user_id)
    return Response(status_code=204)


@router.get('/projects/{project_id}/milestones', response_model=MilestoneList, summary="A project's milestones")
def list_milestones(
    project_id: Id,
    session: DB,
    actor: Actor,
    status: Annotated[Literal['', 'open', 'done'], Query(description='open or done; empty for both.')] = '',
) -> Any:
    """Milestones by due date, with progress."""
    views = services.list_milestones(session=session, actor=actor, project_id=project_id, status=status)
    return MilestoneList(items=[MilestoneOut.of(view) for view in views])


@router.post(
    '/projects/{project_id}/milestones',
    response_model=MilestoneOut,
    status_code=201,
    summary='Create a milestone (managers)',
)
def create_milestone(project_id: Id, body: MilestoneCreate, session: DB, actor: Actor) -> Any:
    """Add a milestone to the project."""
    view = services.create_milestone(session=session, actor=actor, project_id=project_id, **body.model_dump())
    return MilestoneOut.of(view)


@router.get('/milestones/{milestone_id}', response_model=MilestoneOut, summary='One milestone')
def read_milestone(milestone_id: Id, session: DB, actor: Actor) -> Any:
    """A milestone of a project the caller may see."""
    return MilestoneOut.of(get_milestone(session=session, actor=actor, milestone_id=milestone_id))


@router.patch('/milestones/{milestone_id}', response_model=MilestoneOut, summary='Change a milestone (managers)')
def patch_milestone(milestone_id: Id, body: MilestonePatch, session: DB, actor: Actor) -> Any:
    """Change name, due date, description or status; send only what changes."""
    view = services.update_milestone(
        session=session,
        actor=actor,
        milestone_id=milestone_id,
        name=body.name,
        description=body.description,
        status=body.status,
        due_date=body.due_date if 'due_date' in body.model_fields_set else UNSET,
    )
    return MilestoneOut.of(view)


@router.delete('/milestones/{milestone_id}', status_code=204, summary='Delete a milestone (managers)')
def delete_milestone(milestone_id: Id, session: DB, actor: Actor) -> Response:
    """Delete a milestone; its items stay, without a milestone."""
    services.delete_milestone(session=session, actor=actor, milestone_id=milestone_id)
    return Response(status_code=204)


@router.get('/projects/{project_id}/activity', response_model=ActivityPage, summary="A project's activity feed")
def list_activity(project_id: Id, session: DB, actor: Actor, paging: PageParams) -> Any:
    """Who did what, newest first, in the caller's language."""
    token = i18n.current_language.set(actor.language)
    try:
        page = services.list_activity(
            session=session, actor=actor, project_id=project_id, offset=paging.offset, limit=paging.limit
        )
    finally:
        i18n.current_language.reset(token)
    items = [ActivityOut.of(view) for view in page.items]
    return ActivityPage(items=items, total=page.total, offset=page.offset, limit=page.limit)
