"""REST API of a project's workflow: the board's columns (under /api/v1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from appliance.api.deps import DB, MAX_ID, Actor, Id, Router
from modules.tasks import services
from modules.tasks.api.models import (
    StatusCreate,
    StatusList,
    StatusOrder,
    StatusOut,
    StatusPatch,
)
from modules.tasks.services import status_view
from modules.tasks.views import StatusView

router = Router(prefix='/api/v1', tags=['tasks'])


@router.get('/projects/{project_id}/statuses', response_model=StatusList, summary="A project's columns")
def list_statuses(project_id: Id, session: DB, actor: Actor) -> Any:
    """The workflow in board order."""
    views = services.list_statuses(session=session, actor=actor, project_id=project_id)
    return StatusList(items=[StatusOut.of(v) for v in views])


@router.post(
    '/projects/{project_id}/statuses', response_model=StatusOut, status_code=201, summary='Add a column (managers)'
)
def add_status(project_id: Id, body: StatusCreate, session: DB, actor: Actor) -> Any:
    """A new column at the end of the board."""
    status = services.add_status(
        session=session, actor=actor, project_id=project_id, name=body.name, is_closed=body.is_closed
    )
    return StatusOut.of(status_view(status))


@router.put('/projects/{project_id}/statuses/order', response_model=StatusList, summary='Reorder columns (managers)')
def reorder_statuses(project_id: Id, body: StatusOrder, session: DB, actor: Actor) -> Any:
    """Put the columns in the order given (every column once)."""
    services.reorder_statuses(session=session, actor=actor, project_id=project_id, status_ids=body.status_ids)
    return list_statuses(project_id, session, actor)


@router.patch('/statuses/{status_id}', response_model=StatusOut, summary='Change a column (managers)')
def patch_status(status_id: Id, body: StatusPatch, session: DB, actor: Actor) -> Any:
    """Rename it, or change whether its tasks count as finished."""
    status = services.update_status(
        session=session, actor=actor, status_id=status_id, name=body.name, is_closed=body.is_closed
    )
    return StatusOut.of(StatusView(status.id, status.name, status.is_closed, status.position))


@router.delete('/statuses/{status_id}', status_code=204, summary='Delete a column (managers)')
def delete_status(
    status_id: Id,
    session: DB,
    actor: Actor,
    move_to_id: Annotated[int, Query(ge=1, le=MAX_ID, description="The column that takes this column's tasks.")],
) -> Response:
    """Delete the column after moving its tasks to another one."""
    services.delete_status(session=session, actor=actor, status_id=status_id, move_to_id=move_to_id)
    return Response(status_code=204)
