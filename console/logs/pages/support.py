"""The console's support bundle page (/console/support): make a bundle, see every file in it, download it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from appliance import context, i18n
from appliance.config import get_settings
from appliance.errors import NP_, NotAuthenticated, ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _
from appliance.modules import current_registry
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor
from console.logs import services


def support_page(ctx: PageContext) -> None:
    """Make a support bundle, see every file in it, then download it (nothing is uploaded)."""
    state: dict[str, services.Bundle | None] = {'bundle': None}
    with frame(ctx, _('Support bundle')):
        ui.label(
            _(
                'A support bundle is a zip made on this server: versions, the configuration without secrets, the '
                'health history of the last 7 days and the newest part of the app log. E-mail addresses, user '
                'names, IP addresses, passwords and tokens are replaced by placeholders. Nothing is sent anywhere: '
                'you see every file before you download it, and you decide whom to give it to.'
            )
        ).classes('max-w-3xl')
        ui.button(_('Prepare a bundle'), icon='inventory_2', on_click=lambda: prepare()).mark('support-prepare')

        @ui.refreshable
        def preview() -> None:
            bundle = state['bundle']
            if bundle is not None:
                bundle_preview(bundle, download)

        async def prepare() -> None:
            context.client_ip.set(_client_ip())
            try:
                actor = await current_actor()
                settings, registry = get_settings(), current_registry()
                # On a database thread (the bundle reads the log and the health history), as the admin read here.
                state['bundle'] = await read(
                    actor, lambda s, a: services.build_bundle(session=s, actor=a, settings=settings, registry=registry)
                )
            except NotAuthenticated as error:
                ui.notify(i18n.translate_error(error), type='warning')
                ui.navigate.to('/login')
                return
            except ServiceError as error:
                ui.notify(i18n.translate_error(error), type='negative')
                return
            await preview.refresh()

        async def download() -> None:
            bundle = state['bundle']
            if bundle is None:
                return
            data = await act(lambda s, a: services.record_download(session=s, actor=a, bundle=bundle))
            if data is not None:
                ui.download.content(data, bundle.filename, 'application/zip')

        preview()


def bundle_preview(bundle: services.Bundle, download: Callable[[], Awaitable[None]]) -> None:
    """Every file of the bundle with its first lines, and the download button."""
    ui.label(
        _(NP_('{count} file in the bundle:', '{count} files in the bundle:', 'count'), count=len(bundle.files))
    ).classes('font-medium')
    for item in bundle.files:
        with ui.card().classes('w-full').mark(f'support-file:{item.name}'):
            with ui.row().classes('items-center gap-2'):
                ui.icon('description')
                ui.label(item.name).classes('font-mono font-medium')
                ui.label(format_size(item.size)).classes('text-gray-600')
            head = item.head()
            if head:
                # Text, not ui.code: that renders Markdown to HTML, and log lines hold what outsiders sent.
                ui.label('\n'.join(head)).classes(
                    'w-full text-xs font-mono whitespace-pre overflow-x-auto bg-gray-50 p-2 rounded'
                )
            else:
                ui.label(_('(empty)')).classes('text-gray-600')
    ui.button(_('Download {name}', name=bundle.filename), icon='download', on_click=download).mark('support-download')


def _client_ip() -> str:
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ''
