"""The console's Snapshots page: the local snapshots with what each holds and frees, taking one, proving, restoring
and deleting one. Every call runs in a worker thread (file walks, a database copy): never on the event loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from nicegui import run, ui

from appliance.config import get_settings
from appliance.diskspace import space
from appliance.errors import NP_, ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime, translate_error
from appliance.modules import current_registry
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from console.backup import services
from console.backup.services import SNAPSHOT_REASONS, LocalSnapshot

PATH = '/console/snapshots'


def register() -> None:
    """Register /console/snapshots."""
    protected_page(PATH, permission='console.manage')(snapshots_page)


async def snapshots_page(ctx: PageContext) -> None:
    """The list, the space line and the actions."""
    await SnapshotsPage(ctx).build()


def _seconds(value: float) -> float:
    """Tenths of a second, or hundredths under one (a small box's snapshot takes a few hundredths)."""
    return round(value, 2 if value < 1 else 1)


class SnapshotsPage:
    """One reader's Snapshots page."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.tz = ctx.user.timezone
        self.busy = False
        self.listing = ui.refreshable(self._listing)

    async def build(self) -> None:
        """The whole page, in the frame."""
        with frame(self.ctx, _('Snapshots')):
            ui.label(
                _(
                    'A snapshot is a copy of this box on its own disk, taken in seconds while everyone keeps working: '
                    'restore one to undo a mistake from yesterday without going to the backup disk. It is not a '
                    'backup: it lives on the same disk as the data.'
                )
            ).classes('text-sm max-w-3xl')
            ui.label(
                _(
                    'One is taken every day and the last 7 are kept; one is taken before every restore and the last 3 '
                    'of those are kept. The ones you take stay until you delete them.'
                )
            ).classes('text-sm text-gray-600 max-w-3xl').mark('snapshot-retention')
            with ui.row().classes('items-center gap-3'):
                self.take_button = ui.button(_('Take a snapshot'), icon='add_a_photo', on_click=self.take).mark(
                    'take-snapshot'
                )
                self.space_label = ui.label('').classes('text-sm text-gray-600').mark('snapshot-space')
            await self.listing()

    async def _listing(self) -> None:
        actor = await current_actor()
        settings = get_settings()

        def gather() -> tuple[list[LocalSnapshot], int, int]:
            found = services.list_snapshots(settings=settings, actor=actor)
            return found, space(settings.data_dir).free, services.needed_bytes(settings)

        try:
            result = await run.io_bound(gather)
        except ServiceError as error:
            ui.label(translate_error(error)).classes('text-negative')
            return
        if result is None:  # the app is shutting down
            return
        found, free, need = result
        self.space_label.text = _(
            'Free on the data volume: {free}. A new snapshot needs about {need}.',
            free=format_size(free),
            need=format_size(need),
        )
        if not found:
            ui.label(_('No snapshot yet. The first daily one is taken within ten minutes of start-up.')).mark(
                'no-snapshots'
            )
            return
        with ui.column().classes('w-full gap-2').mark('snapshot-list'):
            for item in found:
                self.card(item)

    def card(self, item: LocalSnapshot) -> None:
        """One snapshot: when and why, the release, its size on disk, its proof, and its actions."""
        with ui.card().classes('w-full').mark(f'snapshot-{item.id}'):
            with ui.row().classes('items-center gap-2 w-full'):
                ui.label(format_datetime(item.created, timezone=self.tz)).classes('text-base font-medium')
                ui.badge(_(SNAPSHOT_REASONS[item.reason]), color='primary').props('outline')
                ui.label(_('Enclave {version}', version=item.app_version)).classes('text-sm text-gray-600')
            facts = [
                _(
                    NP_('{files} file, {size} of data', '{files} files, {size} of data', 'files'),
                    files=item.blob_files,
                    size=format_size(item.blob_bytes),
                ),
                _('Deleting it frees {size}', size=format_size(max(item.freed_bytes, 0))),
                _('Took {seconds} s', seconds=_seconds(item.took_seconds)),
            ]
            ui.label(' · '.join(facts)).classes('text-sm')
            self.proof_line(item)
            with ui.row().classes('gap-2 w-full justify-end'):
                ui.button(_('Prove'), on_click=lambda i=item: self.prove(i)).props('flat').mark(f'prove-{item.id}')
                ui.button(_('Delete'), on_click=lambda i=item: self.confirm_delete(i)).props(
                    'flat color=negative'
                ).mark(f'delete-{item.id}')
                ui.button(_('Restore this snapshot'), on_click=lambda i=item: self.confirm_restore(i)).props(
                    'outline'
                ).mark(f'restore-{item.id}')

    def proof_line(self, item: LocalSnapshot) -> None:
        """Proven (when), failed (the first finding) or not proven yet."""
        with ui.row().classes('items-center gap-1 text-sm').mark(f'proof-{item.id}'):
            if item.proof == 'ok':
                ui.icon('verified', color='positive')
                when = format_datetime(datetime.fromisoformat(item.proven_at), timezone=self.tz)
                ui.label(_('Proven {when}', when=when)).classes('text-positive')
            elif item.proof == 'failed':
                ui.icon('report', color='negative')
                first = item.findings[0] if item.findings else ''
                ui.label(_('Does not match its manifest: {finding}', finding=first)).classes('text-negative')
            else:
                ui.icon('help_outline', color='grey')
                ui.label(_('Not proven yet')).classes('text-gray-600')

    async def operate(self, call: Callable[[Any], Any], done: Callable[[Any], str], *, refresh: bool = True) -> Any:
        """Run `call(actor)` in a worker thread, one at a time; notify `done(result)` or the error, and redraw the
        list (not after a restore: everyone's session has ended)."""
        if self.busy:
            ui.notify(_('Wait for the current task to finish.'), type='warning')
            return None
        self.busy = True
        self.take_button.disable()
        try:
            actor = await current_actor()
            result = await run.io_bound(call, actor)
        except ServiceError as error:
            ui.notify(translate_error(error), type='negative', multi_line=True, timeout=15000)
            return None
        finally:
            self.busy = False
            self.take_button.enable()
        if result is not None:
            ui.notify(done(result), type='positive')
            if refresh:
                self.listing.refresh()
        return result

    async def take(self) -> None:
        """Take a snapshot now."""
        settings = get_settings()
        registry = current_registry()
        await self.operate(
            lambda actor: services.take_snapshot(settings=settings, registry=registry, actor=actor),
            lambda made: _('Snapshot taken in {seconds} s.', seconds=_seconds(made.took_seconds)),
        )

    async def prove(self, item: LocalSnapshot) -> None:
        """Prove a snapshot against its manifest."""
        settings = get_settings()
        result = await self.operate(
            lambda actor: services.prove_snapshot(settings=settings, actor=actor, snapshot_id=item.id),
            lambda proven: (
                _('The snapshot matches its manifest.')
                if proven.proof == 'ok'
                else _('The snapshot does not match its manifest.')
            ),
        )
        if result is not None and result.proof != 'ok':
            ui.notify(_('The snapshot does not match its manifest.'), type='negative')

    def confirm_delete(self, item: LocalSnapshot) -> None:
        """Ask, then delete."""
        when = format_datetime(item.created, timezone=self.tz)
        with ui.dialog() as dialog, ui.card().classes('w-[32rem] max-w-full'):
            ui.label(_('Delete the snapshot of {when}?', when=when)).classes('text-lg font-medium')
            ui.label(_('This frees {size} on the data volume.', size=format_size(max(item.freed_bytes, 0))))
            with ui.row().classes('justify-end w-full gap-2'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')

                async def go() -> None:
                    dialog.close()
                    settings = get_settings()

                    def delete(actor: Any) -> LocalSnapshot:
                        services.delete_snapshot(settings=settings, actor=actor, snapshot_id=item.id)
                        return item

                    await self.operate(delete, lambda _item: _('Snapshot deleted.'))

                ui.button(_('Delete'), on_click=go).props('color=negative').mark('delete-snapshot-go')
        dialog.open()

    def confirm_restore(self, item: LocalSnapshot) -> None:
        """Explain what a restore does, ask for the word, then restore; everyone signs in again."""
        when = format_datetime(item.created, timezone=self.tz)
        word = _('restore')
        with ui.dialog() as dialog, ui.card().classes('w-[36rem] max-w-full'):
            ui.label(_('Restore the snapshot of {when}?', when=when)).classes('text-lg font-medium')
            ui.label(
                _(
                    'Everything goes back to how it was at {when}: what was added or changed since is no longer in '
                    'Enclave. Nothing is deleted: a snapshot of the present is taken first, and the current data is '
                    'moved aside into a before-restore folder on the server. Everyone, you included, signs in again.',
                    when=when,
                )
            ).classes('text-sm')
            confirm = ui.input(_('Type "{word}" to confirm', word=word)).props('dense').mark('snapshot-confirm')
            status = ui.label('').classes('text-sm')
            with ui.row().classes('justify-end w-full gap-2'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')

                async def go() -> None:
                    if (confirm.value or '').strip().lower() != word.lower():
                        status.text = _('Type "{word}" to confirm.', word=word)
                        return
                    status.text = _('Restoring… Enclave shows a maintenance page to everyone until it is done.')
                    settings = get_settings()
                    registry = current_registry()
                    result = await self.operate(
                        lambda actor: services.restore_snapshot(
                            settings=settings, registry=registry, actor=actor, snapshot_id=item.id
                        ),
                        lambda _item: _('Restored the snapshot of {when}. Sign in again.', when=when),
                        refresh=False,
                    )
                    if result is None:
                        status.text = ''
                        return
                    ui.navigate.to('/login')

                ui.button(_('Restore'), on_click=go).props('color=negative').mark('snapshot-restore-go')
        dialog.open()
