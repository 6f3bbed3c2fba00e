"""A project's labels: members add them; managers rename, recolour and delete them (with a confirmation)."""

from __future__ import annotations

import asyncio
import re

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, attempt
from appliance.ui.guard import PageContext, path_int, protected_page
from modules.projects.extensions import open_project, project_frame
from modules.projects.views import ProjectView
from modules.tasks import services
from modules.tasks.services import LABEL_NAME_MAX
from modules.tasks.views import LabelView

DEFAULT_COLOR = '#64748b'
_COLOR = re.compile(r'^#[0-9a-fA-F]{6}$')


def register() -> None:
    """Register the labels page."""
    protected_page('/projects/{id}/labels', permission='tasks.use')(labels_page)


async def labels_page(ctx: PageContext) -> Response | None:
    """The labels by name; what the reader may do with them depends on their role in the project."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    page = LabelsUI(project)
    await page.load()
    with project_frame(ctx, project, 'labels'):
        page.build()
    return None


class LabelsUI:
    """The list of labels and its actions.

    The actions take turns (`changing`): each one starts from the labels the previous one left, as when a name is
    saved on Enter and again when the field is left.
    """

    def __init__(self, project: ProjectView) -> None:
        self.project = project
        self.labels: list[LabelView] = []
        self.dialogs: ui.element | None = None
        self.changing = asyncio.Lock()

    async def load(self) -> None:
        """Read the labels again."""
        self.labels = await act(lambda s, a: services.list_labels(session=s, actor=a, project_id=self.project.id)) or []

    async def reload(self) -> None:
        """Read the labels again and redraw them."""
        await self.load()
        self.body.refresh()

    def current(self, label: LabelView) -> LabelView:
        """The label as last read (a row's own copy is older after a change)."""
        return next((found for found in self.labels if found.id == label.id), label)

    def build(self) -> None:
        """The page body (the labels loaded first)."""
        if self.project.can_manage:
            hint = _('Labels mark tasks across the board and the list. Rename, recolour or delete them here.')
        elif self.project.can_edit:
            hint = _('Members add labels here or from a task. Only the project managers can rename or delete them.')
        else:
            hint = _('Only the members of the project can add labels.')
        ui.label(hint).classes('text-grey-7').mark('labels-hint')
        self.dialogs = ui.element('div')  # outside the list: redrawing the list must not close an open dialog
        self.body()

    @ui.refreshable_method
    def body(self) -> None:
        """One row per label (as last read), then the "add a label" form."""
        manage = self.project.can_manage
        with ui.card().classes('w-full max-w-2xl gap-1').mark('labels'):
            if not self.labels:
                ui.label(_('No labels yet.')).classes('text-grey-7').mark('labels-empty')
            for label in self.labels:
                with ui.row().classes('items-center gap-2 w-full no-wrap').mark(f'label-{label.id}'):
                    if manage:
                        self.editable_row(label)
                    else:
                        ui.badge(label.name).style(f'background-color: {label.color}').mark(f'label-chip-{label.id}')
            if self.project.can_edit:
                with ui.row().classes('items-center gap-2 w-full no-wrap'):
                    name = ui.input(placeholder=_('New label')).props(f'dense outlined maxlength={LABEL_NAME_MAX}')
                    name.classes('grow').mark('label-new')
                    color = ui.color_input(_('Colour'), value=DEFAULT_COLOR).props('dense outlined').classes('w-36')
                    color.mark('label-new-color')

                    async def add() -> None:
                        await self.add(name.value or '', color.value or DEFAULT_COLOR)

                    name.on('keydown.enter', add)
                    ui.button(_('Add label'), icon='add', on_click=add).props('unelevated dense no-caps').mark(
                        'label-add'
                    )

    def editable_row(self, label: LabelView) -> None:
        """Name and colour (saved when complete) and a delete button."""
        name = ui.input(value=label.name).props(f'dense outlined maxlength={LABEL_NAME_MAX}').classes('grow')
        name.mark(f'label-name-{label.id}')
        name.on('keydown.enter', lambda: self.rename(label, name.value or ''))
        name.on('blur', lambda: self.rename(label, name.value or ''))
        color = ui.color_input(value=label.color).props('dense outlined').classes('w-36')
        color.mark(f'label-color-{label.id}')
        # Only a whole #rrggbb is saved: typing "#ff0" on the way to "#ff0000" saves nothing.
        color.on_value_change(lambda e: self.recolour(label, str(e.value or '')))
        delete_label = _('Delete')
        ui.button(icon='delete', on_click=lambda: self.ask_delete(label)).props(
            f'flat dense round color=negative aria-label="{delete_label}"'
        ).mark(f'label-delete-{label.id}')

    async def add(self, name: str, color: str) -> None:
        """Add a label."""
        async with self.changing:
            if await act(
                lambda s, a: services.create_label(
                    session=s, actor=a, project_id=self.project.id, name=name.strip(), color=color.strip()
                ),
                success=_('Label added.'),
            ):
                await self.reload()

    async def rename(self, label: LabelView, name: str) -> None:
        """Rename a label when its name changed."""
        async with self.changing:
            if name.strip() == self.current(label).name:
                return
            await act(
                lambda s, a: services.update_label(session=s, actor=a, label_id=label.id, name=name.strip()),
                success=_('Label renamed.'),
            )
            await self.reload()

    async def recolour(self, label: LabelView, color: str) -> None:
        """Save a new colour once it is a whole #rrggbb."""
        async with self.changing:
            if not _COLOR.match(color) or color.lower() == self.current(label).color:
                return
            if await act(
                lambda s, a: services.update_label(session=s, actor=a, label_id=label.id, color=color),
                success=_('Colour saved.'),
            ):
                await self.reload()

    def ask_delete(self, label: LabelView) -> None:
        """Ask first: deleting takes the label off every task."""
        assert self.dialogs is not None
        with self.dialogs, ui.dialog() as dialog, ui.card().mark('delete-label-dialog'):
            ui.label(_('Delete the label "{name}"?', name=label.name)).classes('font-medium')
            ui.label(_('It is taken off every task that has it. This cannot be undone.')).classes('text-grey-7')
            with ui.row().classes('gap-2 justify-end w-full'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat').mark('delete-label-cancel')

                async def confirm() -> None:
                    async with self.changing:
                        if await attempt(
                            lambda s, a: services.delete_label(session=s, actor=a, label_id=label.id),
                            success=_('Label deleted.'),
                        ):
                            dialog.close()
                            await self.reload()

                ui.button(_('Delete'), on_click=confirm).props('unelevated color=negative').mark('delete-label-confirm')
        dialog.open()
