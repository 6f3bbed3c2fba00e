"""The shared layout: header (organisation, search, user menu), navigation from the registry, content."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from html import escape
from pathlib import Path
from typing import Any

from nicegui import context, ui
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.errors import N_
from appliance.extensions import BANNERS
from appliance.i18n import _
from appliance.modules import NAV_GROUPS, current_registry
from appliance.ui.actions import in_session
from appliance.ui.guard import PageContext, sign_out
from appliance.ui.markdown_view import MARKDOWN_CSS
from appliance.ui.upload import PICKER_CSS, UPLOAD_JS

log = logging.getLogger('enclave.ui')

BANNER_STYLES = {
    'red': ('bg-red-100 text-red-900', 'error'),
    'amber': ('bg-amber-100 text-amber-900', 'warning'),
    'info': ('bg-blue-50 text-blue-900', 'info'),
}


GROUP_LABELS = {'admin': N_('Administration'), 'maintenance': N_('Maintenance')}


def nav_items(permissions: Collection[str]) -> list[tuple[str, str, str, str]]:
    """(label, path, icon, group) for every nav entry a reader with `permissions` may use: daily work first (Home,
    then the modules' entries in module order), then Administration, then Maintenance."""
    items = [(_('Home'), '/', 'home', 'work')]
    for group in NAV_GROUPS:
        for spec in current_registry().modules():
            items.extend(
                (_(item.label), item.path, item.icon, group)
                for item in spec.nav
                if item.group == group and item.permission in permissions
            )
    return items


@functools.lru_cache(maxsize=256)
def nav_paths(permissions: frozenset[str]) -> tuple[str, ...]:
    """The paths of the nav entries a reader with `permissions` sees (for `current_entry`, on every page)."""
    return tuple(path for _label, path, _icon, _group in nav_items(permissions))


def current_entry(paths: Collection[str], path: str) -> str:
    """The nav entry a page at `path` belongs to: the longest entry path it lies under ('/' only for home)."""
    under = [p for p in paths if p == path or (p != '/' and path.startswith(p.rstrip('/') + '/'))]
    return max(under, key=len, default='')


@functools.lru_cache(maxsize=512)
def nav_html(language: str, permissions: frozenset[str], current: str = '') -> tuple[str, tuple[str, ...]]:
    """The navigation as HTML, and its links' markers (`nav:<path>`), for one language, set of permissions and
    current entry (marked `aria-current`; its group starts open, the others closed).

    Daily work comes first as plain links; Administration and Maintenance follow as groups a reader opens and
    closes (`<details>`: no script, no round trip). Made once per language, role and entry: every page shows it,
    and one element holding plain links costs a tenth of one element per link. Labels, paths and icons come from
    the modules' declarations and the translation catalogs, and are escaped all the same.
    """
    items = nav_items(permissions)

    def link(label: str, path: str, icon: str) -> str:
        here = ' aria-current="page"' if path == current else ''
        return f'<a href="{escape(path)}" data-icon="{escape(icon)}" class="nicegui-link"{here}>{escape(label)}</a>'

    parts = [link(label, path, icon) for label, path, icon, group in items if group == 'work']
    for group, title in GROUP_LABELS.items():
        links = [(label, path, icon) for label, path, icon, in_group in items if in_group == group]
        if not links:
            continue
        is_open = ' open' if any(path == current for _label, path, _icon in links) else ''
        parts.append(
            f'<details class="enclave-nav-group" data-group="{group}"{is_open}><summary>{escape(_(title))}</summary>'
            + ''.join(link(*entry) for entry in links)
            + '</details>'
        )
    return ''.join(parts), tuple(f'nav:{path}' for _label, path, _icon, _group in items)


BELL_REFRESH_SECONDS = 60.0
HEADER_JS = Path(__file__).resolve().parent.parent / 'static' / 'frame_header.js'
NAV_CSS = """<style>
body { font-family: Roboto, -apple-system, "Helvetica Neue", Helvetica, Arial, "PingFang SC", "Hiragino Sans GB",
  "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; }
.q-btn.q-btn { text-transform: none; }
.enclave-nav a { display: flex; align-items: center; gap: 16px; min-height: 44px; padding: 0 16px;
  color: inherit; text-decoration: none; }
.enclave-nav a:hover, .enclave-nav a:focus-visible { background: rgba(0, 0, 0, 0.05); }
.enclave-nav a[aria-current=page] { background: rgba(25, 118, 210, 0.1); color: #1565c0; font-weight: 500; }
.enclave-nav-group { border-top: 1px solid rgba(0, 0, 0, 0.12); margin-top: 8px; padding-top: 8px; }
.enclave-nav-group summary { display: flex; align-items: center; min-height: 40px; padding: 0 16px; cursor: pointer;
  font-size: 0.8rem; font-weight: 500; letter-spacing: 0.03em; color: #616161; list-style: none; }
.enclave-nav-group summary::-webkit-details-marker { display: none; }
.enclave-nav-group summary::after { content: 'expand_more'; font-family: 'Material Icons'; font-size: 20px;
  margin-left: auto; font-feature-settings: 'liga'; transition: transform 0.2s; }
.enclave-nav-group[open] summary::after { transform: rotate(180deg); }
.enclave-nav a::before { content: attr(data-icon); font-family: 'Material Icons'; font-size: 24px; width: 24px;
  line-height: 1; color: #616161; font-feature-settings: 'liga'; -webkit-font-smoothing: antialiased; }
.enclave-icon::before { content: attr(data-icon); font-family: 'Material Icons'; font-size: 1rem; line-height: 1;
  font-feature-settings: 'liga'; -webkit-font-smoothing: antialiased; }
</style>"""
"""The font stack and the navigation's look, added once to every page's head (`install`). No font is loaded from
anywhere: Latin text in Quasar's Roboto (served by NiceGUI) or the system's, Chinese in the system's CJK font, named
for macOS, Windows and Linux (without them, a browser may pick a Japanese face for Chinese text). Buttons say
their words as written (Quasar upper-cases them: "ADD" beside "Set parent"). `enclave-icon`
gives any element with a `data-icon` prop that Material icon before its text (one element instead of three for a
link with an icon)."""


def install() -> None:
    """What the frame needs on every page, added once per process (each test builds the app again): the
    navigation's look, and the quick escaping of a new page's elements (appliance/ui/nicegui_escape.py)."""
    from nicegui import Client

    from appliance.ui import nicegui_escape

    nicegui_escape.apply()
    nav_html.cache_clear()  # the registry may be another one (each test builds the app again)
    nav_paths.cache_clear()
    if NAV_CSS not in Client.shared_head_html:
        ui.add_head_html(NAV_CSS, shared=True)
        ui.add_head_html(MARKDOWN_CSS, shared=True)
        ui.add_head_html(PICKER_CSS, shared=True)
        ui.add_head_html(UPLOAD_JS, shared=True)


async def _unread(user_id: int) -> int:
    from appliance.models import User
    from appliance.services.notifications import unread_count

    def count(session: Session) -> int:
        user = session.get(User, user_id)
        return unread_count(session, user=user) if user is not None else 0

    return await in_session(count)


SEARCH_CLASSES = (
    'w-full rounded border border-white/40 bg-white/10 px-3 py-1.5 text-white placeholder:text-white/70 '
    'focus:bg-white/20 focus:outline-none'
)


class FrameHeader(ui.element, component=HEADER_JS):
    """The header's contents as one element (static/frame_header.js): the menu button, the organisation's name (a link
    home), the search form, the notifications bell with the unread count as a badge, and the account menu.

    One element drawn from plain props instead of a dozen NiceGUI elements with their handlers: the frame is on
    every page, and those elements were about a sixth of the board page's CPU. The bell's count comes fresh with
    the page (`ctx.unread`); while the page stays open the browser asks for it again every BELL_REFRESH_SECONDS
    ('refresh'), and a client that asks more often than that is not answered (each answer reads the database).
    """

    def __init__(self, ctx: PageContext, drawer: ui.element) -> None:
        super().__init__()
        self.user_id = ctx.user.id
        self.refreshed = time.monotonic()
        self._props.update(
            org=ctx.org_name,
            name=ctx.user.display_name,
            unread=ctx.unread,
            every=BELL_REFRESH_SECONDS,
            drawer=drawer.id,
            menuLabel=_('Menu'),
            searchLabel=_('Search') if 'core.search' in ctx.permissions else '',
            searchClasses=SEARCH_CLASSES,
            bellLabel=_('Notifications'),
            accountLabel=_('Account menu'),
            profileLabel=_('Profile'),
            signOutLabel=_('Sign out'),
        )
        self.classes('w-full')
        self.on('sign-out', sign_out)
        self.on('refresh', self.refresh)

    async def refresh(self) -> None:
        """The unread count again (at most once per BELL_REFRESH_SECONDS, whatever the client sends)."""
        now = time.monotonic()
        if now - self.refreshed < BELL_REFRESH_SECONDS * 0.9:
            return
        self.refreshed = now
        try:
            fresh = await _unread(self.user_id)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the last count; the next page load shows it
            return
        if fresh != self._props['unread']:
            self._props['unread'] = fresh
            self.update()

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        """What a reader sees (for NiceGUI's test user): the organisation, the unread count, the person's name."""
        unread = self._props['unread']
        shown = [self._props['org'], self._props['name']]
        return [*shown, str(unread) if unread < 100 else '99+'] if unread > 0 else shown


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


def nav_drawer() -> ui.element:
    """Quasar's drawer for the navigation, left of the page, left to Quasar to open: beside the page from 800 px
    on, closed below (a phone), where the header's menu button opens it over the page and a tap beside it closes it.

    A plain q-drawer rather than NiceGUI's `ui.left_drawer`, whose value is either fixed by the server (open on
    every load, also over a phone's page) or, left to Quasar, asked of the browser by a round trip after every
    connection. Placed in the page layout as `ui.left_drawer` places itself (before the page container, fixed).
    """
    client = context.client
    with client.layout:
        drawer = ui.element('q-drawer').classes('nicegui-drawer p-0')
    drawer._props.update({'side': 'left', 'show-if-above': True, 'width': 220, 'breakpoint': 800, 'bordered': True})
    view = list(client.layout.props['view'])
    view[4] = 'L'  # the left drawer is fixed (does not scroll with the page)
    client.layout.props['view'] = ''.join(view)
    drawer.move(target_index=client.layout.default_slot.children.index(client.page_container))
    return drawer


@contextmanager
def frame(ctx: PageContext, title: str) -> Iterator[None]:
    """Wrap a page's content in the shared layout."""
    ui.page_title(f'{title} · {ctx.org_name}')
    drawer = nav_drawer()
    with drawer:
        # Plain links (their icons drawn by NAV_CSS) in one element, made once per language and role: no event
        # handler, and no element per link; the frame is on every page. Each link's marker is on the element.
        permissions = frozenset(ctx.permissions)
        request = context.client.request
        path = request.url.path if request is not None else ''
        current = current_entry(nav_paths(permissions), path) if path else ''
        links, markers = nav_html(i18n.language(), permissions, current)
        ui.html(links, sanitize=False, tag='nav').classes('enclave-nav w-full py-2').mark(*markers)
    with ui.header().classes('items-center px-3 py-1 bg-slate-800'):
        FrameHeader(ctx, drawer).mark('frame-header')
    with ui.column().classes('w-full max-w-6xl mx-auto p-4 gap-4'):
        show_banners(ctx)
        ui.label(title).classes('text-2xl font-medium')
        yield
