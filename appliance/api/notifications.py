"""The caller's notifications: list (sentences in the caller's language), mark one or all read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

from appliance import i18n
from appliance.api.deps import DB, BrowserOrApiActor, Id, PageParams, Router
from appliance.services import notifications

router = Router(prefix='/api/v1', tags=['notifications'])


class NotificationOut(BaseModel):
    """One notification; `text` is the sentence in the caller's language."""

    id: int
    module: str
    kind: str
    title: str
    body: str
    url: str
    actor: str
    text: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    """A page of notifications, newest first, and how many are unread in all."""

    items: list[NotificationOut]
    total: int
    unread: int
    offset: int
    limit: int


class MarkedOut(BaseModel):
    """How many notifications were marked read."""

    marked: int


@router.get('/notifications', response_model=NotificationPage, summary='Your notifications')
def list_notifications(
    session: DB,
    actor: BrowserOrApiActor,
    paging: PageParams,
    unread_only: Annotated[bool, Query(description='Only the unread ones')] = False,
) -> Any:
    """Newest first, in your language (your profile's)."""
    token = i18n.current_language.set(actor.language)
    try:
        page = notifications.list_views(
            session, user=actor, unread_only=unread_only, offset=paging.offset, limit=paging.limit
        )
    finally:
        i18n.current_language.reset(token)
    items = [
        NotificationOut(**{k: v for k, v in view.__dict__.items() if k != 'actor_name'}, actor=view.actor_name)
        for view in page.items
    ]
    return NotificationPage(
        items=items,
        total=page.total,
        unread=notifications.unread_count(session, user=actor),
        offset=page.offset,
        limit=page.limit,
    )


@router.post('/notifications/read-all', response_model=MarkedOut, summary='Mark all your notifications read')
def read_all(session: DB, actor: BrowserOrApiActor) -> Any:
    """Everything unread becomes read."""
    return MarkedOut(marked=notifications.mark_all_read(session, user=actor))


@router.post('/notifications/{notification_id}/read', status_code=204, summary='Mark one notification read')
def read_one(notification_id: Id, session: DB, actor: BrowserOrApiActor) -> Response:
    """Someone else's notification is "not found"."""
    notifications.mark_read(session, user=actor, notification_id=notification_id)
    return Response(status_code=204)
