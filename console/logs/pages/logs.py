"""The console's log viewer (/console/logs): the app log, newest first, filtered and a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import run, ui

from appliance import i18n
from appliance.config import get_settings
from appliance.errors import ServiceError
from appliance.i18n import _, format_datetime
from appliance.logs import log_dir
from appliance.services.permissions import require
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from console.logs import services
from console.logs.pages.support import support_page

PERMISSION = 'console.manage'
PAGE_SIZE = 50
TIME_FORMATS = ('%Y-%m-%d %H:%M', '%Y-%m-%d')
LEVEL_COLORS = {'DEBUG': 'grey', 'INFO': 'blue-grey', 'WARNING': 'orange', 'ERROR': 'red', 'CRITICAL': 'purple'}


def register() -> None:
    """Register the logs and support bundle pages."""
    protected_page('/console/logs', permission=PERMISSION)(logs_page)
    protected_page('/console/support', permission=PERMISSION)(support_page)


def parse_time(value: str, timezone: str) -> datetime | None:
    """'YYYY-MM-DD HH:MM' or 'YYYY-MM-DD' in the reader's time zone; None when it is neither."""
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=ZoneInfo(timezone))
        except ValueError:
            continue
    return None


def _row(index: int, record: services.Record, timezone: str) -> dict[str, Any]:
    message = f'{record.message}\n{record.exc}' if record.exc else record.message
    return {
        'id': index,
        'time': format_datetime(record.time, timezone=timezone) if record.time else '',
        'level': record.level or _('(not a record)'),
        'logger': record.logger,
        'message': message,
    }


async def logs_page(ctx: PageContext) -> None:
    """The app log, newest first: filter by level (at least), time range and text; a page at a time."""
    await LogsPage(ctx).build()


class LogsPage:
    """One reader's log viewer: the filter bar and the table of one page of records."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.timezone = ctx.user.timezone
        self.offset = 0
        self.generation = 0
        self.table = ui.refreshable(self._table)

    async def build(self) -> None:
        """The filter bar and the first page."""
        levels = {'': _('All levels'), **{name: name for name in services.LEVELS}}
        with frame(self.ctx, _('Logs')):
            with ui.row().classes('items-end gap-2 w-full'):
                self.level = ui.select(levels, value='', label=_('Level at least')).props('dense').classes('w-40')
                self.level.mark('log-level')
                self.since = ui.input(_('From (YYYY-MM-DD HH:MM)')).props('dense clearable').mark('log-since')
                self.until = ui.input(_('To (YYYY-MM-DD HH:MM)')).props('dense clearable').mark('log-until')
                self.text = ui.input(_('Text contains')).props('dense clearable').mark('log-text')
                ui.button(_('Filter'), icon='filter_list', on_click=lambda: self.reload(offset=0)).mark('log-filter')
            await self.table(self.generation)

    def reload(self, *, offset: int) -> None:
        """Read the page at `offset` again with the filter as it is now."""
        # The generation moves on here, when the reader asks, not when the refresh starts running: NiceGUI
        # clears the table and starts the new read a turn of the event loop apart, and an earlier read that
        # completes in between would otherwise still count as current and draw a second table.
        self.offset = offset
        self.generation += 1
        self.table.refresh(self.generation)

    def current_filter(self) -> services.LogFilter | str:
        """The filter the fields hold, or what is wrong with them."""
        bounds = []
        for field in (self.since, self.until):
            raw = (field.value or '').strip()
            parsed = parse_time(raw, self.timezone) if raw else None
            if raw and parsed is None:
                return _('Enter times as YYYY-MM-DD or YYYY-MM-DD HH:MM.')
            bounds.append(parsed)
        try:
            return services.LogFilter(
                level=self.level.value or '', since=bounds[0], until=bounds[1], text=(self.text.value or '').strip()
            )
        except ServiceError as error:
            return i18n.translate_error(error)

    async def _table(self, mine: int) -> None:
        # The page and its filter bar are sent first; the records follow (a read can go far back in the log).
        await ui.context.client.connected()
        # The newest request wins: a read asked for earlier draws nothing once a newer one was asked for.
        if mine != self.generation:
            return
        wanted = self.current_filter()
        if isinstance(wanted, str):
            ui.label(wanted).classes('text-negative').mark('log-filter-error')
            return
        try:
            require(await current_actor(), PERMISSION, target='/console/logs')
        except ServiceError as error:  # the session ended or the role changed since the page opened
            if mine == self.generation:
                ui.label(i18n.translate_error(error)).classes('text-negative').mark('log-filter-error')
            return
        # Off the event loop: a text that matches little reads far back into the log.
        page = await run.io_bound(
            services.read_page, log_dir(get_settings().data_dir), wanted, offset=self.offset, limit=PAGE_SIZE
        )
        if page is None or mine != self.generation:  # shutting down, or a newer refresh took over
            return
        if not page.records:
            ui.label(_('No log records match.')).classes('text-gray-600').mark('log-empty')
        self.grid(page)
        self.pager(page)

    def grid(self, page: services.LogPage) -> None:
        """The records of one page."""
        columns = [
            {'name': 'time', 'label': _('Time'), 'field': 'time', 'align': 'left'},
            {'name': 'level', 'label': _('Level'), 'field': 'level', 'align': 'left'},
            {'name': 'logger', 'label': _('Source'), 'field': 'logger', 'align': 'left'},
            {'name': 'message', 'label': _('Message'), 'field': 'message', 'align': 'left'},
        ]
        rows = [_row(page.offset + i, record, self.timezone) for i, record in enumerate(page.records)]
        grid = ui.table(columns=columns, rows=rows, row_key='id', pagination=0).classes('w-full')
        grid.props('dense flat wrap-cells hide-pagination').mark('log-table')  # one pager: ours
        grid.add_slot(
            'body-cell-message',
            '<q-td :props="props"><div style="white-space:pre-wrap;font-family:monospace;font-size:12px">'
            '{{ props.value }}</div></q-td>',
        )

    def pager(self, page: services.LogPage) -> None:
        """Older / Newer: the log is read backwards from its end, so how many records it holds is not known and
        `appliance.ui.table.pager` (which says 'of {total}') does not fit."""
        with ui.row().classes('items-center gap-2'):
            if page.records:
                first, last = page.offset + 1, page.offset + len(page.records)
                ui.label(_('Records {first}–{last}', first=first, last=last)).mark('log-range')
            older = ui.button(
                _('Older'), icon='chevron_right', on_click=lambda: self.reload(offset=self.offset + PAGE_SIZE)
            ).props('flat dense')
            older.set_enabled(page.has_more)
            older.mark('log-older')
            newer = ui.button(
                _('Newer'), icon='chevron_left', on_click=lambda: self.reload(offset=max(0, self.offset - PAGE_SIZE))
            ).props('flat dense')
            newer.set_enabled(page.offset > 0)
            newer.mark('log-newer')
