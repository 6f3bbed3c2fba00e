"""REST API of the time logged on a task (under /api/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from appliance.api.deps import DB, Actor, BrowserOrApiActor, Id, Router
from modules.tasks import services
from modules.tasks.api.collab_models import TimeIn, TimeOut

router = Router(prefix='/api/v1', tags=['tasks'])


@router.get('/tasks/{task_id}/time-entries', response_model=list[TimeOut], summary='Time logged on a task')
def list_time(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Newest day first."""
    return [TimeOut.of(view) for view in services.list_time(session=session, actor=actor, task_id=task_id)]


@router.post('/tasks/{task_id}/time-entries', response_model=TimeOut, status_code=201, summary='Log time')
def log_time(task_id: Id, body: TimeIn, session: DB, actor: Actor) -> Any:
    """Log hours for yourself (a manager may log for a member with `user_id`)."""
    row = services.log_time(
        session=session,
        actor=actor,
        task_id=task_id,
        day=body.day,
        hours=body.hours,
        note=body.note,
        user_id=body.user_id,
    )
    views = services.list_time(session=session, actor=actor, task_id=task_id)
    return TimeOut.of(next(view for view in views if view.id == row.id))


@router.delete('/time-entries/{entry_id}', status_code=204, summary='Delete a time entry')
def delete_time(entry_id: Id, session: DB, actor: Actor) -> Response:
    """Your own entry, or any entry when you manage the project."""
    services.delete_time(session=session, actor=actor, entry_id=entry_id)
    return Response(status_code=204)
