"""The last word on an unexpected error: never Starlette's text/plain "Internal Server Error".

Under /api/ every unhandled exception answers with the error shape {"error": {"code", "message"}}; elsewhere a
small page that says what happened. A lock that could not be had answers 503 with Retry-After, a full disk 507
(`appliance.errors.infrastructure_error` decides which), anything else 500. Each is logged once here, a bug with its
traceback, and is not raised further (the server would log it a second time).
"""

from __future__ import annotations

import logging
from html import escape

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance import i18n
from appliance.errors import N_, Busy, ServiceError, infrastructure_error

log = logging.getLogger('enclave.web')

INTERNAL = N_(
    'Something went wrong on the server. It was logged; try again, and tell your administrator if it happens again.'
)
TOO_LARGE_NUMBER = N_('A number in the request is too large.')
CUT_SHORT = N_('The request ended before its body was complete.')

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Enclave: {title}</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em">
<h1>{title}</h1><p>{message}</p><p><a href="{back_href}">{back}</a></p></body></html>"""


def page_html(lang: str, *, title: str, message: str, back: str, back_href: str = '/') -> str:
    """The one plain error page (no scripts, nothing from another host); every part is escaped here."""
    return PAGE.format(
        lang=escape(lang.replace('_', '-')),
        title=escape(title),
        message=escape(message),
        back=escape(back),
        back_href=escape(back_href),
    )


def _language(scope: Scope) -> str:
    for name, value in scope.get('headers', []):
        if name == b'accept-language':
            return i18n.negotiate(value.decode('latin-1'))
    return i18n.negotiate(None)


def _mapped(error: BaseException) -> ServiceError:
    known = infrastructure_error(error)
    if known is not None:
        return known
    if isinstance(error, OverflowError):
        # An id or number beyond 64 bits that reached the database driver: bad input, not a server fault.
        mapped = ServiceError(TOO_LARGE_NUMBER)
        mapped.code, mapped.status = 'invalid', 422
        return mapped
    mapped = ServiceError(INTERNAL)
    mapped.code, mapped.status = 'internal', 500
    return mapped


def _log(scope: Scope, error: BaseException, mapped: ServiceError) -> None:
    where = f'{scope.get("method", "")} {scope.get("path", "")}'
    if mapped.status == 500:
        log.error('Unhandled error on %s', where, exc_info=error)
    else:
        log.warning('%s on %s: %s', mapped.code, where, error)


def error_body(scope: Scope, mapped: ServiceError) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The response body and headers for `mapped`: JSON under /api/, a page elsewhere, in the reader's language."""
    import json

    token = i18n.current_language.set(_language(scope))
    try:
        message = i18n.translate_error(mapped)
        if scope.get('path', '').startswith('/api/'):
            body = json.dumps({'error': {'code': mapped.code, 'message': message}}, ensure_ascii=False).encode()
            headers = [(b'content-type', b'application/json')]
        else:
            title = i18n.gettext(N_('Something went wrong'))
            home = i18n.gettext(N_('Back to the start page'))
            lang = i18n.language()
            body = page_html(lang, title=title, message=message, back=home).encode()
            headers = [(b'content-type', b'text/html; charset=utf-8')]
    finally:
        i18n.current_language.reset(token)
    headers.append((b'cache-control', b'no-store'))
    if isinstance(mapped, Busy):
        headers.append((b'retry-after', str(mapped.retry_after).encode()))
    return body, headers


class FailureMiddleware:
    """Turns any exception that escaped the routes and handlers into the answer described above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message['type'] == 'http.response.start':
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client went away mid-body (an upload cancelled): nothing wrong with the server. The answer reaches
            # nobody, but the middlewares outside expect one.
            log.info('%s %s: the client disconnected before the request was complete', scope['method'], scope['path'])
            if not started:
                mapped = ServiceError(CUT_SHORT)
                mapped.code, mapped.status = 'bad_request', 400
                await _answer(scope, send, mapped)
            return
        except Exception as error:  # noqa: BLE001 - this is the one place that answers for every error
            mapped = _mapped(error)
            _log(scope, error, mapped)
            if started:
                return  # half a response is out: the server closes the connection, the client sees it cut
            await _answer(scope, send, mapped)


async def _answer(scope: Scope, send: Send, mapped: ServiceError) -> None:
    body, headers = error_body(scope, mapped)
    headers.append((b'content-length', str(len(body)).encode()))
    await send({'type': 'http.response.start', 'status': mapped.status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
