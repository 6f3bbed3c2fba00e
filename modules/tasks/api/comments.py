"""REST API of a task's comments (under /api/v1)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from appliance.api.deps import DB, Actor, BrowserOrApiActor, Id, Router
from modules.tasks import services
from modules.tasks.api.collab_models import CommentIn, CommentOut

router = Router(prefix='/api/v1', tags=['tasks'])


@router.get('/tasks/{task_id}/comments', response_model=list[CommentOut], summary="A task's comments")
def list_comments(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Oldest first, with the Markdown rendered to safe HTML."""
    return [CommentOut.of(view) for view in services.list_comments(session=session, actor=actor, task_id=task_id)]


@router.post('/tasks/{task_id}/comments', response_model=CommentOut, status_code=201, summary='Comment on a task')
def add_comment(task_id: Id, body: CommentIn, session: DB, actor: Actor) -> Any:
    """Project members comment; @username of a project member notifies them; watchers hear of it."""
    row = services.add_comment(session=session, actor=actor, task_id=task_id, body=body.body)
    return _comment_out(session, actor, row.task_id, row.id)


@router.patch('/comments/{comment_id}', response_model=CommentOut, summary='Edit your comment')
def edit_comment(comment_id: Id, body: CommentIn, session: DB, actor: Actor) -> Any:
    """Only the author edits a comment (audited)."""
    row = services.edit_comment(session=session, actor=actor, comment_id=comment_id, body=body.body)
    return _comment_out(session, actor, row.task_id, row.id)


@router.delete('/comments/{comment_id}', status_code=204, summary='Delete a comment')
def delete_comment(comment_id: Id, session: DB, actor: Actor) -> Response:
    """The author, or a project manager, deletes a comment (audited)."""
    services.delete_comment(session=session, actor=actor, comment_id=comment_id)
    return Response(status_code=204)


def _comment_out(session: Any, actor: Any, task_id: int, comment_id: int) -> CommentOut:
    views = services.list_comments(session=session, actor=actor, task_id=task_id)
    return CommentOut.of(next(view for view in views if view.id == comment_id))
