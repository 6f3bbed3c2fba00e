"""The Backups page's restore dialog: choose a snapshot, type the target's name, restore everything."""

from __future__ import annotations

from pathlib import Path

from nicegui import run, ui

from appliance.config import get_settings
from appliance.errors import ServiceError
from appliance.i18n import _, translate_error
from appliance.models import User
from appliance.modules import current_registry
from appliance.ui.actions import read
from appliance.ui.guard import current_actor
from console.backup import services
from console.backup.pages.parts.texts import snapshot_time
from console.backup.services import Repository, Snapshot, check_snapshot, restore, restore_choices


class RestoreDialog:
    """Lists the target's snapshots (restic in a worker thread), then restores the chosen one after confirmation."""

    def __init__(self, user: User, data_dir: Path, name: str) -> None:
        self.user = user
        self.tz = user.timezone
        self.data_dir = data_dir
        self.name = name

    async def open(self) -> None:
        """Read the snapshots; show the dialog when there is one."""
        actor = await current_actor()
        target = await read(self.user, lambda s, a: services.get_target(session=s, actor=a, name=self.name))

        def choices() -> tuple[Repository, list[Snapshot]]:
            repository = services.open_repository(self.data_dir, target)
            return repository, restore_choices(actor=actor, repository=repository)

        try:
            # restic (and ssh-keygen for an SFTP target) run in a worker thread: never on the event loop.
            found = await run.io_bound(choices)
        except ServiceError as error:
            ui.notify(translate_error(error), type='negative', multi_line=True)
            return
        if found is None:  # the app is shutting down
            return
        self.repository, snapshots = found
        if not snapshots:
            ui.notify(_('There is no backup in this repository yet. Run a backup first.'), type='warning')
            return
        self._build(snapshots)

    def _build(self, snapshots: list[Snapshot]) -> None:
        options = {
            item.short_id: f'{snapshot_time(item.time, self.tz)} · {item.short_id}' for item in reversed(snapshots)
        }
        with ui.dialog() as dialog, ui.card().classes('w-[36rem] max-w-full'):
            ui.label(_('Restore from "{name}"', name=self.name)).classes('text-lg font-medium')
            ui.label(
                _(
                    'Everything is replaced by the snapshot: what was added or changed since is no longer in '
                    'Enclave (the current data is moved aside into a before-restore folder on the server, not '
                    'deleted). Everyone, you included, signs in again afterwards.'
                )
            ).classes('text-sm')
            self.choice = (
                ui.select(options, value=next(iter(options)), label=_('Snapshot'))
                .classes('w-full')
                .mark('restore-snapshot')
            )
            self.confirm = ui.input(_('Type the target name to confirm')).props('dense').mark('restore-confirm')
            self.status = ui.label('').classes('text-sm')
            with ui.row().classes('justify-end w-full gap-2'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                self.button = ui.button(_('Restore'), on_click=self.go).props('color=negative').mark('restore-go')
        dialog.open()

    async def go(self) -> None:
        """Check the snapshot, then restore it, both in a worker thread; then everyone signs in again."""
        if (self.confirm.value or '').strip() != self.name:
            self.status.text = _('Type "{name}" to confirm.', name=self.name)
            return
        actor = await current_actor()
        settings = get_settings()
        snapshot = str(self.choice.value)
        registry = current_registry()
        repository = self.repository
        self.status.text = _('Restoring… Enclave shows a maintenance page to everyone until it is done.')
        self.button.disable()
        try:
            # Refuse early, as the restore would (two restic calls after removing stale locks), in a
            # worker thread: on the event loop they would stall every page of every user meanwhile.
            checked = await run.io_bound(lambda: check_snapshot(actor=actor, repository=repository, snapshot=snapshot))
            if checked is None:  # the app is shutting down
                return
            result = await run.io_bound(
                lambda: restore(
                    settings=settings,
                    registry=registry,
                    actor=actor,
                    repository=repository,
                    snapshot=snapshot,
                    target_name=self.name,
                )
            )
        except ServiceError as error:
            self.status.text = translate_error(error)
            self.status.classes(replace='text-sm text-negative')
            self.button.enable()
            return
        if result is None:
            return
        ui.notify(
            _('Restored the snapshot of {when}. Sign in again.', when=snapshot_time(result.backup_created_at, self.tz)),
            type='positive',
        )
        ui.navigate.to('/login')
