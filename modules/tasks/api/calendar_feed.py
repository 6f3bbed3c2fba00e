"""REST API of the personal calendar feed, and the feed itself (under /api/v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from appliance.api.deps import DB, BrowserOrApiActor, Router
from appliance.errors import N_, NotFound
from modules.tasks import services

router = Router(prefix='/api/v1', tags=['tasks'])


class FeedOut(BaseModel):
    """Your calendar feed: `url` (with its secret) is only in the answer that made it."""

    exists: bool
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    url: str | None = None


@router.get('/calendar-feed', response_model=FeedOut, summary='Your calendar feed (without its secret)')
def feed_status(session: DB, actor: BrowserOrApiActor) -> Any:
    """Whether you have a feed and when it was last read."""
    status = services.feed_status(session=session, actor=actor)
    return FeedOut(exists=status.exists, created_at=status.created_at, last_used_at=status.last_used_at)


@router.post('/calendar-feed', response_model=FeedOut, status_code=201, summary='Make (or make again) your feed')
def create_feed(request: Request, session: DB, actor: BrowserOrApiActor) -> Any:
    """A new secret URL for your calendar; an earlier URL stops working. Keep it private: it needs no password."""
    path = services.create_feed(session=session, actor=actor)
    status = services.feed_status(session=session, actor=actor)
    return FeedOut(exists=True, created_at=status.created_at, url=str(request.base_url).rstrip('/') + path)


@router.delete('/calendar-feed', status_code=204, summary='Revoke your calendar feed')
def revoke_feed(session: DB, actor: BrowserOrApiActor) -> Response:
    """The feed URL stops working."""
    services.revoke_feed(session=session, actor=actor)
    return Response(status_code=204)


@router.get(
    '/calendar/{token}.ics',
    summary='A calendar feed (no sign-in: the secret is in the URL)',
    response_class=Response,
    responses={200: {'content': {'text/calendar': {}}}},
)
def calendar_feed(token: str, request: Request, session: DB) -> Response:
    """Open tasks with due dates assigned to the feed's owner, in projects they can still see."""
    text = services.render_feed(session=session, token=token, site_url=str(request.base_url).rstrip('/'))
    if text is None:
        raise NotFound(N_('This calendar feed does not exist or was revoked.'))
    return Response(
        text.encode(),
        media_type='text/calendar; charset=utf-8',
        headers={
            'Cache-Control': 'private, max-age=300',
            'Content-Disposition': 'inline; filename="enclave-tasks.ics"',
        },
    )
