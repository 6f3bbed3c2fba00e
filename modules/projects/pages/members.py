"""A project's members tab: who is in it; managers add people, change roles and remove them."""

from __future__ import annotations

from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, attempt, read
from appliance.ui.guard import PageContext, path_int
from modules.projects import services
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.services import ROLE_LABELS


async def members_page(ctx: PageContext) -> Response | None:
    """Who is in the project; managers add people by username, change roles and remove them."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    roles = {key: _(label) for key, label in ROLE_LABELS.items()}
    with project_frame(ctx, project, 'members'):

        @ui.refreshable
        async def listing() -> None:
            members = await read(
                ctx.user, lambda s, a: services.list_members(session=s, actor=a, project_id=project.id)
            )
            with ui.column().classes('w-full gap-1').mark('members'):
                for member in members:
                    # One line each, also on a phone: the name and @username shrink (truncated), the controls not.
                    row = ui.row().classes('w-full items-center gap-2 no-wrap').mark(f'member:{member.username}')
                    with row:
                        ui.icon('person').classes('shrink-0')
                        with ui.element('div').classes('grow min-w-0 flex flex-wrap items-baseline gap-x-2'):
                            ui.label(member.display_name).classes('truncate max-w-full')
                            ui.label(f'@{member.username}').classes('text-xs text-grey-7 truncate max-w-full')
                        if project.can_manage:
                            ui.select(
                                roles,
                                value=member.role,
                                on_change=lambda e, uid=member.user_id: change(uid, e.value),
                            ).props('dense').classes('w-28 shrink-0').mark(f'role:{member.username}')
                            ui.button(icon='person_remove', on_click=lambda uid=member.user_id: remove(uid)).props(
                                'flat dense color=negative'
                            ).classes('shrink-0').mark(f'remove:{member.username}')
                        else:
                            ui.label(roles.get(member.role, member.role)).classes('text-sm w-28 shrink-0')

        async def change(user_id: int, role: str) -> None:
            await attempt(
                lambda s, a: services.change_role(
                    session=s, actor=a, project_id=project.id, user_id=user_id, role=role
                ),
                success=_('Role changed.'),
            )
            await listing.refresh()

        async def remove(user_id: int) -> None:
            await attempt(
                lambda s, a: services.remove_member(session=s, actor=a, project_id=project.id, user_id=user_id),
                success=_('Removed from the project.'),
            )
            await listing.refresh()

        if project.can_manage:
            candidates = await read(
                ctx.user, lambda s, a: services.member_candidates(session=s, actor=a, project_id=project.id)
            )
            with ui.row().classes('items-end gap-2 w-full'):
                # Pick a person by typing part of their name or username (the list filters as one types).
                username = (
                    ui.select(candidates, label=_('Person'), with_input=True)
                    .props('dense clearable')
                    .classes('grow min-w-48 max-w-md')
                    .mark('add-username')
                )
                role = ui.select(roles, value='member', label=_('Role')).props('dense').classes('w-36')
                role.mark('add-role')

                async def add() -> None:
                    added = await act(
                        lambda s, a: services.add_member(
                            session=s, actor=a, project_id=project.id, username=username.value or '', role=role.value
                        ),
                        success=_('Member added.'),
                    )
                    if added is not None:
                        username.set_options(
                            {key: text for key, text in username.options.items() if key != username.value},  # type: ignore[union-attr]
                            value=None,
                        )
                        await listing.refresh()

                ui.button(_('Add member'), icon='person_add', on_click=add).props('no-wrap').mark('add-member')
        await listing()
    return None
