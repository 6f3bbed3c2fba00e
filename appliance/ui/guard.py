"""Page guards: setup first, then a live session, then the page's permission.

`protected_page` wraps `ui.page`. It resolves the session cookie, remembers the session in the client's
storage so that event handlers can re-check it (`current_actor`), and sets the reader's language.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from nicegui import app, ui
from nicegui.language import Language
from sqlalchemy.orm import Session

from appliance import context, i18n
from appliance.db import run_db
from appliance.errors import N_, NotAuthenticated
from appliance.models import User
from appliance.services import accounts, audit, auth, orgsettings
from appliance.services.permissions import has_permission
from appliance.ui.actions import in_session, read_now
from appliance.web.failures import page_html
from appliance.web.sessions import COOKIE

HTML_LANG: dict[str, Language] = {'en': 'en-US', 'zh_CN': 'zh-CN'}
PAGE_TIMEOUT_SECONDS = 20.0
"""How long a page may take to build before NiceGUI answers with an error instead (its default is 3 s)."""


@dataclass
class PageContext:
    """What a page knows about its reader."""

    user: User
    session_id: int
    org_name: str
    permissions: set[str]
    query: dict[str, str]
    unread: int = 0
    """Unread notifications when the page was opened (the bell's badge)."""
    banners: list[tuple[str, str, str]] = field(default_factory=list)
    """(level, text, href) of the banners shown above the page's title."""


def _client_setting(key: str) -> str | None:
    """A text this browser tab's guard stored (its language or time zone), or None outside a client context."""
    try:
        value = app.storage.client.get(key)
        return value if isinstance(value, str) else None
    except (RuntimeError, AttributeError):  # outside a client context
        return None


i18n.language_resolver = lambda: _client_setting('lang')
i18n.timezone_resolver = lambda: _client_setting('timezone')


def setup_language(request: Request, user: User | None = None) -> str:
    """Use the user's language, else the browser's; remember it for this client's event handlers."""
    lang = user.language if user else i18n.negotiate(request.headers.get('accept-language'))
    app.storage.client['lang'] = lang
    i18n.current_language.set(lang)
    # Quasar's own strings (tables, dates) and <html lang> follow the reader. NiceGUI sets both from the page,
    # which all clients share, so this client gets its own copy of the page with the language changed.
    client = ui.context.client
    page = copy.copy(client.page)
    page.language = HTML_LANG.get(lang, 'en-US')
    client.page = page
    return lang


def error_page(lang: str, *, status: int, title: str, text: str, back_href: str = '/', back: str = '') -> Response:
    """A plain error page in the reader's language (messages are msgids, translated here)."""
    token = i18n.current_language.set(lang)
    try:
        parts = [i18n.gettext(title), i18n.gettext(text), i18n.gettext(back or N_('Back to the home page'))]
    finally:
        i18n.current_language.reset(token)
    title, text, back = parts
    return HTMLResponse(page_html(lang, title=title, message=text, back=back, back_href=back_href), status_code=status)


def forbidden_response(lang: str) -> Response:
    """A plain 403 page in the reader's language."""
    text = N_('You do not have permission to open this page. Ask your administrator if you need it.')
    return error_page(lang, status=403, title=N_('Not allowed'), text=text)


def not_found_response(lang: str, text: str, *, back_href: str = '/', back: str = '') -> Response:
    """A plain 404 page in the reader's language; `text` should not say whether the thing exists."""
    return error_page(lang, status=404, title=N_('Not found'), text=text, back_href=back_href, back=back)


def path_int(name: str = 'id') -> int:
    """An integer path parameter of the page being built (0 when malformed: nothing has that id, so a 404)."""
    request = ui.context.client.request
    value = str(request.path_params.get(name, '')) if request is not None else ''
    return int(value) if value.isdigit() and len(value) < 12 else 0


@dataclass
class _Found:
    ctx: PageContext
    denied: bool
    enrol_2fa: bool


def _page_context(request: Request, path: str, permission: str | None) -> _Found | Response:
    """On a database thread: the reader behind the cookie and all the page's frame needs (one read snapshot, then
    the banners), or the redirect to setup or sign-in. A refused permission is audited here too."""
    from appliance.services.notifications import unread_count
    from appliance.services.permissions import permissions_of

    def reader(session: Session) -> tuple[Any, dict[str, str], int] | Response:
        login = auth.resolve_session(session=session, token=request.cookies.get(COOKIE, ''))
        # A live session means setup is done: the check costs a query only for those without one.
        if login is None and accounts.setup_required(session):
            return RedirectResponse('/setup', status_code=303)
        if login is None:
            target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
            return RedirectResponse(f'/login?next={quote(target)}', status_code=303)
        return login, orgsettings.all_settings(session), unread_count(session, user=login.user)

    found = read_now(reader)
    if isinstance(found, Response):
        return found
    login, settings, unread = found
    user = login.user
    # The reader's language for what the banners say (the page sets it on the loop again for itself).
    i18n.current_language.set(user.language)
    ctx = PageContext(
        user=user,
        session_id=login.id,
        org_name=settings['org_name'],
        permissions=permissions_of(user),
        query=dict(request.query_params),
        unread=unread,
    )
    denied = bool(permission) and not has_permission(user, permission or '')
    if denied:
        audit.record_now(actor=user, action='permission.denied', target=path, details={'permission': permission})
    else:
        from appliance.ui.frame import banners

        ctx.banners = banners(ctx)
    enrol = settings['require_2fa'] == '1' and not user.totp_enabled and path != '/profile'
    return _Found(ctx=ctx, denied=denied, enrol_2fa=enrol)


PAGES: dict[str, str | None] = {}
"""Every page registered with `protected_page`: its path and the permission it needs (the visual e2e pass walks them
all: tests/e2e/test_visual_pass.py)."""


def protected_page(path: str, *, permission: str | None = None, title: str = '') -> Callable[..., Any]:
    """Register a page that needs a signed-in user (and `permission`, when given)."""
    PAGES[path] = permission

    def decorator(build: Callable[[PageContext], Any]) -> Callable[..., Any]:
        # A page waits for its database reads on a thread; under load that may queue longer than NiceGUI's 3 s.
        @ui.page(path, title=title or 'Enclave', response_timeout=PAGE_TIMEOUT_SECONDS)
        async def page(request: Request) -> Any:
            context.client_ip.set(request.client.host if request.client else '')
            found = await run_db(_page_context, request, path, permission)
            if isinstance(found, Response):
                return found
            ctx, lang = found.ctx, found.ctx.user.language
            setup_language(request, ctx.user)
            if found.denied:
                return forbidden_response(lang)
            if found.enrol_2fa:
                return RedirectResponse('/profile?enrol2fa=1', status_code=303)
            app.storage.client['session_token'] = request.cookies.get(COOKIE, '')
            # Times on the page and in its event handlers are in the reader's own zone (their profile's).
            app.storage.client['timezone'] = ctx.user.timezone
            i18n.current_timezone.set(ctx.user.timezone)
            result = build(ctx)
            if hasattr(result, '__await__'):
                result = await result
            return result

        return page

    return decorator


def session_token() -> str:
    """The session token this client's page was built for (read on the event loop, where the client is)."""
    token = app.storage.client.get('session_token', '')
    return token if isinstance(token, str) else ''


def actor_for(token: str) -> User:
    """The user of a live session (on a database thread); raises NotAuthenticated when it ended."""
    login = read_now(lambda session: auth.resolve_session(session=session, token=token))
    if login is None:
        raise NotAuthenticated(N_('Your session has ended. Sign in again.'))
    user: User = login.user
    return user


async def current_actor() -> User:
    """Re-check this client's session inside an event handler; raises NotAuthenticated when it ended."""
    return await run_db(actor_for, session_token())


async def sign_out() -> None:
    """End this client's session on the server, then let the browser drop the cookie and sign in again."""
    token = session_token()
    if token:
        await in_session(lambda session: auth.logout(session=session, token=token), write=True)
    app.storage.client['session_token'] = ''
    ui.navigate.to('/auth/signed-out')


async def current_session_id() -> int | None:
    """The id of this client's session, if it is still live."""
    token = session_token()

    def session_id(session: Session) -> int | None:
        login = auth.resolve_session(session=session, token=token)
        return login.id if login else None

    return await in_session(session_id)
