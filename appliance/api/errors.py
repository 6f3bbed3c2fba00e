"""Every API error has the shape {"error": {"code": ..., "message": ...}} and the right status code."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from appliance import i18n
from appliance.errors import Busy, DiskFull, ServiceError, TooManyAttempts
from appliance.services import auth
from appliance.ui.actions import in_session
from appliance.web.failures import not_found_page
from appliance.web.sessions import COOKIE

STATUS_CODES = {
    400: 'bad_request',
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    409: 'conflict',
    413: 'too_large',
    422: 'invalid',
    429: 'throttled',
    503: 'busy',
    507: 'disk_full',
}
log = logging.getLogger('enclave.web')


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The one error body."""
    body: dict[str, Any] = {'error': {'code': code, 'message': message, **extra}}
    headers = {'WWW-Authenticate': 'Bearer'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _language(request: Request) -> str:
    return i18n.negotiate(request.headers.get('accept-language'))


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """A ServiceError from a service, in the caller's language."""
    assert isinstance(exc, ServiceError)
    if isinstance(exc, DiskFull):  # the admin must hear of it; a full disk is not a bug, so no traceback
        log.warning('disk_full on %s %s: %s', request.method, request.url.path, exc)
    token = i18n.current_language.set(_language(request))
    try:
        extra: dict[str, Any] = {}
        if getattr(exc, 'field', ''):
            extra['field'] = exc.field  # type: ignore[attr-defined]
        response = error_response(exc.status, exc.code, i18n.translate_error(exc), **extra)
        if isinstance(exc, (TooManyAttempts, Busy)):
            response.headers['Retry-After'] = str(exc.retry_after)
        return response
    finally:
        i18n.current_language.reset(token)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Malformed JSON or parameters: say which field and why."""
    assert isinstance(exc, RequestValidationError)
    details = [_detail(err) for err in exc.errors()]
    first = details[0] if details else {'field': '', 'message': 'invalid request'}
    message = f'{first["field"]}: {first["message"]}' if first['field'] else first['message']
    return error_response(422, 'invalid', message, field=first['field'], details=details)


def _detail(err: Any) -> dict[str, str]:
    if err.get('type') == 'json_invalid':  # its location is a character offset, not a field
        return {'field': '', 'message': 'The request body is not valid JSON.'}
    location = [str(part) for part in err.get('loc', ()) if part != 'body']
    return {'field': '.'.join(location), 'message': str(err.get('msg', ''))}


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own HTTP errors (unknown route, wrong method) in our shape under /api."""
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, STATUS_CODES.get(exc.status_code, 'error'), str(exc.detail))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, _api_or_default(app.exception_handlers.get(HTTPException)))
    # NiceGUI answers 404 with its HTML page through a handler keyed by the status code, which Starlette prefers
    # to the class handler above: wrap that one too, or an unknown /api/v1/ route answers in HTML.
    # Outside /api, an address where nothing is gets our own page (NiceGUI's says "HTTPException: 404: Not Found").
    app.add_exception_handler(404, _api_or_default(not_found))


async def not_found(request: Request, exc: Exception) -> HTMLResponse:
    """No page at this address: the plain error page with the way home, in the reader's language when signed in,
    else in the browser's."""
    body, _lang = not_found_page(request.scope, language=await _reader_language(request))
    return HTMLResponse(body, status_code=404)


async def _reader_language(request: Request) -> str | None:
    token = request.cookies.get(COOKIE, '')
    if not token:
        return None

    def read(session: Session) -> str | None:
        login = auth.resolve_session(session=session, token=token)
        return login.user.language if login is not None else None

    try:
        return await in_session(read)
    except Exception:  # the page is still worth showing, in the browser's language
        log.warning("could not read the reader's language for a 404 page", exc_info=True)
        return None


def _api_or_default(original: Callable[..., Any] | None) -> Callable[[Request, Exception], Awaitable[Any]]:
    """Our error shape under /api/, the original handler (if any) everywhere else."""

    async def api_or_default(request: Request, exc: Exception) -> Any:
        if request.url.path.startswith('/api/') or original is None:
            return await http_error(request, exc)
        result = original(request, exc)
        return await result if inspect.isawaitable(result) else result

    return api_or_default
