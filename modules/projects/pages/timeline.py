"""A project's timeline tab: a Gantt chart of dated items and milestones, and the same as a list."""

from __future__ import annotations

from datetime import date

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import read
from appliance.ui.guard import PageContext, path_int
from modules.projects import services
from modules.projects.extensions import TimelineItem
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.pages.parts.gantt import gantt_height, gantt_options

MAX_TIMELINE_ITEMS = 200  # bars on the chart; the rest are in the list view


async def timeline_page(ctx: PageContext) -> Response | None:
    """A Gantt chart of the dated items and milestones, with finish-to-start arrows, and the same as a list."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    data = await read(ctx.user, lambda s, a: services.timeline(session=s, actor=a, project_id=project.id))
    with project_frame(ctx, data.project, 'timeline'):
        today = date.today()
        everything = [item for item in data.items if item.start or item.end]
        dated = around(everything, today, MAX_TIMELINE_ITEMS)
        if not dated and not any(m.due_date for m in data.milestones):
            ui.label(_('Nothing on the timeline yet: give items or milestones dates.')).classes('text-grey-7')
        else:
            if len(dated) < len(everything):
                ui.label(
                    _(
                        'Showing the {shown} dated items nearest to today, of {total}.',
                        shown=len(dated),
                        total=len(everything),
                    )
                ).classes('text-sm text-grey-7').mark('timeline-partial')
            options = gantt_options(data.milestones, dated, today)
            height = gantt_height(len(dated), len(data.milestones))
            ui.echart(options).classes('w-full').style(f'height: {height}px').mark('gantt')
        with ui.expansion(_('As a list'), icon='list').classes('w-full').mark('timeline-list'):
            names = {item.id: item.label for item in data.items}
            rows = [
                {
                    'item': item.label,
                    'dates': ' → '.join(d.isoformat() for d in (item.start, item.end) if d),
                    'after': ', '.join(names.get(b, b) for b in item.blocked_by),
                }
                for item in dated
            ]
            rows += [
                {'item': '◆ ' + m.name, 'dates': m.due_date.isoformat() if m.due_date else '', 'after': ''}
                for m in data.milestones
            ]
            columns = [
                {'name': 'item', 'label': _('Item'), 'field': 'item', 'align': 'left'},
                {'name': 'dates', 'label': _('Dates'), 'field': 'dates', 'align': 'left'},
                {'name': 'after', 'label': _('After'), 'field': 'after', 'align': 'left'},
            ]
            ui.table(rows=rows, columns=columns, pagination=50).props('flat dense').classes('w-full')
    return None


def around(items: list[TimelineItem], today: date, limit: int) -> list[TimelineItem]:
    """At most `limit` items, those nearest to today (a chart of thousands of bars helps nobody), in date order."""
    if len(items) <= limit:
        return items

    def distance(item: TimelineItem) -> int:
        start, end = item.start or item.end, item.end or item.start
        assert start is not None and end is not None
        return 0 if start <= today <= end else min(abs((start - today).days), abs((end - today).days))

    chosen = sorted(items, key=distance)[:limit]
    return sorted(chosen, key=lambda item: (item.start or item.end or date.max, item.label))
