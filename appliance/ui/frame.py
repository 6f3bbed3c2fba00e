"""The shared layout: header (organisation, search, user menu), navigation from the registry, content."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from html import escape

from nicegui import ui
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.extensions import BANNERS
from appliance.i18n import _
from appliance.modules import current_registry
from appliance.ui.actions import in_session
from appliance.ui.guard import PageContext, sign_out

log = logging.getLogger('enclave.ui')

BANNER_STYLES = {
    'red': ('bg-red-100 text-red-900', 'error'),
    'amber': ('bg-amber-100 text-amber-900', 'warning'),
    'info': ('bg-blue-50 text-blue-900', 'info'),
}


def nav_items(permissions: Collection[str]) -> list[tuple[str, str, str]]:
    """(label, path, icon) for every nav entry a reader with `permissions` may use, in module order."""
    items = [(_('Home'), '/', 'home')]
    for spec in current_registry().modules():
        items.extend((_(item.label), item.path, item.icon) for item in spec.nav if item.permission in permissions)
    return items


@functools.lru_cache(maxsize=256)
def nav_html(language: str, permissions: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The navigation's links as HTML, and their markers (`nav:<path>`), for one language and set of permissions.

    Made once per language and role (the cache is emptied when the app is built again, `install`): every page shows
    it, and one element holding plain links costs a tenth of one element per link. Labels, paths and icons come
    from the modules' declarations and the translation catalogs, and are escaped all the same.
    """
    items = nav_items(permissions)
    links = ''.join(
        f'<a href="{escape(path)}" data-icon="{escape(icon)}" class="nicegui-link">{escape(label)}</a>'
        for label, path, icon in items
    )
    return links, tuple(f'nav:{path}' for _label, path, _icon in items)


BELL_REFRESH_SECONDS = 60.0
NAV_CSS = """<style>
.enclave-nav a { display: flex; align-items: center; gap: 16px; min-height: 44px; padding: 0 16px;
  color: inherit; text-decoration: none; }
.enclave-nav a:hover, .enclave-nav a:focus-visible { background: rgba(0, 0, 0, 0.05); }
.enclave-nav a::before { content: attr(data-icon); font-family: 'Material Icons'; font-size: 24px; width: 24px;
  line-height: 1; color: #616161; font-feature-settings: 'liga'; -webkit-font-smoothing: antialiased; }
.enclave-icon::before { content: attr(data-icon); font-family: 'Material Icons'; font-size: 1rem; line-height: 1;
  font-feature-settings: 'liga'; -webkit-font-smoothing: antialiased; }
</style>"""
"""The navigation's look, added once to every page's head (`install`); `enclave-icon` gives any element with a
`data-icon` prop that Material icon before its text (one element instead of three for a link with an icon)."""


def install() -> None:
    """What the frame needs on every page, added once per process (each test builds the app again): the
    navigation's look, and the quick escaping of a new page's elements (appliance/ui/nicegui_escape.py)."""
    from nicegui import Client

    from appliance.ui import nicegui_escape

    nicegui_escape.apply()
    nav_html.cache_clear()  # the registry may be another one (each test builds the app again)
    if NAV_CSS not in Client.shared_head_html:
        ui.add_head_html(NAV_CSS, shared=True)


async def _unread(user_id: int) -> int:
    from appliance.models import User
    from appliance.services.notifications import unread_count

    def count(session: Session) -> int:
        user = session.get(User, user_id)
        return unread_count(session, user=user) if user is not None else 0

    return await in_session(count)


def notifications_bell(ctx: PageContext) -> None:
    """The bell in the header: the unread count as a badge (refreshed every minute); a click opens the list."""
    label = _('Notifications')
    count = ctx.unread
    with (
        ui.button(icon='notifications', on_click=lambda: ui.navigate.to('/notifications'))
        .props(f'flat color=white dense round aria-label="{label}"')
        .mark('notifications-bell')
    ):
        badge = ui.badge(str(count) if count < 100 else '99+', color='red').props('floating').mark('unread-count')
        badge.set_visibility(count > 0)

    async def refresh() -> None:
        try:
            fresh = await _unread(ctx.user.id)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the last count; the next page load shows it
            return
        badge.set_text(str(fresh) if fresh < 100 else '99+')
        badge.set_visibility(fresh > 0)

    # Not immediate: the count is fresh from the page's own read; and a timer that starts at once waits for the
    # browser's connection, which makes NiceGUI send the page before the rest of it is built.
    ui.timer(BELL_REFRESH_SECONDS, refresh, immediate=False)


def banners(ctx: PageContext) -> list[tuple[str, str, str]]:
    """(level, text, href) from every callable contributed to 'core.banners', called with the page's context.

    Called by the page guard on a database thread, so a contributor may read the database (its own read-only
    session). It decides who sees what and must be cheap: it runs on every page. One that fails is left out.
    """
    found: list[tuple[str, str, str]] = []
    for contribute in current_registry().contributions(BANNERS):
        try:
            found.extend((str(level), str(text), str(href)) for level, text, href in contribute(ctx))
        except Exception:  # a broken banner must not break every page
            log.warning('banner contribution %r failed', contribute, exc_info=True)
    return found


def show_banners(ctx: PageContext) -> None:
    """The banners for this reader, above the page's title; a local href makes the text a link."""
    from appliance.services.notifications import safe_local_url

    for level, text, href in ctx.banners:
        classes, icon = BANNER_STYLES.get(level, BANNER_STYLES['info'])
        with ui.row().classes(f'w-full items-center gap-2 px-3 py-2 rounded {classes}').mark(f'banner-{level}'):
            ui.icon(icon)
            if href:
                ui.link(text, safe_local_url(href)).classes('font-medium text-inherit')
            else:
                ui.label(text).classes('font-medium')


SEARCH_CLASSES = (
    'w-full rounded border border-white/40 bg-white/10 px-3 py-1.5 text-white placeholder:text-white/70 '
    'focus:bg-white/20 focus:outline-none'
)


@functools.lru_cache(maxsize=8)
def search_box(label: str) -> str:
    """The header's search field as HTML (the label is a translation, escaped all the same)."""
    text = escape(label)
    return f'<input type="search" name="q" placeholder="{text}" aria-label="{text}" class="{SEARCH_CLASSES}">'


@contextmanager
def frame(ctx: PageContext, title: str) -> Iterator[None]:
    """Wrap a page's content in the shared layout."""
    ui.page_title(f'{title} · {ctx.org_name}')
    menu_label, search_label, account_label = _('Menu'), _('Search'), _('Account menu')
    with ui.left_drawer(value=True).props('width=220 breakpoint=800 bordered').classes('p-0') as drawer:
        # Plain links (their icons drawn by NAV_CSS) in one element, made once per language and role: no event
        # handler, and no element per link; the frame is on every page. Each link's marker is on the element.
        links, markers = nav_html(i18n.language(), frozenset(ctx.permissions))
        ui.html(links, sanitize=False, tag='nav').classes('enclave-nav w-full py-2').mark(*markers)
    with ui.header().classes('items-center gap-2 px-3 py-1 bg-slate-800'):
        ui.button(icon='menu', on_click=drawer.toggle).props('flat color=white dense').props(
            f'aria-label="{menu_label}"'
        )
        ui.link(ctx.org_name, '/').classes('text-white text-lg font-medium no-underline mr-auto truncate')
        if 'core.search' in ctx.permissions:
            # A plain GET form around a plain input (one element, no event handler: the browser submits it).
            ui.html(search_box(search_label), sanitize=False, tag='form').props(
                'action=/search method=get role=search'
            ).classes('max-w-xs grow').mark('global-search')
        notifications_bell(ctx)
        with (
            ui.button(icon='account_circle')
            .props(f'flat color=white dense aria-label="{account_label}"')
            .mark('user-menu')
        ):
            with ui.menu():
                ui.menu_item(ctx.user.display_name).props('disable')
                ui.menu_item(_('Profile'), on_click=lambda: ui.navigate.to('/profile'))
                ui.menu_item(_('Sign out'), on_click=sign_out).mark('logout')
    with ui.column().classes('w-full max-w-6xl mx-auto p-4 gap-4'):
        show_banners(ctx)
        ui.label(title).classes('text-2xl font-medium')
        yield
