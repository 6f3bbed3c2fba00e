"""A project's overview tab: progress, overdue items, milestones, workload and recent activity."""

from __future__ import annotations

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import read
from appliance.ui.guard import PageContext, path_int
from appliance.ui.markdown_view import markdown_view
from modules.projects import services
from modules.projects.pages.parts.activity import activity_list
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.pages.parts.gantt import workload_options
from modules.projects.pages.parts.progress import progress_bar


async def overview_page(ctx: PageContext) -> Response | None:
    """Progress, overdue items, upcoming milestones, workload per person and recent activity."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    data = await read(ctx.user, lambda s, a: services.overview(session=s, actor=a, project_id=project.id))
    with project_frame(ctx, data.project, 'overview'):
        if data.project.description:
            markdown_view(data.project.description).mark('project-description')
        with ui.row().classes('w-full gap-4 items-stretch'):
            with ui.card().classes('grow min-w-64').props('flat bordered'):
                ui.label(_('Progress')).classes('font-medium')
                progress_bar(data.closed_items, data.total_items, 'project-progress')
                dates = ' – '.join(d.isoformat() for d in (data.project.start_date, data.project.end_date) if d)
                if dates:
                    ui.label(dates).classes('text-sm text-grey-7')
                if data.project.owner_name:
                    ui.label(_('Owner: {name}', name=data.project.owner_name)).classes('text-sm')
            with ui.card().classes('grow min-w-64').props('flat bordered').mark('overdue'):
                ui.label(_('Overdue')).classes('font-medium')
                if not data.overdue:
                    ui.label(_('Nothing is overdue.')).classes('text-sm text-grey-7')
                for item in data.overdue:
                    with ui.row().classes('gap-2 items-center'):
                        ui.link(item.label, item.url or '#').classes('text-sm')
                        ui.label(item.due.isoformat()).classes('text-xs text-negative')
            with ui.card().classes('grow min-w-64').props('flat bordered').mark('upcoming'):
                ui.label(_('Upcoming milestones')).classes('font-medium')
                if not data.upcoming:
                    ui.label(_('No open milestone with a due date.')).classes('text-sm text-grey-7')
                for milestone in data.upcoming:
                    with ui.row().classes('gap-2 items-center'):
                        ui.label(milestone.name).classes('text-sm')
                        ui.label(milestone.due_date.isoformat() if milestone.due_date else '').classes('text-xs')
                        ui.label(f'{milestone.closed_items}/{milestone.total_items}').classes('text-xs text-grey-7')
        with ui.card().classes('w-full').props('flat bordered').mark('workload'):
            ui.label(_('Workload')).classes('font-medium')
            if data.workload:
                names = [w.display_name for w in data.workload]
                options = workload_options(
                    names, [w.open_items for w in data.workload], [w.open_hours for w in data.workload]
                )
                ui.echart(options).classes('w-full').style(f'height: {max(160, 40 * len(names) + 60)}px').mark(
                    'workload-chart'
                )
            else:
                ui.label(_('Nobody has open work here.')).classes('text-sm text-grey-7')
        with ui.card().classes('w-full').props('flat bordered'):
            with ui.row().classes('w-full items-center'):
                ui.label(_('Recent activity')).classes('font-medium grow')
                ui.link(_('All activity'), f'/projects/{project.id}/activity').classes('text-sm')
            activity_list(ctx, data.activity)
    return None
