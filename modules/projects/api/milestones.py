"""REST API of a project's milestones, under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response

from appliance.api.deps import DB, Actor, Id, Router
from modules.projects import services
from modules.projects.api.models import MilestoneCreate, MilestoneList, MilestoneOut, MilestonePatch
from modules.projects.services import UNSET, get_milestone

router = Router(prefix='/api/v1', tags=['projects'])


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
