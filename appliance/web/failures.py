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

NO_PAGE = N_('There is no page at this address. Check the link, or start again from the home page.')

# The frame's look without its scripts: the header bar, the page's title, the message and a way back. It is also
# what a box shows when the app itself is in trouble, so it needs nothing but itself (no script, no font, no file).
PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Enclave</title>
<style>
body {{ margin: 0; color: #1f2937; background: #fff; font-family: Roboto, -apple-system, "Helvetica Neue", Helvetica,
  Arial, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }}
header {{ background: #1e293b; padding: 0 16px; height: 44px; display: flex; align-items: center; }}
header a {{ color: #fff; font-size: 1.125rem; font-weight: 500; text-decoration: none; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 24px 16px; }}
h1 {{ font-size: 1.5rem; font-weight: 500; margin: 8px 0 16px; }}
p {{ line-height: 1.5; }}
.back {{ display: inline-block; margin-top: 8px; padding: 8px 16px; border-radius: 4px; background: #1976d2;
  color: #fff; text-decoration: none; font-weight: 500; }}
</style></head>
<body><header><a href="/">Enclave</a></header>
<main><h1>{title}</h1><p>{message}</p><p><a class="back" href="{back_href}">{back}</a></p></main></body></html>"""


def page_html(lang: str, *, title: str, message: str, back: str, back_href: str = '/') -> str:
    """The one plain error page (no scripts, nothing from another host); every part is escaped here."""
    return PAGE.format(
        lang=escape(lang.replace('_', '-')),
        title=escape(title),
        message=escape(message),
        back=escape(back),
        back_href=escape(back_href),
    )


def not_found_page(scope: Scope, *, language: str | None = None) -> tuple[bytes, str]:
    """The page for an address where nothing is (in `language`, else the browser's) as (body, language)."""
    lang = language or _language(scope)
    token = i18n.current_language.set(lang)
    try:
        title, message, back = (i18n.gettext(text) for text in (N_('Not found'), NO_PAGE, N_('Back to the home page')))
    finally:
        i18n.current_language.reset(token)
    return page_html(lang, title=title, message=message, back=back).encode(), lang


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
