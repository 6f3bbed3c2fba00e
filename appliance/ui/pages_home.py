"""The home dashboard and the global search results page."""

from __future__ import annotations

from urllib.parse import quote

from nicegui import ui

from appliance.errors import ServiceError
from appliance.i18n import _, translate_error
from appliance.modules import current_registry
from appliance.search import global_search
from appliance.ui.actions import read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page


def register() -> None:
    """Register / and /search."""

    @protected_page('/')
    def home(ctx: PageContext) -> None:
        with frame(ctx, _('Home')):
            ui.label(_('Welcome, {name}.', name=ctx.user.display_name)).mark('welcome')
            cards = [card for spec in current_registry().modules() for card in spec.dashboard_cards]
            with ui.row().classes('w-full gap-4'):
                for card in cards:
                    card(ctx)
                if not cards:
                    with ui.card().classes('w-full'):
                        ui.label(_('Nothing to show yet. Modules add their cards here.')).classes('text-gray-600')

    @protected_page('/search', permission='core.search')
    async def search_page(ctx: PageContext) -> None:
        q = ctx.query.get('q', '')
        with frame(ctx, _('Search')):
            box = ui.input(_('Search'), value=q).classes('w-full max-w-xl').mark('search-query')
            box.on('keydown.enter', lambda: ui.navigate.to(f'/search?q={quote(box.value or "")}'))
            if not q.strip():
                ui.label(_('Type something to search for.'))
                return
            try:
                hits = await read(ctx.user, lambda s, a: global_search(session=s, actor=a, query=q))
            except ServiceError as error:
                ui.label(translate_error(error)).classes('text-negative')
                return
            if not hits:
                ui.label(_('Nothing found for "{q}".', q=q)).mark('no-results')
            with ui.list().classes('w-full').props('separator'):
                for hit in hits:
                    with ui.item(on_click=lambda url=hit.url: ui.navigate.to(url)).props('clickable').mark('hit'):
                        with ui.item_section():
                            ui.item_label(hit.title)
                            if hit.snippet:
                                ui.item_label(hit.snippet).props('caption')
