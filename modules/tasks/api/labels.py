"""REST API of a project's labels (under /api/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from appliance.api.deps import DB, Actor, Id, Router
from modules.tasks import services
from modules.tasks.api.models import (
    LabelCreate,
    LabelList,
    LabelOut,
    LabelPatch,
)
from modules.tasks.views import LabelView

router = Router(prefix='/api/v1', tags=['tasks'])


@router.get('/projects/{project_id}/labels', response_model=LabelList, summary="A project's labels")
def list_labels(project_id: Id, session: DB, actor: Actor) -> Any:
    """Labels by name."""
    views = services.list_labels(session=session, actor=actor, project_id=project_id)
    return LabelList(items=[LabelOut.of(v) for v in views])


@router.post('/projects/{project_id}/labels', response_model=LabelOut, status_code=201, summary='Create a label')
def create_label(project_id: Id, body: LabelCreate, session: DB, actor: Actor) -> Any:
    """A new label (project members)."""
    label = services.create_label(session=session, actor=actor, project_id=project_id, name=body.name, color=body.color)
    return LabelOut.of(LabelView(label.id, label.name, label.color))


@router.patch('/labels/{label_id}', response_model=LabelOut, summary='Rename or recolour a label (managers)')
def patch_label(label_id: Id, body: LabelPatch, session: DB, actor: Actor) -> Any:
    """Change the name or the colour; the tasks that have the label keep it."""
    label = services.update_label(session=session, actor=actor, label_id=label_id, name=body.name, color=body.color)
    return LabelOut.of(LabelView(label.id, label.name, label.color))


@router.delete('/labels/{label_id}', status_code=204, summary='Delete a label (managers)')
def delete_label(label_id: Id, session: DB, actor: Actor) -> Response:
    """Remove the label from the project and its tasks."""
    services.delete_label(session=session, actor=actor, label_id=label_id)
    return Response(status_code=204)
