"""REST API of a task's checklist lines (under /api/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from appliance.api.deps import DB, Actor, Id, Router
from modules.tasks import services
from modules.tasks.api.models import (
    ChecklistIn,
    ChecklistOut,
    ChecklistPatch,
)
from modules.tasks.services import checklist_item

router = Router(prefix='/api/v1', tags=['tasks'])


@router.post('/tasks/{task_id}/checklist', response_model=ChecklistOut, status_code=201, summary='Add a checklist line')
def add_checklist_item(task_id: Id, body: ChecklistIn, session: DB, actor: Actor) -> Any:
    """Append a line to the task's checklist."""
    item_id = services.add_checklist_item(session=session, actor=actor, task_id=task_id, text=body.text)
    return ChecklistOut.of(checklist_item(session=session, actor=actor, item_id=item_id))


@router.patch('/checklist/{item_id}', response_model=ChecklistOut, summary='Edit or tick a checklist line')
def patch_checklist_item(item_id: Id, body: ChecklistPatch, session: DB, actor: Actor) -> Any:
    """Change the text or the tick."""
    services.update_checklist_item(session=session, actor=actor, item_id=item_id, text=body.text, done=body.done)
    return ChecklistOut.of(checklist_item(session=session, actor=actor, item_id=item_id))


@router.delete('/checklist/{item_id}', status_code=204, summary='Remove a checklist line')
def delete_checklist_item(item_id: Id, session: DB, actor: Actor) -> Response:
    """Remove the line."""
    services.delete_checklist_item(session=session, actor=actor, item_id=item_id)
    return Response(status_code=204)
