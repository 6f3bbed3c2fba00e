"""The Backups page's target dialogs: adding a target (with a connection test) and a target's settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from nicegui import run, ui

from appliance.errors import NP_, ServiceError
from appliance.i18n import _, translate_error
from appliance.models import User
from appliance.ui.actions import act, attempt, read
from appliance.ui.guard import current_actor
from console.backup import services
from console.backup.pages.parts.schedule_picker import SchedulePicker
from console.backup.services import CRON_FIELDS

T = TypeVar('T')


class AddTargetDialog:
    """Name, repository, password (and the S3 keys or the box's SSH key); test the connection, then save."""

    def __init__(self, data_dir: Path, on_added: Callable[[], None]) -> None:
        self.data_dir = data_dir
        self.on_added = on_added
        self.asking_key = False

    def open(self) -> None:
        """Build the dialog and show it."""
        with ui.dialog() as self.dialog, ui.card().classes('w-[36rem] max-w-full'):
            ui.label(_('Add a backup target')).classes('text-lg font-medium')
            self.name = ui.input(_('Name'), placeholder='usb-disk').props('dense').mark('target-name')
            self.repo = (
                ui.input(_('Repository'), placeholder='/mnt/backup/enclave  ·  sftp:backup@nas:/srv/enclave')
                .props('dense')
                .classes('w-full')
                .mark('target-repo')
            )
            self.password = (
                ui.input(_('Password of an existing repository (leave empty to create a new one)'), password=True)
                .props('dense')
                .classes('w-full')
                .mark('target-password')
            )
            self._credentials()
            self.repo.on_value_change(self.on_repo_change)
            self.result = ui.label('').classes('text-sm').mark('connection-result')
            with ui.row().classes('w-full gap-2 items-center'):
                ui.button(_('Test connection'), on_click=self.test).props('outline').mark('test-connection')
                ui.space()
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat')
                ui.button(_('Save'), on_click=self.save).mark('save-target')
        self.dialog.open()

    def _credentials(self) -> None:
        with ui.column().classes('w-full') as s3_box:
            self.key_id = ui.input('AWS_ACCESS_KEY_ID').props('dense').classes('w-full')
            self.secret = ui.input('AWS_SECRET_ACCESS_KEY', password=True).props('dense').classes('w-full')
        s3_box.bind_visibility_from(self.repo, 'value', backward=lambda v: str(v or '').startswith('s3:'))
        with ui.column().classes('w-full') as sftp_box:
            ui.label(_("Add this box's key to the server's ~/.ssh/authorized_keys:")).classes('text-sm')
            self.public = ui.label('').classes('text-xs font-mono break-all').mark('ssh-public-key')
        sftp_box.bind_visibility_from(self.repo, 'value', backward=lambda v: str(v or '').startswith('sftp:'))

    async def on_repo_change(self) -> None:
        """The first SFTP target makes the box's key: ssh-keygen runs in a worker thread, once."""
        if str(self.repo.value or '').startswith('sftp:') and not self.public.text and not self.asking_key:
            self.asking_key = True
            try:
                key = await run.io_bound(services.ssh_public_key, self.data_dir)
            except ServiceError as error:
                key = translate_error(error)
            finally:
                self.asking_key = False
            if key is not None:
                self.public.text = key

    def environment(self) -> dict[str, str]:
        """The S3 keys, for an s3: repository."""
        if not str(self.repo.value or '').startswith('s3:'):
            return {}
        return {'AWS_ACCESS_KEY_ID': self.key_id.value or '', 'AWS_SECRET_ACCESS_KEY': self.secret.value or ''}

    def _failed(self, error: ServiceError) -> None:
        self.result.text = translate_error(error)
        self.result.classes(replace='text-sm text-negative')

    async def test(self) -> None:
        """Open (or look for) the repository with what was typed, in a worker thread."""
        self.result.text = _('Testing…')
        try:
            found = await run.io_bound(
                lambda: services.test_connection(
                    data_dir=self.data_dir,
                    repository=self.repo.value or '',
                    password=self.password.value or '',
                    environment=self.environment(),
                )
            )
        except ServiceError as error:
            self._failed(error)
            return
        if found is None:
            return
        count = (
            ' ' + _(NP_('{count} snapshot.', '{count} snapshots.', 'count'), count=found.snapshots)
            if found.exists
            else ''
        )
        self.result.text = _(found.message) + count
        self.result.classes(replace='text-sm text-positive')

    async def save(self) -> None:
        """Add the target: names checked (a read), restic creates or opens the repository (a worker thread, no
        database lock held meanwhile, it may take minutes), then the target is saved (a short write)."""
        name, repository, password = self.name.value or '', self.repo.value or '', self.password.value or ''
        environment = self.environment()
        self.result.text = _('Creating the repository…')
        try:
            actor: User = await current_actor()
            await read(
                actor,
                lambda s, a: services.check_new_target(
                    session=s, actor=a, data_dir=self.data_dir, name=name, repository=repository
                ),
            )
            prepared = await run.io_bound(
                lambda: services.prepare_target(
                    actor=actor,
                    data_dir=self.data_dir,
                    name=name,
                    repository=repository,
                    password=password,
                    environment=environment,
                )
            )
        except ServiceError as error:
            self._failed(error)
            return
        if prepared is None:  # the server is stopping
            return
        target = await act(
            lambda s, a: services.record_target(session=s, actor=a, data_dir=self.data_dir, prepared=prepared).name
        )
        if target is None:  # refused, and told by `act`
            services.discard(prepared)
            self.result.text = ''
            return
        created = target
        ui.notify(
            _('Target "{name}" added. Download its recovery kit now and keep it offline.', name=created),
            type='positive',
            multi_line=True,
        )
        self.dialog.close()
        self.on_added()


class SettingsDialog:
    """A target's schedules, retention and switch; removing the target."""

    def __init__(
        self, user: User, data_dir: Path, name: str, on_saved: Callable[[], None], on_removed: Callable[[], None]
    ) -> None:
        self.user = user
        self.data_dir = data_dir
        self.name = name
        self.on_saved = on_saved
        self.on_removed = on_removed

    async def open(self) -> None:
        """Build the dialog from the stored target and show it."""
        target = await read(self.user, lambda s, a: services.get_target(session=s, actor=a, name=self.name))
        with ui.dialog() as self.dialog, ui.card().classes('w-[32rem] max-w-full'):
            ui.label(_('Target "{name}"', name=self.name)).classes('text-lg font-medium')
            ui.label(_("Times are in the box's time zone.")).classes('text-sm text-gray-600')
            self.inputs = self._fields(target)
            with ui.row().classes('justify-between w-full'):
                ui.button(_('Remove target'), on_click=self.remove).props('flat color=negative').mark('remove-target')
                with ui.row().classes('gap-2'):
                    ui.button(_('Cancel'), on_click=self.dialog.close).props('flat')
                    ui.button(_('Save'), on_click=self.save).mark('save-settings')
        self.dialog.open()

    def _fields(self, target: Any) -> dict[str, Any]:
        labels = {
            'backup_cron': _('Backup'),
            'check_cron': _('Repository check'),
            'read_data_cron': _('Read back data'),
            'drill_cron': _('Restore drill'),
        }
        inputs: dict[str, Any] = {
            key: SchedulePicker(labels[key], getattr(target, key), f'setting-{key}') for key in CRON_FIELDS
        }
        inputs['read_data_subset'] = (
            ui.input(_('Share of data read back'), value=target.read_data_subset)
            .props('dense')
            .mark('setting-read_data_subset')
        )
        with ui.row():
            for key, label in (
                ('keep_daily', _('Keep daily')),
                ('keep_weekly', _('Keep weekly')),
                ('keep_monthly', _('Keep monthly')),
            ):
                inputs[key] = (
                    ui.number(label, value=getattr(target, key), min=0, max=1000, precision=0)
                    .props('dense')
                    .classes('w-28')
                    .mark(f'setting-{key}')
                )
        inputs['enabled'] = ui.switch(_('Scheduled runs on'), value=target.enabled).mark('setting-enabled')
        return inputs

    async def save(self) -> None:
        """Store what the form holds."""
        values = {key: (element.value if element.value is not None else '') for key, element in self.inputs.items()}
        saved = await act(
            lambda s, a: services.update_target(session=s, actor=a, name=self.name, values=values),
            success=_('Saved.'),
        )
        if saved is not None:
            self.dialog.close()
            self.on_saved()

    async def remove(self) -> None:
        """Remove the target (its repository stays)."""
        if await attempt(
            lambda s, a: services.remove_target(session=s, actor=a, data_dir=self.data_dir, name=self.name),
            success=_('Target removed; its repository was left untouched.'),
        ):
            self.dialog.close()
            self.on_removed()
