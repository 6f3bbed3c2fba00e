"""REST API of a project's activity feed, under /api/v1."""

from __future__ import annotations

from typing import Any

from appliance import i18n
from appliance.api.deps import DB, Actor, Id, PageParams, Router
from modules.projects import services
from modules.projects.api.models import ActivityOut, ActivityPage

router = Router(prefix='/api/v1', tags=['projects'])


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
