"""The projects page: the projects the reader may see, with a filter and a dialog to create one."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext
from appliance.ui.table import pager
from modules.projects import services
from modules.projects.pages.parts.dates import date_input, parse_date
from modules.projects.pages.parts.frame import status_chip
from modules.projects.pages.parts.progress import progress_bar
from modules.projects.services import STATUS_LABELS, VISIBILITY_LABELS
from modules.projects.views import ProjectView

PAGE_SIZE = 25


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
