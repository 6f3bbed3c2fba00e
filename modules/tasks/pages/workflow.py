"""A project's workflow: the board's columns. Managers add, rename, open/close, reorder and delete them."""

from __future__ import annotations

import asyncio

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, attempt
from appliance.ui.guard import PageContext, path_int, protected_page
from modules.projects.extensions import open_project, project_frame
from modules.projects.views import ProjectView
from modules.tasks import services
from modules.tasks.views import StatusView


def register() -> None:
    """Register the workflow page."""
    protected_page('/projects/{id}/workflow', permission='tasks.use')(workflow_page)


async def workflow_page(ctx: PageContext) -> Response | None:
    """The columns in order; read-only unless the reader manages the project."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    page = WorkflowUI(project)
    await page.load()
    with project_frame(ctx, project, 'workflow'):
        page.build()
    return None


class WorkflowUI:
    """The list of columns and its actions.

    The actions take turns (`changing`): each one starts from the columns the previous one left, as when a name
    is saved on Enter and again when the field is left.
    """

    def __init__(self, project: ProjectView) -> None:
        self.project = project
        self.statuses: list[StatusView] = []
        self.changing = asyncio.Lock()

    async def load(self) -> None:
        """Read the columns again."""
        statuses = await act(lambda s, a: services.list_statuses(session=s, actor=a, project_id=self.project.id))
        self.statuses = statuses or []

    async def reload(self) -> None:
        """Read the columns again and redraw them."""
        await self.load()
        self.body.refresh()

    def build(self) -> None:
        """The page body (the columns loaded first)."""
        if not self.project.can_manage:
            ui.label(_('Only the project managers can change the workflow.')).classes('text-grey-7')
        self.body()

    @ui.refreshable_method
    def body(self) -> None:
        """One row per column (as last read), then the "add a column" form."""
        manage = self.project.can_manage
        with ui.card().classes('w-full max-w-2xl gap-1').mark('workflow'):
            for index, status in enumerate(self.statuses):
                with ui.row().classes('items-center gap-2 w-full no-wrap').mark(f'status-{status.id}'):
                    if manage:
                        name = ui.input(value=status.name).props('dense outlined maxlength=60').classes('grow')
                        name.mark(f'status-name-{status.id}')
                        name.on('keydown.enter', lambda sid=status.id, field=name: self.rename(sid, field.value or ''))
                        name.on('blur', lambda sid=status.id, field=name: self.rename(sid, field.value or ''))
                        ui.switch(_('Counts as done'), value=status.is_closed).on_value_change(
                            lambda e, sid=status.id: self.set_closed(sid, bool(e.value))
                        ).mark(f'status-closed-{status.id}')
                        self.arrows(index)
                        delete_label = _('Delete')
                        ui.button(icon='delete', on_click=lambda s=status: self.ask_delete(s)).props(
                            f'flat dense round color=negative aria-label="{delete_label}"'
                        ).mark(f'status-delete-{status.id}')
                    else:
                        ui.label(status.name).classes('grow')
                        ui.label(_('counts as done') if status.is_closed else _('open')).classes('text-sm text-grey-7')
            if manage:
                with ui.row().classes('items-center gap-2 w-full no-wrap'):
                    new_name = (
                        ui.input(placeholder=_('New column')).props('dense outlined maxlength=60').classes('grow')
                    )
                    new_name.mark('status-new')
                    closed = ui.switch(_('Counts as done')).mark('status-new-closed')
                    ui.button(
                        _('Add column'), icon='add', on_click=lambda: self.add(new_name.value or '', bool(closed.value))
                    ).props('unelevated dense no-caps').mark('status-add')

    def arrows(self, index: int) -> None:
        """Up and down buttons."""
        up, down = _('Move up'), _('Move down')
        status_id = self.statuses[index].id
        ui.button(icon='arrow_upward', on_click=lambda: self.shift(status_id, -1)).props(
            f'flat dense round aria-label="{up}"' + (' disable' if index == 0 else '')
        ).mark(f'status-up-{status_id}')
        ui.button(icon='arrow_downward', on_click=lambda: self.shift(status_id, 1)).props(
            f'flat dense round aria-label="{down}"' + (' disable' if index == len(self.statuses) - 1 else '')
        ).mark(f'status-down-{status_id}')

    async def add(self, name: str, closed: bool) -> None:
        """Add a column at the end."""
        async with self.changing:
            if await act(
                lambda s, a: services.add_status(
                    session=s, actor=a, project_id=self.project.id, name=name.strip(), is_closed=closed
                ),
                success=_('Column added.'),
            ):
                await self.reload()

    async def rename(self, status_id: int, name: str) -> None:
        """Rename a column when its name changed."""
        async with self.changing:
            current = next((s for s in self.statuses if s.id == status_id), None)
            if current is None or name.strip() == current.name:
                return
            await act(
                lambda s, a: services.update_status(session=s, actor=a, status_id=status_id, name=name.strip()),
                success=_('Column renamed.'),
            )
            await self.reload()

    async def set_closed(self, status_id: int, closed: bool) -> None:
        """Mark a column closed or open."""
        async with self.changing:
            await act(lambda s, a: services.update_status(session=s, actor=a, status_id=status_id, is_closed=closed))
            await self.reload()

    async def shift(self, status_id: int, step: int) -> None:
        """Move a column one place left (-1) or right (+1) of the order as it is stored now."""
        async with self.changing:
            await self.load()
            ids = [s.id for s in self.statuses]
            if status_id not in ids:
                return
            index = ids.index(status_id)
            other = index + step
            if not 0 <= other < len(ids):
                return
            ids[index], ids[other] = ids[other], ids[index]
            await attempt(
                lambda s, a: services.reorder_statuses(session=s, actor=a, project_id=self.project.id, status_ids=ids)
            )
            await self.reload()

    def ask_delete(self, status: StatusView) -> None:
        """Ask where the column's tasks go, then delete it."""
        others = {s.id: s.name for s in self.statuses if s.id != status.id}
        if not others:
            return
        with ui.dialog() as dialog, ui.card().mark('delete-status-dialog'):
            ui.label(_('Delete the column "{name}"?', name=status.name)).classes('font-medium')
            target = (
                ui.select(others, label=_('Move its tasks to'), value=next(iter(others)))
                .props('dense outlined')
                .classes('w-64')
                .mark('delete-status-target')
            )
            with ui.row().classes('gap-2 justify-end w-full'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')

                async def confirm() -> None:
                    move_to = int(target.value)
                    async with self.changing:
                        if await attempt(
                            lambda s, a: services.delete_status(
                                session=s, actor=a, status_id=status.id, move_to_id=move_to
                            ),
                            success=_('Column deleted.'),
                        ):
                            dialog.close()
                            await self.reload()

                ui.button(_('Delete'), on_click=confirm).props('unelevated color=negative').mark(
                    'delete-status-confirm'
                )
        dialog.open()
