"""The "subscribe from your calendar app" panel of /tasks/calendar (services: modules.tasks.ical)."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _, format_datetime
from appliance.models import User
from appliance.ui.actions import act, attempt, read
from modules.tasks import services
from modules.tasks.services import FeedStatus


def site_address() -> str:
    """This site's address as the reader's browser reached it (the feed URL must work from their calendar app)."""
    request = ui.context.client.request
    return str(request.base_url).rstrip('/') if request is not None else ''


def feed_panel(user: User, status: FeedStatus) -> None:
    """Whether a feed exists (`status`, as the page read it); create or regenerate the secret URL (shown once), or
    revoke it."""
    base = site_address()
    shown = {'status': status}
    with ui.card().classes('w-full max-w-2xl gap-2').mark('ical-panel'):
        ui.label(_('Subscribe from your calendar app')).classes('font-medium')
        ui.label(
            _(
                'A private address that lists your tasks with due dates. Anyone who has it can read them: '
                'keep it secret, and revoke it if it leaks.'
            )
        ).classes('text-sm text-grey-7')

        @ui.refreshable
        def state(url: str = '') -> None:
            status = shown['status']
            if url:
                ui.label(_('Copy it now: it is shown only once.')).classes('text-sm')
                ui.input(value=url).props('readonly outlined dense').classes('w-full').mark('ical-url')
            elif status.exists:
                used = format_datetime(status.last_used_at, timezone=user.timezone) or _('never')
                ui.label(_('You have an address. Last read by a calendar app: {when}', when=used)).classes(
                    'text-sm'
                ).mark('ical-active')
            else:
                ui.label(_('You have no address yet.')).classes('text-sm').mark('ical-none')
            with ui.row().classes('gap-2'):
                label = _('Regenerate the address') if status.exists else _('Create an address')
                ui.button(label, icon='link', on_click=create).props('unelevated dense no-caps').mark('ical-create')
                if status.exists:
                    ui.button(_('Revoke'), icon='link_off', on_click=revoke).props('flat dense no-caps').mark(
                        'ical-revoke'
                    )

        async def redraw(url: str) -> None:
            shown['status'] = await read(user, lambda s, a: services.feed_status(session=s, actor=a))
            state.refresh(url=url)

        async def create() -> None:
            path = await act(lambda s, a: services.create_feed(session=s, actor=a), success=_('New address created.'))
            if path is not None:
                await redraw(base + path)

        async def revoke() -> None:
            if await attempt(lambda s, a: services.revoke_feed(session=s, actor=a), success=_('Address revoked.')):
                await redraw('')

        state()
