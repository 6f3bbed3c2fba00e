"""The console's log viewer (/console/logs) and support bundle (/console/support) pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import run, ui

from appliance import context, i18n
from appliance.config import get_settings
from appliance.db import get_database
from appliance.errors import NotAuthenticated, ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime
from appliance.logs import log_dir
from appliance.modules import current_registry
from appliance.services.permissions import require
from appliance.ui.actions import act
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from console.logs import services

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
    state: dict[str, Any] = {'offset': 0, 'generation': 0}
    timezone = ctx.user.timezone
    levels = {'': _('All levels'), **{name: name for name in services.LEVELS}}
    with frame(ctx, _('Logs')):
        with ui.row().classes('items-end gap-2 w-full'):
            level = ui.select(levels, value='', label=_('Level at least')).props('dense').classes('w-40')
            level.mark('log-level')
            since = ui.input(_('From (YYYY-MM-DD HH:MM)')).props('dense clearable').mark('log-since')
            until = ui.input(_('To (YYYY-MM-DD HH:MM)')).props('dense clearable').mark('log-until')
            text = ui.input(_('Text contains')).props('dense clearable').mark('log-text')
            ui.button(_('Filter'), icon='filter_list', on_click=lambda: reload(offset=0)).mark('log-filter')

        def reload(*, offset: int) -> None:
            # The generation moves on here, when the reader asks, not when the refresh starts running: NiceGUI
            # clears the table and starts the new read a turn of the event loop apart, and an earlier read that
            # completes in between would otherwise still count as current and draw a second table.
            state['offset'] = offset
            state['generation'] += 1
            table.refresh(state['generation'])

        def current_filter() -> services.LogFilter | str:
            bounds = []
            for field in (since, until):
                raw = (field.value or '').strip()
                parsed = parse_time(raw, timezone) if raw else None
                if raw and parsed is None:
                    return _('Enter times as YYYY-MM-DD or YYYY-MM-DD HH:MM.')
                bounds.append(parsed)
            try:
                return services.LogFilter(
                    level=level.value or '', since=bounds[0], until=bounds[1], text=(text.value or '').strip()
                )
            except ServiceError as error:
                return i18n.translate_error(error)

        @ui.refreshable
        async def table(mine: int) -> None:
            # The newest request wins: a read asked for earlier draws nothing once a newer one was asked for.
            if mine != state['generation']:
                return
            wanted = current_filter()
            if isinstance(wanted, str):
                ui.label(wanted).classes('text-negative').mark('log-filter-error')
                return
            try:
                require(current_actor(), PERMISSION, target='/console/logs')
            except ServiceError as error:  # the session ended or the role changed since the page opened
                ui.label(i18n.translate_error(error)).classes('text-negative').mark('log-filter-error')
                return
            # Off the event loop: a text that matches little reads far back into the log.
            page = await run.io_bound(
                services.read_page,
                log_dir(get_settings().data_dir),
                wanted,
                offset=int(state['offset']),
                limit=PAGE_SIZE,
            )
            if page is None or mine != state['generation']:  # shutting down, or a newer refresh took over
                return
            if not page.records:
                ui.label(_('No log records match.')).classes('text-gray-600').mark('log-empty')
            columns = [
                {'name': 'time', 'label': _('Time'), 'field': 'time', 'align': 'left'},
                {'name': 'level', 'label': _('Level'), 'field': 'level', 'align': 'left'},
                {'name': 'logger', 'label': _('Source'), 'field': 'logger', 'align': 'left'},
                {'name': 'message', 'label': _('Message'), 'field': 'message', 'align': 'left'},
            ]
            rows = [_row(page.offset + i, record, timezone) for i, record in enumerate(page.records)]
            grid = ui.table(columns=columns, rows=rows, row_key='id', pagination=0).classes('w-full')
            grid.props('dense flat wrap-cells').mark('log-table')
            grid.add_slot(
                'body-cell-message',
                '<q-td :props="props"><div style="white-space:pre-wrap;font-family:monospace;font-size:12px">'
                '{{ props.value }}</div></q-td>',
            )
            with ui.row().classes('items-center gap-2'):
                if page.records:
                    first, last = page.offset + 1, page.offset + len(page.records)
                    ui.label(_('Records {first}–{last}', first=first, last=last)).mark('log-range')
                older = ui.button(
                    _('Older'),
                    icon='chevron_right',
                    on_click=lambda: reload(offset=state['offset'] + PAGE_SIZE),
                ).props('flat dense')
                older.set_enabled(page.has_more)
                older.mark('log-older')
                newer = ui.button(
                    _('Newer'),
                    icon='chevron_left',
                    on_click=lambda: reload(offset=max(0, state['offset'] - PAGE_SIZE)),
                ).props('flat dense')
                newer.set_enabled(page.offset > 0)
                newer.mark('log-newer')

        await table(state['generation'])


def support_page(ctx: PageContext) -> None:
    """Make a support bundle, see every file in it, then download it (nothing is uploaded)."""
    state: dict[str, services.Bundle | None] = {'bundle': None}
    with frame(ctx, _('Support bundle')):
        ui.label(
            _(
                'A support bundle is a zip made on this server: versions, the configuration without secrets, the '
                'health history of the last 7 days and the newest part of the app log. E-mail addresses, user '
                'names, IP addresses, passwords and tokens are replaced by placeholders. Nothing is sent anywhere: '
                'you see every file before you download it, and you decide whom to give it to.'
            )
        ).classes('max-w-3xl')
        ui.button(_('Prepare a bundle'), icon='inventory_2', on_click=lambda: prepare()).mark('support-prepare')

        @ui.refreshable
        def preview() -> None:
            bundle = state['bundle']
            if bundle is None:
                return
            ui.label(_('{count} files in the bundle:', count=len(bundle.files))).classes('font-medium')
            for item in bundle.files:
                with ui.card().classes('w-full').mark(f'support-file:{item.name}'):
                    with ui.row().classes('items-center gap-2'):
                        ui.icon('description')
                        ui.label(item.name).classes('font-mono font-medium')
                        ui.label(format_size(item.size)).classes('text-gray-600')
                    head = item.head()
                    if head:
                        # Text, not ui.code: that renders Markdown to HTML, and log lines hold what outsiders sent.
                        ui.label('\n'.join(head)).classes(
                            'w-full text-xs font-mono whitespace-pre overflow-x-auto bg-gray-50 p-2 rounded'
                        )
                    else:
                        ui.label(_('(empty)')).classes('text-gray-600')
            ui.button(_('Download {name}', name=bundle.filename), icon='download', on_click=download).mark(
                'support-download'
            )

        async def prepare() -> None:
            context.client_ip.set(_client_ip())
            try:
                actor = current_actor()
                settings, registry = get_settings(), current_registry()

                def build() -> services.Bundle:
                    with get_database().session() as session:
                        return services.build_bundle(session=session, actor=actor, settings=settings, registry=registry)

                state['bundle'] = await run.io_bound(build)
            except NotAuthenticated as error:
                ui.notify(i18n.translate_error(error), type='warning')
                ui.navigate.to('/login')
                return
            except ServiceError as error:
                ui.notify(i18n.translate_error(error), type='negative')
                return
            preview.refresh()

        def download() -> None:
            bundle = state['bundle']
            if bundle is None:
                return
            data = act(lambda s, a: services.record_download(session=s, actor=a, bundle=bundle))
            if data is not None:
                ui.download.content(data, bundle.filename, 'application/zip')

        preview()


def _client_ip() -> str:
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ''
