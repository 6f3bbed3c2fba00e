"""ECharts options for the project timeline (a Gantt chart) and the workload chart, built from plain data.

The Gantt chart draws bars with a `custom` series (a rectangle from start to end on its row) on a time axis.
Points (milestones, items with only a due date) are a scatter series; finish-to-start dependencies are a `lines`
series with an arrow from the blocker's end to the start of what it blocks. Everything is data except two constant
JavaScript functions (the bar shape and the tooltip), rendered by the ECharts that NiceGUI bundles (nothing loads
from another host).

Titles and milestone names are written by users: the tooltip is plain text (`tip`, lines joined by newlines) that
the formatter puts into a new element as `textContent`, never as HTML (a formatter's string is set as innerHTML).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from appliance.i18n import _
from modules.projects.extensions import TimelineItem
from modules.projects.views import MilestoneView

DAY_MS = 86_400_000
ROW_PX = 30
# ECharts shows an element that a formatter returns as it is; text in textContent cannot become markup.
TOOLTIP = (
    '(p) => { const box = document.createElement("div"); box.style.whiteSpace = "pre-line"; '
    'box.textContent = (p.data && p.data.tip) ? p.data.tip : (p.name || ""); return box; }'
)
# A rounded rectangle from value 0 (start) to value 1 (end) on row value 2, a little over half the row high.
RENDER_BAR = (
    '(params, api) => { const s = api.coord([api.value(0), api.value(2)]); '
    'const e = api.coord([api.value(1), api.value(2)]); const h = api.size([0, 1])[1] * 0.55; '
    'return {type: "rect", shape: {x: s[0], y: s[1] - h / 2, width: Math.max(e[0] - s[0], 2), height: h, r: 3}, '
    'style: api.style()}; }'
)


def ms(day: date) -> int:
    """Milliseconds since the epoch at midnight UTC of `day` (ECharts' time axis unit)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _row_label(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + '…'


def gantt_options(milestones: list[MilestoneView], items: list[TimelineItem], today: date) -> dict[str, Any]:
    """The ECharts option of the timeline: one row per item, then the milestones, as bars, points and arrows."""
    rows: list[str] = []
    bars: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    ends: dict[str, tuple[int, int]] = {}  # item id -> (row, end ms)
    starts: dict[str, tuple[int, int]] = {}
    days: list[date] = [today]
    for item in items:
        row = len(rows)
        rows.append(_row_label(item.label))
        first, last = item.start or item.end, item.end or item.start
        if first is None or last is None:
            continue
        days += [first, last]
        color = '#9ca3af' if item.done else '#3b82f6'
        if item.start is not None and item.end is not None:
            tip = f'{item.label}\n{item.start.isoformat()} → {item.end.isoformat()}'
            bars.append(
                {'value': [ms(item.start), ms(item.end) + DAY_MS, row], 'tip': tip, 'itemStyle': {'color': color}}
            )
            starts[item.id] = (row, ms(item.start))
            ends[item.id] = (row, ms(item.end) + DAY_MS)
        else:
            tip = f'{item.label}\n{_("Due")}: {last.isoformat()}'
            points.append(
                {'value': [ms(last) + DAY_MS // 2, row], 'tip': tip, 'symbol': 'circle', 'itemStyle': {'color': color}}
            )
            starts[item.id] = (row, ms(last))
            ends[item.id] = (row, ms(last) + DAY_MS)
    for milestone in milestones:
        row = len(rows)
        rows.append('◆ ' + _row_label(milestone.name))
        if milestone.due_date is not None:
            days.append(milestone.due_date)
            tip = f'{milestone.name}\n{_("Due")}: {milestone.due_date.isoformat()}'
            done = milestone.status == 'done'
            points.append(
                {
                    'value': [ms(milestone.due_date) + DAY_MS // 2, row],
                    'tip': tip,
                    'symbol': 'diamond',
                    'symbolSize': 16,
                    'itemStyle': {'color': '#16a34a' if done else '#f59e0b'},
                }
            )
    arrows: list[dict[str, Any]] = []
    for item in items:
        for blocker in item.blocked_by:
            if blocker in ends and item.id in starts:
                (from_row, from_x), (to_row, to_x) = ends[blocker], starts[item.id]
                arrows.append({'coords': [[from_x, from_row], [to_x, to_row]]})
    low, high = min(days) - timedelta(days=3), max(days) + timedelta(days=4)
    return _chart(rows, bars, points, arrows, today=today, low=low, high=high)


def _chart(
    rows: list[str],
    bars: list[dict[str, Any]],
    points: list[dict[str, Any]],
    arrows: list[dict[str, Any]],
    *,
    today: date,
    low: date,
    high: date,
) -> dict[str, Any]:
    """The ECharts option around the rows, bars, points and arrows: axes, zoom, today's line and the three series."""
    return {
        'animation': False,
        'grid': {'left': 10, 'right': 30, 'top': 30, 'bottom': 40, 'containLabel': True},
        'tooltip': {'trigger': 'item', ':formatter': TOOLTIP},
        'xAxis': {
            'type': 'time',
            'min': ms(low),
            'max': ms(high),
            'position': 'top',
            'splitLine': {'show': True, 'lineStyle': {'color': '#eee'}},
            'axisLabel': {'hideOverlap': True},  # a phone's narrow axis shows fewer dates instead of a pile
        },
        'yAxis': {
            'type': 'category',
            'data': rows,
            'inverse': True,
            'axisTick': {'show': False},
            'axisLabel': {'width': 260, 'overflow': 'truncate'},
        },
        'dataZoom': [
            {'type': 'inside', 'xAxisIndex': 0},
            {'type': 'slider', 'xAxisIndex': 0, 'height': 18, 'bottom': 8},
        ],
        'series': [
            {
                'type': 'custom',
                ':renderItem': RENDER_BAR,
                'encode': {'x': [0, 1], 'y': 2},
                'data': bars,
                'clip': True,
                'name': _('Work items'),
                'markLine': {
                    'symbol': 'none',
                    'silent': True,
                    'label': {'formatter': _('Today')},
                    'lineStyle': {'color': '#ef4444', 'type': 'dashed'},
                    'data': [{'xAxis': ms(today)}],
                },
            },
            {'type': 'scatter', 'data': points, 'symbolSize': 12, 'name': _('Due dates and milestones'), 'z': 5},
            {
                'type': 'lines',
                'coordinateSystem': 'cartesian2d',
                'data': arrows,
                'silent': True,
                'z': 4,
                'symbol': ['none', 'arrow'],
                'symbolSize': 8,
                'lineStyle': {'color': '#64748b', 'width': 1.5, 'curveness': 0.2},
            },
        ],
    }


def gantt_height(items: int, milestones: int) -> int:
    """Pixels the chart needs so that every row stays readable."""
    return max(260, (items + milestones) * ROW_PX + 110)


def workload_options(names: list[str], open_items: list[int], open_hours: list[float]) -> dict[str, Any]:
    """A horizontal bar chart: open items per person on the bottom axis, their estimated open hours on an axis of
    their own at the top (a count and hours never share one scale)."""
    return {
        'animation': False,
        'grid': {'left': 10, 'right': 40, 'top': 40, 'bottom': 40, 'containLabel': True},
        'legend': {'bottom': 0},
        'tooltip': {'trigger': 'axis', 'axisPointer': {'type': 'shadow'}},
        'xAxis': [
            {'type': 'value', 'name': _('Items'), 'position': 'bottom', 'minInterval': 1},
            {'type': 'value', 'name': _('Hours'), 'position': 'top', 'splitLine': {'show': False}},
        ],
        'yAxis': {'type': 'category', 'data': names, 'inverse': True},
        'series': [
            {'type': 'bar', 'name': _('Open items'), 'data': open_items, 'itemStyle': {'color': '#3b82f6'}},
            {
                'type': 'bar',
                'name': _('Open hours'),
                'xAxisIndex': 1,
                'data': [round(h, 1) for h in open_hours],
                'itemStyle': {'color': '#a855f7'},
            },
        ],
    }
