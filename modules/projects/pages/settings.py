"""A project's settings tab: name, key, dates, status, owner, visibility, and the danger zone."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from nicegui import ui

from appliance import i18n
from appliance.i18n import _
from appliance.ui.actions import act, attempt, read
from appliance.ui.guard import PageContext, forbidden_response, path_int
from modules.projects import services
from modules.projects.pages.parts.dates import date_input, parse_date
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.services import EDITABLE_STATUSES, STATUS_LABELS, UNSET, VISIBILITY_LABELS
from modules.projects.views import ProjectView


async def settings_page(ctx: PageContext) -> Response | None:
    """Managers edit the project, archive or restore it, and delete it after typing its key."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    if project.my_role != 'manager':
        return forbidden_response(i18n.language())
    archived = project.status == 'archived'
    # Read before the page is drawn: the whole form is there when the page arrives.
    members = {} if archived else await read_members(ctx, project)
    with project_frame(ctx, project, 'settings'):
        if archived:
            ui.label(_('This project is archived. Restore it to change it.')).classes('text-grey-8')
        else:
            edit_form(project, members)
        danger_zone(project)
    return None


def edit_form(project: ProjectView, members: dict[int, str]) -> None:
    """The project's fields (`members`: the owner choices) and a save button."""
    with ui.card().classes('w-full max-w-2xl').props('flat bordered'):
        name = ui.input(_('Name'), value=project.name).classes('w-full').mark('edit-name')
        description = (
            ui.textarea(_('Description (Markdown)'), value=project.description)
            .classes('w-full')
            .mark('edit-description')
        )
        with ui.row().classes('w-full gap-4'):
            status = (
                ui.select(
                    {key: _(STATUS_LABELS[key]) for key in EDITABLE_STATUSES}, value=project.status, label=_('Status')
                )
                .classes('w-40')
                .mark('edit-status')
            )
            visibility = (
                ui.select(
                    {key: _(label) for key, label in VISIBILITY_LABELS.items()},
                    value=project.visibility,
                    label=_('Who can see it'),
                )
                .classes('grow')
                .mark('edit-visibility')
            )
        with ui.row().classes('w-full gap-4'):
            start = date_input(_('Start'), project.start_date, 'edit-start')
            end = date_input(_('End'), project.end_date, 'edit-end')
            owner = ui.select(members, value=project.owner_id, label=_('Owner')).classes('w-56').mark('edit-owner')

        async def save() -> None:
            try:
                start_day, end_day = parse_date(start.value), parse_date(end.value)
            except ValueError:
                ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
                return
            saved = await act(
                lambda s, a: services.update_project(
                    session=s,
                    actor=a,
                    project_id=project.id,
                    name=name.value or '',
                    description=description.value or '',
                    status=status.value,
                    visibility=visibility.value,
                    start_date=start_day,
                    end_date=end_day,
                    owner_id=owner.value if owner.value and owner.value != project.owner_id else UNSET,
                ),
                success=_('Project saved.'),
            )
            if saved is not None:
                ui.navigate.to(f'/projects/{project.id}/settings')

        ui.button(_('Save'), on_click=save).mark('save-project')


async def read_members(ctx: PageContext, project: ProjectView) -> dict[int, str]:
    """{user_id: display name} of the project's members, for the owner choice."""
    views = await read(ctx.user, lambda s, a: services.list_members(session=s, actor=a, project_id=project.id))
    choices = {view.user_id: view.display_name for view in views}
    if project.owner_id and project.owner_id not in choices:  # an owner who left the project stays choosable
        choices[project.owner_id] = _('{name} (not a member)').format(name=project.owner_name)
    return choices


def danger_zone(project: ProjectView) -> None:
    """Archive or restore, and delete behind a dialog that asks for the key."""
    with ui.card().classes('w-full max-w-2xl border-red-300').props('flat bordered'):
        ui.label(_('Archive or delete')).classes('font-medium')
        with ui.row().classes('gap-2'):
            if project.status == 'archived':
                ui.button(_('Restore'), icon='unarchive', on_click=lambda: change('restore')).mark('restore-project')
            else:
                ui.button(_('Archive'), icon='archive', on_click=lambda: change('archive')).props('outline').mark(
                    'archive-project'
                )
            ui.button(_('Delete…'), icon='delete_forever', on_click=lambda: confirm_delete()).props(
                'color=negative outline'
            ).mark('delete-project')

    async def change(what: str) -> None:
        fn: Any = services.archive_project if what == 'archive' else services.restore_project
        message = _('Project archived.') if what == 'archive' else _('Project restored.')
        if await act(lambda s, a: fn(session=s, actor=a, project_id=project.id), success=message) is not None:
            ui.navigate.to(f'/projects/{project.id}/settings')

    def confirm_delete() -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('Delete this project for good?')).classes('text-lg font-medium')
            warning = _(
                'Everything in it goes too. Only an archived or empty project can be deleted. Type its key, {key}, '
                'to confirm.',
                key=project.key,
            )
            ui.label(warning)
            typed = ui.input(_('Project key')).mark('confirm-key')

            async def delete() -> None:
                if await attempt(
                    lambda s, a: services.delete_project(
                        session=s, actor=a, project_id=project.id, confirm_key=typed.value or ''
                    ),
                    success=_('Project deleted.'),
                ):
                    dialog.close()
                    ui.navigate.to('/projects')

            with ui.row().classes('justify-end w-full'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(_('Delete'), on_click=delete).props('color=negative').mark('confirm-delete')
        dialog.open()
