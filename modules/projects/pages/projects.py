"""Project pages: the list of projects and each project's overview; other tabs live in pages_*.py."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _, format_datetime
from appliance.markdown import render
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, path_int, protected_page
from appliance.ui.table import pager
from modules.projects import services
from modules.projects.pages.parts.frame import open_project, project_frame, status_chip
from modules.projects.pages.parts.gantt import workload_options
from modules.projects.services import STATUS_LABELS, VISIBILITY_LABELS
from modules.projects.views import ActivityView, ProjectView

T = TypeVar('T')
PAGE_SIZE = 25


def register() -> None:
    """Register every projects page."""
    from modules.projects.pages import people as pages_people
    from modules.projects.pages import settings as pages_feed

    protected_page('/projects', permission='projects.use')(projects_page)
    protected_page('/projects/{id}', permission='projects.use')(overview_page)
    pages_people.register()
    pages_feed.register()


def parse_date(value: Any) -> date | None:
    """A date from a date input ('' means none)."""
    text = str(value or '').strip()
    return date.fromisoformat(text) if text else None


def date_input(label: str, value: date | None, marker: str) -> ui.input:
    """A text input with a date picker (ISO dates)."""
    with ui.input(label, value=value.isoformat() if value else '').props('clearable').mark(marker) as field:
        with ui.menu().props('no-parent-event') as menu:
            with ui.date().bind_value(field):
                with ui.row().classes('justify-end'):
                    ui.button(_('Close'), on_click=menu.close).props('flat')
        with field.add_slot('append'):
            ui.icon('edit_calendar').on('click', menu.open).classes('cursor-pointer')
    return field


def progress_bar(closed: int, total: int, marker: str = '') -> None:
    """A bar with 'closed of total' beside it."""
    with ui.row().classes('items-center gap-2 w-full no-wrap'):
        bar = ui.linear_progress(value=closed / total if total else 0, show_value=False, size='10px')
        bar.classes('grow').props('rounded color=positive')
        if marker:
            bar.mark(marker)
        ui.label(_('{closed} of {total} done', closed=closed, total=total)).classes('text-sm text-grey-7 shrink-0')


def projects_page(ctx: PageContext) -> None:
    """The projects the reader may see, with a status filter, progress, and a dialog to create one."""
    state: dict[str, Any] = {'offset': 0, 'status': ctx.query.get('status', ''), 'q': ctx.query.get('q', '')}
    if state['status'] not in ('', *STATUS_LABELS):
        state['status'] = ''
    with frame(ctx, _('Projects')):
        with ui.row().classes('items-center gap-2 w-full'):
            options = {'': _('All but archived'), **{key: _(label) for key, label in STATUS_LABELS.items()}}
            status = ui.select(options, value=state['status'], label=_('Status')).classes('w-48').mark('status-filter')
            search = ui.input(_('Find a project'), value=state['q']).props('clearable dense').mark('project-filter')
            ui.space()
            if 'projects.create' in ctx.permissions:
                ui.button(_('New project'), icon='add', on_click=lambda: new_project_dialog()).mark('new-project')

        @ui.refreshable
        def listing() -> None:
            page = read(
                ctx.user,
                lambda s, a: services.list_projects(
                    session=s,
                    actor=a,
                    status=state['status'],
                    query=state['q'],
                    offset=state['offset'],
                    limit=PAGE_SIZE,
                ),
            )
            counts = read(ctx.user, lambda s, a: services.progress(s, [p.id for p in page.items]))
            if not page.items:
                ui.label(_('No projects here yet.')).classes('text-grey-7').mark('no-projects')
            with ui.column().classes('w-full gap-2').mark('project-list'):
                for project in page.items:
                    project_card(project, counts.get(project.id, (0, 0)))
            pager(page, move)

        def move(delta: int) -> None:
            state['offset'] = max(0, int(state['offset']) + delta)
            listing.refresh()

        def apply() -> None:
            state['status'], state['q'], state['offset'] = status.value or '', search.value or '', 0
            listing.refresh()

        status.on_value_change(apply)
        search.on('keydown.enter', apply)
        search.on('clear', apply)
        listing()

        def new_project_dialog() -> None:
            with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg'):
                ui.label(_('New project')).classes('text-lg font-medium')
                name = ui.input(_('Name')).classes('w-full').mark('project-name')
                key = ui.input(_('Key'), placeholder='WEB').props('maxlength=10').mark('project-key-input')
                ui.label(_('2 to 10 letters or digits; task ids will look like KEY-42.')).classes('text-xs')
                visibility = (
                    ui.select(
                        {k: _(v) for k, v in VISIBILITY_LABELS.items()}, value='members', label=_('Who can see it')
                    )
                    .classes('w-full')
                    .mark('project-visibility')
                )
                with ui.row().classes('w-full'):
                    start = date_input(_('Start'), None, 'project-start')
                    end = date_input(_('End'), None, 'project-end')
                description = ui.textarea(_('Description (Markdown)')).classes('w-full').mark('project-description')

                def save() -> None:
                    try:
                        start_day, end_day = parse_date(start.value), parse_date(end.value)
                    except ValueError:
                        ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
                        return
                    created = act(
                        lambda s, a: services.create_project(
                            session=s,
                            actor=a,
                            name=name.value or '',
                            key=key.value or '',
                            description=description.value or '',
                            visibility=visibility.value,
                            start_date=start_day,
                            end_date=end_day,
                        ),
                        success=_('Project created.'),
                    )
                    if created is not None:
                        dialog.close()
                        ui.navigate.to(f'/projects/{created.id}')

                with ui.row().classes('justify-end w-full'):
                    ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                    ui.button(_('Create'), on_click=save).mark('create-project')
            dialog.open()


def project_card(project: ProjectView, counts: tuple[int, int]) -> None:
    """One project in the list: key, name, status and progress; the whole card links to the overview."""
    with (
        ui.link(target=f'/projects/{project.id}')
        .classes('w-full no-underline text-inherit')
        .mark(f'project:{project.key}')
    ):
        with ui.card().classes('w-full hover:shadow-md').props('flat bordered'):
            with ui.row().classes('items-center gap-2 w-full'):
                ui.badge(project.key, color='slate-700').classes('font-mono')
                ui.label(project.name).classes('text-base font-medium grow')
                status_chip(project.status)
            progress_bar(*counts)


def overview_page(ctx: PageContext) -> Response | None:
    """Progress, overdue items, upcoming milestones, workload per person and recent activity."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    data = read(ctx.user, lambda s, a: services.overview(session=s, actor=a, project_id=project.id))
    with project_frame(ctx, data.project, 'overview'):
        if data.project.description:
            ui.html(render(data.project.description), sanitize=True).classes('prose max-w-none').mark(
                'project-description'
            )
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


def activity_list(ctx: PageContext, entries: list[ActivityView]) -> None:
    """Feed lines: the sentence and when."""
    if not entries:
        ui.label(_('No activity yet.')).classes('text-sm text-grey-7')
    with ui.column().classes('w-full gap-1').mark('activity'):
        for entry in entries:
            with ui.row().classes('w-full gap-2 items-baseline no-wrap'):
                ui.label(entry.text).classes('text-sm grow')
                ui.label(format_datetime(entry.created_at, timezone=ctx.user.timezone)).classes(
                    'text-xs text-grey-7 shrink-0'
                )
