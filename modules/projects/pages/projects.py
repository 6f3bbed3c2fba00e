"""The projects page: the projects the reader may see, with a filter and a dialog to create one."""

from __future__ import annotations

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


async def projects_page(ctx: PageContext) -> None:
    """The projects the reader may see, with a status filter, progress, and a dialog to create one."""
    page = ProjectsUI(ctx)
    with frame(ctx, _('Projects')):
        await page.build()


class ProjectsUI:
    """The list of projects, its status and text filters and its pager; the filters start from the query string."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        status = ctx.query.get('status', '')
        self.status = status if status in ('', *STATUS_LABELS) else ''
        self.query = ctx.query.get('q', '')
        self.offset = 0

    async def build(self) -> None:
        """The filter row (and "New project" for those who may create one), then the list."""
        with ui.row().classes('items-center gap-2 w-full'):
            options = {'': _('All but archived'), **{key: _(label) for key, label in STATUS_LABELS.items()}}
            self.status_filter = (
                ui.select(options, value=self.status, label=_('Status')).classes('w-48').mark('status-filter')
            )
            self.search = (
                ui.input(_('Find a project'), value=self.query).props('clearable dense').mark('project-filter')
            )
            ui.space()
            if 'projects.create' in self.ctx.permissions:
                ui.button(_('New project'), icon='add', on_click=lambda: new_project_dialog()).mark('new-project')
        self.status_filter.on_value_change(self.apply)
        self.search.on('keydown.enter', self.apply)
        self.search.on('clear', self.apply)
        await self.listing()

    @ui.refreshable_method
    async def listing(self) -> None:
        """One page of projects, with their progress, and the pager."""
        status, query, offset = self.status, self.query, self.offset
        page = await read(
            self.ctx.user,
            lambda s, a: services.list_projects(
                session=s, actor=a, status=status, query=query, offset=offset, limit=PAGE_SIZE
            ),
        )
        counts = await read(self.ctx.user, lambda s, a: services.progress(s, [p.id for p in page.items]))
        if not page.items:
            ui.label(_('No projects here yet.')).classes('text-grey-7').mark('no-projects')
        with ui.column().classes('w-full gap-2').mark('project-list'):
            for project in page.items:
                project_card(project, counts.get(project.id, (0, 0)))
        pager(page, self.move)

    def move(self, delta: int) -> None:
        """Page forward or back."""
        self.offset = max(0, self.offset + delta)
        self.listing.refresh()

    def apply(self) -> None:
        """Filter by the current status and text, from the first page."""
        self.status, self.query, self.offset = self.status_filter.value or '', self.search.value or '', 0
        self.listing.refresh()


def new_project_dialog() -> None:
    """A dialog to create a project; on success the browser goes to its overview."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg'):
        ui.label(_('New project')).classes('text-lg font-medium')
        name = ui.input(_('Name')).classes('w-full').mark('project-name')
        key = ui.input(_('Key'), placeholder='WEB').props('maxlength=10').mark('project-key-input')
        ui.label(_('2 to 10 letters or digits; task ids will look like KEY-42.')).classes('text-xs')
        visibility = (
            ui.select({k: _(v) for k, v in VISIBILITY_LABELS.items()}, value='members', label=_('Who can see it'))
            .classes('w-full')
            .mark('project-visibility')
        )
        with ui.row().classes('w-full'):
            start = date_input(_('Start'), None, 'project-start')
            end = date_input(_('End'), None, 'project-end')
        description = ui.textarea(_('Description (Markdown)')).classes('w-full').mark('project-description')

        async def save() -> None:
            try:
                start_day, end_day = parse_date(start.value), parse_date(end.value)
            except ValueError:
                ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
                return
            created = await act(
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
