"""A project's milestones tab: goals with due dates and progress; managers add, change and delete them."""

from __future__ import annotations

import functools
from collections.abc import Callable

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


def milestones_page(ctx: PageContext) -> Response | None:
    """The project's milestones with progress; managers create, edit and delete them."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    with project_frame(ctx, project, 'milestones'):

        @ui.refreshable
        def listing() -> None:
            rows = read(ctx.user, lambda s, a: services.list_milestones(session=s, actor=a, project_id=project.id))
            if not rows:
                ui.label(_('No milestones yet.')).classes('text-grey-7')
            with ui.column().classes('w-full gap-2').mark('milestones'):
                for row in rows:
                    milestone_card(project, row, functools.partial(edit_dialog, row))

        def edit_dialog(milestone: MilestoneView | None) -> None:
            with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
                ui.label(_('Edit milestone') if milestone else _('New milestone')).classes('text-lg font-medium')
                name = (
                    ui.input(_('Name'), value=milestone.name if milestone else '')
                    .classes('w-full')
                    .mark('milestone-name')
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

                def save() -> None:
                    try:
                        due_day = parse_date(due.value)
                    except ValueError:
                        ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
                        return
                    if milestone is None:
                        done = act(
                            lambda s, a: services.create_milestone(
                                session=s,
                                actor=a,
                                project_id=project.id,
                                name=name.value or '',
                                due_date=due_day,
                                description=description.value or '',
                                status=status.value,
                            ),
                            success=_('Milestone created.'),
                        )
                    else:
                        mid = milestone.id
                        done = act(
                            lambda s, a: services.update_milestone(
                                session=s,
                                actor=a,
                                milestone_id=mid,
                                name=name.value or '',
                                due_date=due_day,
                                description=description.value or '',
                                status=status.value,
                            ),
                            success=_('Milestone saved.'),
                        )
                    if done is not None:
                        dialog.close()
                        listing.refresh()

                def delete() -> None:
                    assert milestone is not None
                    mid = milestone.id
                    if attempt(
                        lambda s, a: services.delete_milestone(session=s, actor=a, milestone_id=mid),
                        success=_('Milestone deleted.'),
                    ):
                        dialog.close()
                        listing.refresh()

                with ui.row().classes('justify-end w-full'):
                    if milestone is not None:
                        ui.button(_('Delete'), on_click=delete).props('flat color=negative').mark('delete-milestone')
                    ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                    ui.button(_('Save'), on_click=save).mark('save-milestone')
            dialog.open()

        if project.can_manage:
            ui.button(_('New milestone'), icon='add', on_click=lambda: edit_dialog(None)).mark('new-milestone')
        listing()
    return None


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
