"""The home page people start their day on (cards the modules contribute), and the global search results page."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nicegui import ui
from sqlalchemy.orm import Session

from appliance.errors import ServiceError
from appliance.i18n import _, translate_error, zone_info
from appliance.models import User
from appliance.modules import CardContent, DashboardCard, current_registry
from appliance.search import global_search
from appliance.services.notifications import safe_local_url
from appliance.ui.actions import read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page

log = logging.getLogger('enclave.ui')

HOME_CARD_JS = Path(__file__).resolve().parent.parent / 'static' / 'home_card.js'
GRID_STYLE = (
    'display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 320px), 1fr)); gap: 16px; '
    'align-items: start'
)


class HomeCard(ui.element, component=HOME_CARD_JS):
    """One card of the home page as one element (static/home_card.js), from a module's CardContent."""

    def __init__(self, content: CardContent) -> None:
        super().__init__()
        self.content = content
        # Tuples of plain dicts: NiceGUI leaves tuples in props alone (lists and dicts become observables).
        self._props.update(
            title=content.title,
            summary=content.summary,
            summaryTone=content.tone,
            href=safe_local_url(content.href) if content.href else '',
            more=content.more,
            empty=content.empty,
            lines=tuple(
                {
                    'text': line.text,
                    'href': safe_local_url(line.href) if line.href else '',
                    'caption': line.caption,
                    'tone': line.tone,
                    'progress': None if line.progress is None else min(max(float(line.progress), 0.0), 1.0),
                }
                for line in content.lines
            ),
        )

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        """What a reader sees (for NiceGUI's test user): the title, the sentence, every line and its caption."""
        content = self.content
        shown: list[Any] = [content.title, content.summary]
        for line in content.lines:
            shown.extend((line.text, line.caption))
        if not content.lines:
            shown.append(content.empty)
        return [text for text in shown if text]


def cards_for(permissions: set[str]) -> list[DashboardCard]:
    """The cards a reader with `permissions` is shown, in order."""
    cards = [card for spec in current_registry().modules() for card in spec.dashboard_cards]
    return sorted((c for c in cards if not c.permission or c.permission in permissions), key=lambda c: c.order)


def load_cards(session: Session, actor: User, cards: list[DashboardCard], today: date) -> list[tuple[str, CardContent]]:
    """(name, content) of every card that has something to show; one that fails is logged and left out."""
    shown = []
    for card in cards:
        try:
            content = card.load(session, actor, today)
        except Exception:  # a broken card must not break everyone's home page
            log.warning('home card %s failed', card.name, exc_info=True)
            session.rollback()  # a failed statement can spoil the transaction for the next card (PostgreSQL)
            continue
        if content is not None:
            shown.append((card.name, content))
    return shown


def register() -> None:
    """Register / and /search."""

    @protected_page('/')
    async def home(ctx: PageContext) -> None:
        cards = cards_for(ctx.permissions)
        today = datetime.now(zone_info(ctx.user.timezone or None)).date()
        shown = await read(ctx.user, lambda s, a: load_cards(s, a, cards, today)) if cards else []
        with frame(ctx, _('Home')):
            ui.label(_('Welcome, {name}.', name=ctx.user.display_name)).mark('welcome')
            with ui.element('div').classes('w-full').style(GRID_STYLE).mark('home-cards'):
                for name, content in shown:
                    HomeCard(content).mark(f'home-card:{name}')
            if not shown:
                ui.label(_('Nothing to show yet.')).classes('text-gray-600').mark('home-empty')

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
