"""The session cookie: set after a ticket exchange, read on every page, cleared at logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from appliance.api.deps import Router
from appliance.config import get_settings
from appliance.db import get_database
from appliance.errors import ServiceError
from appliance.models import LoginSession
from appliance.services import auth
from appliance.web.security import safe_next

COOKIE = 'enclave_session'

router = Router(include_in_schema=False)


def client_ip(request: Request) -> str:
    """The peer address (nginx in the image passes the real one through the proxy headers uvicorn trusts)."""
    return request.client.host if request.client else ''


def set_session_cookie(response: Response, token: str) -> None:
    """HttpOnly, SameSite=Lax, and Secure when served over TLS."""
    settings = get_settings()
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite='lax',
        secure=settings.https,
        path='/',
        max_age=settings.session_max_hours * 3600,
    )


def session_from_request(request: Request) -> LoginSession | None:
    """The live session behind the request's cookie, or None."""
    token = request.cookies.get(COOKIE, '')
    if not token:
        return None
    with get_database().session(write=False) as session:
        return auth.resolve_session(session=session, token=token)


@router.get('/auth/session')
def exchange(request: Request, ticket: str = '', next: str = '/') -> Response:  # noqa: A002 - the query name
    """Exchange a one-time login ticket for the session cookie, then go to `next` (local paths only)."""
    try:
        with get_database().session(write=True) as session:
            new = auth.exchange_ticket(
                session=session, ticket=ticket, ip=client_ip(request), user_agent=request.headers.get('user-agent', '')
            )
    except ServiceError:
        return RedirectResponse('/login?expired=1', status_code=303)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, new.token)
    return response


@router.get('/auth/signed-out')
def signed_out(request: Request) -> Response:
    """Forget the cookie of a session that already ended (the UI ends it first). A live session is left alone,
    so a link to this page from another site signs nobody out."""
    if session_from_request(request) is not None:
        return RedirectResponse('/', status_code=303)
    response = RedirectResponse('/login', status_code=303)
    response.delete_cookie(COOKIE, path='/')
    return response


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from a page of another site."""
    origin = request.headers.get('origin')
    return origin is None or urlsplit(origin).netloc == request.headers.get('host', '')


@router.post('/auth/logout')
def logout(request: Request) -> Response:
    """End the session (if any) and clear the cookie. POST only, same origin only: no sign-out by a link."""
    if not same_origin(request):
        return Response('Cross-site request refused.', status_code=403, media_type='text/plain')
    token = request.cookies.get(COOKIE, '')
    if token:
        with get_database().session(write=True) as session:
            auth.logout(session=session, token=token)
    response = RedirectResponse('/login', status_code=303)
    response.delete_cookie(COOKIE, path='/')
    return response
