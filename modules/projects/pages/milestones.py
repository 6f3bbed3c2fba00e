"""A project's milestones tab: goals with due dates and progress; managers add, change and delete them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, attempt, read
from appliance.ui.guard import PageContext, path_int
from modules.projects import services
from modules.projects.pages.parts.dates import date_input, parse_date
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.pages.parts.progress import progress_bar
from modules.projects.services import MILESTONE_STATUS_LABELS
from modules.projects.views import MilestoneView, ProjectView


async def milestones_page(ctx: PageContext) -> Response | None:
    """The project's milestones with progress; managers create, edit and delete them."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    with project_frame(ctx, project, 'milestones'):
        await MilestonesUI(ctx, project).build()
    return None


class MilestonesUI:
    """The milestones tab of one project: the list, and the dialog that makes or changes one."""

    def __init__(self, ctx: PageContext, project: ProjectView) -> None:
        self.ctx = ctx
        self.project = project

    async def build(self) -> None:
        """The "New milestone" button (managers) and the list."""
        if self.project.can_manage:
            ui.button(_('New milestone'), icon='add', on_click=lambda: self.edit_dialog(None)).mark('new-milestone')
        await self.listing()

    @ui.refreshable_method
    async def listing(self) -> None:
        """Every milestone of the project, with its progress."""
        project_id = self.project.id
        rows = await read(
            self.ctx.user, lambda s, a: services.list_milestones(session=s, actor=a, project_id=project_id)
        )
        if not rows:
            ui.label(_('No milestones yet.')).classes('text-grey-7')
        with ui.column().classes('w-full gap-2').mark('milestones'):
            for row in rows:
                milestone_card(self.project, row, functools.partial(self.edit_dialog, row))

    def edit_dialog(self, milestone: MilestoneView | None) -> None:
        """A dialog to make a milestone (None) or change or delete one."""
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('Edit milestone') if milestone else _('New milestone')).classes('text-lg font-medium')
            name = (
                ui.input(_('Name'), value=milestone.name if milestone else '').classes('w-full').mark('milestone-name')
            )
            due = date_input(_('Due'), milestone.due_date if milestone else None, 'milestone-due')
            status = ui.select(
                {k: _(v) for k, v in MILESTONE_STATUS_LABELS.items()},
                value=milestone.status if milestone else 'open',
                label=_('Status'),
            ).mark('milestone-status')
            description = ui.textarea(
                _('Description (Markdown)'), value=milestone.description if milestone else ''
            ).classes('w-full')
            fields = MilestoneFields(name, due, status, description)
            with ui.row().classes('justify-end w-full'):
                if milestone is not None:
                    ui.button(_('Delete'), on_click=lambda: self.delete(dialog, milestone)).props(
                        'flat color=negative'
                    ).mark('delete-milestone')
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(_('Save'), on_click=lambda: self.save(dialog, milestone, fields)).mark('save-milestone')
        dialog.open()

    async def save(self, dialog: ui.dialog, milestone: MilestoneView | None, fields: MilestoneFields) -> None:
        """Create or update the milestone from the dialog's fields; close the dialog when it worked."""
        try:
            due_day = parse_date(fields.due.value)
        except ValueError:
            ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
            return
        values = {
            'name': fields.name.value or '',
            'due_date': due_day,
            'description': fields.description.value or '',
            'status': fields.status.value,
        }
        if milestone is None:
            project_id = self.project.id
            done = await act(
                lambda s, a: services.create_milestone(session=s, actor=a, project_id=project_id, **values),
                success=_('Milestone created.'),
            )
        else:
            mid = milestone.id
            done = await act(
                lambda s, a: services.update_milestone(session=s, actor=a, milestone_id=mid, **values),
                success=_('Milestone saved.'),
            )
        if done is not None:
            dialog.close()
            await self.listing.refresh()

    async def delete(self, dialog: ui.dialog, milestone: MilestoneView) -> None:
        """Delete the milestone; close the dialog when it worked."""
        mid = milestone.id
        if await attempt(
            lambda s, a: services.delete_milestone(session=s, actor=a, milestone_id=mid),
            success=_('Milestone deleted.'),
        ):
            dialog.close()
            await self.listing.refresh()


@dataclass(frozen=True)
class MilestoneFields:
    """The inputs of the milestone dialog."""

    name: ui.input
    due: ui.input
    status: ui.select
    description: ui.textarea


def milestone_card(project: ProjectView, milestone: MilestoneView, on_edit: Callable[[], None]) -> None:
    """A milestone: name, due date, status, progress; an edit button for managers."""
    with ui.card().classes('w-full').props('flat bordered').mark(f'milestone:{milestone.name}'):
        with ui.row().classes('w-full items-center gap-2'):
            ui.icon('flag', color='positive' if milestone.status == 'done' else 'warning')
            ui.label(milestone.name).classes('font-medium grow')
            if milestone.due_date:
                ui.label(milestone.due_date.isoformat()).classes('text-sm')
            ui.label(_(MILESTONE_STATUS_LABELS.get(milestone.status, milestone.status))).classes('text-sm')
            if project.can_manage:
                ui.button(icon='edit', on_click=on_edit).props('flat dense').mark(f'edit-milestone:{milestone.name}')
        progress_bar(milestone.closed_items, milestone.total_items)
