"""The console's dashboard at /console: the health checks, links to the other console pages, and the box's history.

The checks run off the event loop when the page opens (and on "Check now"); running them also stores their states,
so the admins' banner and the alerts agree with what the page shows. The charts are ECharts, bundled with NiceGUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import run, ui

from appliance import i18n
from appliance.config import get_settings
from appliance.db import utcnow
from appliance.errors import N_, NotAuthenticated
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime
from appliance.models import User
from appliance.modules import current_registry
from appliance.services.permissions import has_permission
from appliance.ui.actions import read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from console.health import services
from console.health.services import AMBER, GREEN, RED, Check, Cleanup, Point, cleanup_preview, history, worst

PERMISSION = 'console.manage'
# Each state as a word in its colour (not the colour's name).
STATUS = {GREEN: (N_('Fine'), 'positive'), AMBER: (N_('Needs a look'), 'warning'), RED: (N_('Failing'), 'negative')}
LINKS = (
    (N_('Backups'), '/console/backups', 'backup'),
    (N_('License'), '/console/license', 'verified'),
    (N_('Logs'), '/console/logs', 'article'),
)
# Range shown -> (how far back, seconds per point): under 300 points a chart, whatever the range.
RANGES = {'24h': (timedelta(hours=24), 300), '7d': (timedelta(days=7), 3600), '30d': (timedelta(days=30), 3 * 3600)}
GIB, MIB, MB = 2**30, 2**20, 1e6


@dataclass(frozen=True)
class Series:
    """One line of a chart: the sample field, its label, the divisor to its unit, and its y axis (0 or 1)."""

    field: str
    label: str
    divisor: float = 1.0
    axis: int = 0


@dataclass(frozen=True)
class Chart:
    """One chart of the dashboard."""

    key: str
    title: str
    series: tuple[Series, ...]


CHARTS = (
    Chart('cpu', N_('CPU and load'), (Series('cpu_percent', N_('CPU %')), Series('load1', N_('Load (1 min)'), axis=1))),
    Chart(
        'memory',
        N_('Memory and swap'),
        (Series('memory_percent', N_('Memory %')), Series('swap_percent', N_('Swap %'))),
    ),
    Chart('disk', N_('Free space on the data volume'), (Series('disk_free_bytes', N_('Free GiB'), GIB),)),
    Chart(
        'disk-io',
        N_('Disk I/O'),
        (Series('disk_read_rate', N_('Read MB/s'), MB), Series('disk_write_rate', N_('Write MB/s'), MB)),
    ),
    Chart(
        'net-io',
        N_('Network I/O'),
        (Series('net_recv_rate', N_('Received MB/s'), MB), Series('net_sent_rate', N_('Sent MB/s'), MB)),
    ),
    Chart('rss', N_('Memory used by Enclave'), (Series('app_rss_bytes', N_('MiB'), MIB),)),
    Chart(
        'storage',
        N_('Database and files'),
        (Series('database_bytes', N_('Database MiB'), MIB), Series('blob_bytes', N_('Files MiB'), MIB)),
    ),
    Chart('sessions', N_('Active sessions'), (Series('active_sessions', N_('Sessions')),)),
)


def register() -> None:
    """Register /console."""
    protected_page('/console', permission=PERMISSION)(dashboard_page)


def _evaluate(language: str, timezone: str = 'UTC') -> list[Check]:
    # A worker thread does not inherit the page's context: the checks' sentences in the reader's language and
    # their times in the reader's zone.
    token = i18n.current_language.set(language)
    zone_token = i18n.current_timezone.set(timezone)
    try:
        checks, _changes = services.evaluate(data_dir=get_settings().data_dir, registry=current_registry())
    finally:
        i18n.current_timezone.reset(zone_token)
        i18n.current_language.reset(token)
    return checks


async def _read_history(actor: User, range_key: str) -> list[Point]:
    back, step = RANGES[range_key]
    return await read(actor, lambda session, _actor: history(session, since=utcnow() - back, step=step))


def wall_clock_ms(value: datetime, timezone: str) -> int:
    """`value` as the reader's wall clock in `timezone`, given as if it were UTC, in epoch milliseconds.

    ECharts formats a time axis in the browser's zone, or in UTC with `useUTC`; the browser's zone need not be the
    reader's profile zone that the table below uses. So the chart is told to format in UTC and is given times
    already moved to the reader's wall clock: its axis and tooltip then read as the table does.
    """
    local = value.astimezone(i18n.zone_info(timezone))
    return int(local.replace(tzinfo=UTC).timestamp() * 1000)


def chart_options(chart: Chart, points: list[Point], timezone: str = 'UTC') -> dict[str, Any]:
    """ECharts options for one chart: a time axis in the reader's zone, one line per series, a second y axis."""
    axes = max(series.axis for series in chart.series) + 1
    return {
        'animation': False,
        'useUTC': True,
        'tooltip': {'trigger': 'axis'},
        'legend': {'top': 0},
        'grid': {'left': 50, 'right': 50 if axes > 1 else 20, 'top': 30, 'bottom': 30},
        'xAxis': {'type': 'time'},
        'yAxis': [{'type': 'value', 'scale': axis > 0} for axis in range(axes)],
        'series': [
            {
                'name': _(series.label),
                'type': 'line',
                'showSymbol': False,
                'yAxisIndex': series.axis,
                'data': [
                    [wall_clock_ms(point.taken_at, timezone), round(point.values[series.field] / series.divisor, 3)]
                    for point in points
                ],
            }
            for series in chart.series
        ],
    }


def check_list(checks: list[Check]) -> None:
    """The checks, worst first, each with its chip and sentence."""
    order = {RED: 0, AMBER: 1, GREEN: 2}
    titles = services.check_titles(current_registry())
    for check in sorted(checks, key=lambda c: order.get(c.status, 0)):
        label, color = STATUS.get(check.status, STATUS[RED])
        with ui.row().classes('w-full items-start gap-3 no-wrap').mark(f'check:{check.name}'):
            ui.chip(_(label), color=color, text_color='white').props('dense square').classes('shrink-0').mark(
                f'status:{check.name}:{check.status}'
            )
            with ui.column().classes('gap-0'):
                title = titles.get(check.name)
                ui.label(_(title) if title else check.name).classes('font-medium')
                ui.label(check.message).classes('text-sm')


def _cleanup() -> Cleanup:
    return cleanup_preview(get_settings().data_dir)


def cleanup_card(cleanup: Cleanup) -> None:
    """What the hourly file cleanup would free now, and the disk reserve."""
    with ui.card().classes('w-full').props('flat bordered').mark('cleanup'):
        ui.label(_('File cleanup')).classes('text-lg font-medium')
        if cleanup.bytes or cleanup.unused_files or cleanup.interrupted_uploads:
            text = _(
                'The next cleanup frees {size}: {files} unused files ({files_size}) and {uploads} interrupted '
                'uploads ({uploads_size}). It runs every hour; "enclave blobs gc" runs it now.',
                size=format_size(cleanup.bytes),
                files=cleanup.unused_files,
                files_size=format_size(cleanup.unused_bytes),
                uploads=cleanup.interrupted_uploads,
                uploads_size=format_size(cleanup.interrupted_bytes),
            )
        else:
            text = _('Nothing to clean up now.')
        ui.label(text).classes('text-sm').mark('cleanup-text')
        if cleanup.reserve_bytes:
            reserve = _(
                '{size} are held in reserve so that deletes keep working if the disk fills.',
                size=format_size(cleanup.reserve_bytes),
            )
        else:
            reserve = _('The disk reserve is released: the disk was nearly full. It is made again when there is room.')
        ui.label(reserve).classes('text-sm text-grey-8').mark('reserve-text')


def history_table(ctx: PageContext, points: list[Point]) -> None:
    """The history as a table, newest first."""
    columns = [
        {'name': 'time', 'label': _('Time'), 'field': 'time', 'align': 'left'},
        {'name': 'cpu', 'label': _('CPU %'), 'field': 'cpu'},
        {'name': 'load', 'label': _('Load'), 'field': 'load'},
        {'name': 'memory', 'label': _('Memory %'), 'field': 'memory'},
        {'name': 'swap', 'label': _('Swap %'), 'field': 'swap'},
        {'name': 'free', 'label': _('Free GiB'), 'field': 'free'},
        {'name': 'disk', 'label': _('Disk MB/s (r/w)'), 'field': 'disk'},
        {'name': 'net', 'label': _('Network MB/s (in/out)'), 'field': 'net'},
        {'name': 'rss', 'label': _('Enclave MiB'), 'field': 'rss'},
        {'name': 'db', 'label': _('Database MiB'), 'field': 'db'},
        {'name': 'files', 'label': _('Files MiB'), 'field': 'files'},
        {'name': 'sessions', 'label': _('Sessions'), 'field': 'sessions'},
    ]
    rows = []
    for index, point in enumerate(reversed(points)):
        v = point.values
        rows.append(
            {
                'id': index,
                'time': format_datetime(point.taken_at, timezone=ctx.user.timezone),
                'cpu': f'{v["cpu_percent"]:.1f}',
                'load': f'{v["load1"]:.2f}',
                'memory': f'{v["memory_percent"]:.1f}',
                'swap': f'{v["swap_percent"]:.1f}',
                'free': f'{v["disk_free_bytes"] / GIB:.1f}',
                'disk': f'{v["disk_read_rate"] / MB:.2f} / {v["disk_write_rate"] / MB:.2f}',
                'net': f'{v["net_recv_rate"] / MB:.2f} / {v["net_sent_rate"] / MB:.2f}',
                'rss': f'{v["app_rss_bytes"] / MIB:.0f}',
                'db': f'{v["database_bytes"] / MIB:.1f}',
                'files': f'{v["blob_bytes"] / MIB:.1f}',
                'sessions': str(round(v['active_sessions'])),
            }
        )
    ui.table(columns=columns, rows=rows, row_key='id', pagination={'rowsPerPage': 12}).classes('w-full').props(
        'dense flat bordered'
    ).mark('history-table')


async def dashboard_page(ctx: PageContext) -> None:
    """The checks, the links to the rest of the console, and the charts of the last day, week or month."""
    checks = await run.io_bound(_evaluate, i18n.language(), i18n.reader_timezone())
    points = await _read_history(ctx.user, '24h')
    state: dict[str, Any] = {'checks': checks, 'range': '24h', 'points': points}
    cleanup = await run.io_bound(_cleanup)
    with frame(ctx, _('Maintenance')):
        with ui.card().classes('w-full').props('flat bordered').mark('checks'):
            with ui.row().classes('w-full items-center'):
                ui.label(_('Health checks')).classes('text-lg font-medium grow')

                async def check_now() -> None:
                    try:
                        if not has_permission(await current_actor(), PERMISSION):
                            return
                    except NotAuthenticated:
                        ui.navigate.to('/login')
                        return
                    state['checks'] = await run.io_bound(_evaluate, i18n.language(), i18n.reader_timezone())
                    checks_section.refresh()

                ui.button(_('Check now'), icon='refresh', on_click=check_now).props('flat').mark('check-now')

            @ui.refreshable
            def checks_section() -> None:
                overall = worst(state['checks'])
                summary = {
                    GREEN: _('Everything is fine.'),
                    AMBER: _('Everything works; something should be looked at.'),
                    RED: _('Something is failing: act now.'),
                }[overall]
                ui.label(summary).classes('text-sm text-grey-8').mark(f'overall:{overall}')
                check_list(state['checks'])

            checks_section()
        if cleanup is not None:  # None only while the app shuts down
            cleanup_card(cleanup)
        with ui.row().classes('gap-6 items-center'):
            for label, path, icon in LINKS:
                with ui.row().classes('items-center gap-1'):
                    ui.icon(icon).classes('text-grey-7')
                    ui.link(_(label), path).mark(f'link:{path}')
        with ui.card().classes('w-full').props('flat bordered'):
            with ui.row().classes('w-full items-center'):
                ui.label(_('History')).classes('text-lg font-medium grow')
                labels = {'24h': _('24 hours'), '7d': _('7 days'), '30d': _('30 days')}

                async def choose(event: Any) -> None:
                    state['points'] = await _read_history(ctx.user, event.value)
                    state['range'] = event.value
                    history_section.refresh()

                ui.toggle(labels, value='24h', on_change=choose).props('dense').mark('range')

            @ui.refreshable
            def history_section() -> None:
                points: list[Point] = state['points']
                if not points:
                    ui.label(_('No samples yet: one is recorded every minute while the scheduler runs.')).classes(
                        'text-sm text-grey-7'
                    ).mark('no-samples')
                    return
                grid = ui.grid(columns='repeat(auto-fill, minmax(min(420px, 100%), 1fr))').classes('w-full gap-4')
                with grid.mark(f'history:{state["range"]}'):
                    for chart in CHARTS:
                        with ui.column().classes('gap-1'):
                            ui.label(_(chart.title)).classes('font-medium')
                            ui.echart(chart_options(chart, points, ctx.user.timezone)).classes('w-full h-56').mark(
                                f'chart:{chart.key}'
                            )
                history_table(ctx, points)

            history_section()
