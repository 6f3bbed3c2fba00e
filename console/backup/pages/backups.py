"""The console's Backups page: targets, "Back up now" with live progress, checks and drills, the recovery kit,
restore, and the history of every run.

Long operations run through `run.io_bound` (never on the event loop) and take the maintenance lock; a second one
is refused with the name of the first. Progress is polled once a second from `console.runs.PROGRESS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nicegui import run, ui

from appliance.config import get_settings
from appliance.db import get_database
from appliance.errors import ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime, translate_error
from appliance.modules import current_registry
from appliance.ui.actions import act, attempt, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from console.backup import services
from console.backup.services import CRON_FIELDS, Repository, Snapshot, check_snapshot, restore, restore_choices

PATH = '/console/backups'
PAGE_SIZE = 20
STATUS_COLORS = {'ok': 'positive', 'failed': 'negative', 'interrupted': 'warning', 'running': 'primary'}


def register() -> None:
    """Register /console/backups."""
    protected_page(PATH, permission='console.manage')(backups_page)


def _kind(kind: str) -> str:
    return {
        'backup': _('Backup'),
        'forget': _('Retention'),
        'check': _('Check'),
        'read_data': _('Check (read data)'),
        'drill': _('Restore drill'),
        'restore': _('Restore'),
    }.get(kind, kind)


def _status(status: str) -> str:
    return {'ok': _('OK'), 'failed': _('Failed'), 'interrupted': _('Interrupted'), 'running': _('Running')}.get(
        status, status
    )


def _snapshot_time(text: str, timezone: str) -> str:
    """A time restic or a manifest wrote (ISO 8601 with its offset) as the reader reads every other time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # not a time after all: show what was written rather than nothing
        return text
    if moment.tzinfo is None:  # both write an offset; a bare time would be the writer's UTC
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, timezone=timezone)


def backups_page(ctx: PageContext) -> None:
    """Targets, actions, progress and history."""
    tz = ctx.user.timezone
    data_dir = get_settings().data_dir
    state: dict[str, Any] = {'offset': 0, 'busy': False}

    async def operate(label: str, call: Callable[[Any], services.RunView]) -> None:
        # The actor is read here, in the page's context: the worker thread has none.
        who = current_actor()
        if state['busy']:
            ui.notify(_('Wait for the current task to finish.'), type='warning')
            return
        state['busy'] = True
        ui.notify(_('{task} started.', task=label))
        try:
            view = await run.io_bound(call, who)
        except ServiceError as error:
            ui.notify(translate_error(error), type='negative', multi_line=True, timeout=15000)
        else:
            if view is None:  # the app is shutting down
                return
            if view.status == 'ok':
                ui.notify(_('{task} finished.', task=label), type='positive')
            else:
                ui.notify(f'{label}: {view.text()}', type='negative', multi_line=True, timeout=15000)
        finally:
            state['busy'] = False
            proven.refresh()
            target_list.refresh()
            history.refresh()

    with frame(ctx, _('Backups')):

        @ui.refreshable
        def proven() -> None:
            status, message = services.drills()
            color = {'green': 'positive', 'amber': 'warning', 'red': 'negative'}[status]
            with ui.row().classes('items-center gap-2').mark('last-proven'):
                ui.icon('verified' if status == 'green' else 'report', color=color)
                ui.label(message).classes(f'text-{color}')

        proven()

        progress_box = ui.column().classes('w-full').mark('progress')

        def show_progress() -> None:
            current = services.running()
            progress_box.clear()
            if current is None:
                return
            line = services.progress_of(current.id)
            with progress_box, ui.card().classes('w-full'):
                ui.label(
                    _(
                        '{task} of "{target}" running since {since}',
                        task=_kind(current.kind),
                        target=current.target,
                        since=format_datetime(current.started_at, timezone=tz),
                    )
                )
                if line is not None:
                    ui.linear_progress(value=round(line.percent_done, 3), show_value=False).props('instant-feedback')
                    ui.label(
                        _(
                            '{done} of {total} files, {bytes_done} of {bytes_total}',
                            done=line.files_done,
                            total=line.total_files,
                            bytes_done=format_size(line.bytes_done),
                            bytes_total=format_size(line.total_bytes),
                        )
                    ).classes('text-sm text-gray-600')
                else:
                    ui.linear_progress().props('indeterminate')

        ui.timer(1.0, show_progress)

        with ui.row().classes('items-center gap-2'):
            ui.label(_('Targets')).classes('text-lg font-medium')
            ui.button(_('Add target'), icon='add', on_click=lambda: add_dialog()).mark('add-target')

        @ui.refreshable
        def target_list() -> None:
            items = read(ctx.user, lambda s, a: services.list_targets(session=s, actor=a))
            if not items:
                ui.label(
                    _('No backup target yet. Add a second disk, a USB disk, a network share or an SFTP server.')
                ).mark('no-targets')
            for target in items:
                target_card(target)

        def target_card(target: Any) -> None:
            name = target.name
            with ui.card().classes('w-full').mark(f'target-{name}'):
                with ui.row().classes('items-center gap-2 w-full'):
                    ui.label(name).classes('text-base font-medium')
                    ui.label(services.redact(target.repository)).classes('text-sm text-gray-600 break-all')
                    if not target.enabled:
                        ui.badge(_('paused'), color='grey')
                ui.label(
                    _(
                        'Backup "{cron}", keep {daily} daily, {weekly} weekly, {monthly} monthly; check "{check}", '
                        'read {subset} "{read}", drill "{drill}"',
                        cron=target.backup_cron,
                        daily=target.keep_daily,
                        weekly=target.keep_weekly,
                        monthly=target.keep_monthly,
                        check=target.check_cron,
                        subset=target.read_data_subset,
                        read=target.read_data_cron,
                        drill=target.drill_cron,
                    )
                ).classes('text-sm')
                if target.kit_downloaded_at is None:
                    ui.label(
                        _('The recovery kit was never downloaded: without its password nobody can read this backup.')
                    ).classes('text-negative text-sm').mark(f'kit-missing-{name}')
                else:
                    ui.label(
                        _(
                            'Recovery kit downloaded {when} by {who}.',
                            when=format_datetime(target.kit_downloaded_at, timezone=tz),
                            who=target.kit_downloaded_by,
                        )
                    ).classes('text-sm text-gray-600')
                registry = current_registry()
                with ui.row().classes('gap-1'):
                    ui.button(
                        _('Back up now'),
                        icon='backup',
                        on_click=lambda: operate(
                            _('Backup'), lambda who: services.back_up(actor=who, registry=registry, target=name)
                        ),
                    ).mark(f'backup-{name}')
                    ui.button(
                        _('Check'),
                        icon='fact_check',
                        on_click=lambda: operate(_('Check'), lambda who: services.check(actor=who, target=name)),
                    ).props('outline').mark(f'check-{name}')
                    ui.button(
                        _('Restore drill'),
                        icon='science',
                        on_click=lambda: operate(
                            _('Restore drill'), lambda who: services.drill(actor=who, target=name)
                        ),
                    ).props('outline').mark(f'drill-{name}')
                    ui.button(_('Recovery kit'), icon='key', on_click=lambda: download_kit(name)).props('outline').mark(
                        f'kit-{name}'
                    )
                    ui.button(_('Settings'), icon='tune', on_click=lambda: settings_dialog(name)).props('flat').mark(
                        f'settings-{name}'
                    )
                    ui.button(
                        _('Restore…'), icon='settings_backup_restore', on_click=lambda: restore_dialog(name)
                    ).props('flat color=negative').mark(f'restore-{name}')

        target_list()

        def download_kit(name: str) -> None:
            text = act(lambda s, a: services.recovery_kit(session=s, actor=a, data_dir=data_dir, name=name))
            if text is not None:
                ui.download.content(text.encode(), f'enclave-recovery-kit-{name}.txt', 'text/plain; charset=utf-8')
                target_list.refresh()

        def add_dialog() -> None:
            with ui.dialog() as dialog, ui.card().classes('w-[36rem] max-w-full'):
                ui.label(_('Add a backup target')).classes('text-lg font-medium')
                name = ui.input(_('Name'), placeholder='usb-disk').props('dense').mark('target-name')
                repo = (
                    ui.input(_('Repository'), placeholder='/mnt/backup/enclave  ·  sftp:backup@nas:/srv/enclave')
                    .props('dense')
                    .classes('w-full')
                    .mark('target-repo')
                )
                password = (
                    ui.input(_('Password of an existing repository (leave empty to create a new one)'), password=True)
                    .props('dense')
                    .classes('w-full')
                    .mark('target-password')
                )
                with ui.column().classes('w-full') as s3_box:
                    key_id = ui.input('AWS_ACCESS_KEY_ID').props('dense').classes('w-full')
                    secret = ui.input('AWS_SECRET_ACCESS_KEY', password=True).props('dense').classes('w-full')
                s3_box.bind_visibility_from(repo, 'value', backward=lambda v: str(v or '').startswith('s3:'))
                with ui.column().classes('w-full') as sftp_box:
                    ui.label(_("Add this box's key to the server's ~/.ssh/authorized_keys:")).classes('text-sm')
                    public = ui.label('').classes('text-xs font-mono break-all').mark('ssh-public-key')
                sftp_box.bind_visibility_from(repo, 'value', backward=lambda v: str(v or '').startswith('sftp:'))

                asking = {'key': False}

                async def on_repo_change() -> None:
                    if str(repo.value or '').startswith('sftp:') and not public.text and not asking['key']:
                        # The first SFTP target makes the box's key: ssh-keygen runs in a worker thread, once.
                        asking['key'] = True
                        try:
                            key = await run.io_bound(services.ssh_public_key, data_dir)
                        except ServiceError as error:
                            key = translate_error(error)
                        finally:
                            asking['key'] = False
                        if key is not None:
                            public.text = key

                repo.on_value_change(on_repo_change)
                result = ui.label('').classes('text-sm').mark('connection-result')

                def environment() -> dict[str, str]:
                    if not str(repo.value or '').startswith('s3:'):
                        return {}
                    return {'AWS_ACCESS_KEY_ID': key_id.value or '', 'AWS_SECRET_ACCESS_KEY': secret.value or ''}

                async def test() -> None:
                    result.text = _('Testing…')
                    try:
                        found = await run.io_bound(
                            lambda: services.test_connection(
                                data_dir=data_dir,
                                repository=repo.value or '',
                                password=password.value or '',
                                environment=environment(),
                            )
                        )
                    except ServiceError as error:
                        result.text = translate_error(error)
                        result.classes(replace='text-sm text-negative')
                        return
                    if found is None:
                        return
                    result.text = _(found.message) + (
                        ' ' + _('{count} snapshots.', count=found.snapshots) if found.exists else ''
                    )
                    result.classes(replace='text-sm text-positive')

                async def save() -> None:
                    def call() -> Any:
                        with get_database().session() as session:
                            created = services.add_target(
                                session=session,
                                actor=current_actor_now,
                                data_dir=data_dir,
                                name=name.value or '',
                                repository=repo.value or '',
                                password=password.value or '',
                                environment=environment(),
                            )
                            return created.name

                    current_actor_now = current_actor()
                    result.text = _('Creating the repository…')
                    try:
                        created = await run.io_bound(call)
                    except ServiceError as error:
                        result.text = translate_error(error)
                        result.classes(replace='text-sm text-negative')
                        return
                    ui.notify(
                        _('Target "{name}" added. Download its recovery kit now and keep it offline.', name=created),
                        type='positive',
                        multi_line=True,
                    )
                    dialog.close()
                    target_list.refresh()
                    proven.refresh()

                with ui.row().classes('justify-end w-full gap-2'):
                    ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                    ui.button(_('Test connection'), on_click=test).props('outline').mark('test-connection')
                    ui.button(_('Save'), on_click=save).mark('save-target')
            dialog.open()

        def settings_dialog(name: str) -> None:
            target = read(ctx.user, lambda s, a: services.get_target(session=s, actor=a, name=name))
            with ui.dialog() as dialog, ui.card().classes('w-[32rem] max-w-full'):
                ui.label(_('Target "{name}"', name=name)).classes('text-lg font-medium')
                ui.label(_("Schedules use cron syntax in the box's time zone: minute hour day month weekday.")).classes(
                    'text-sm text-gray-600'
                )
                labels = {
                    'backup_cron': _('Backup'),
                    'check_cron': _('Repository check'),
                    'read_data_cron': _('Read back data'),
                    'drill_cron': _('Restore drill'),
                }
                inputs: dict[str, Any] = {
                    key: ui.input(labels[key], value=getattr(target, key)).props('dense').mark(f'setting-{key}')
                    for key in CRON_FIELDS
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

                def save() -> None:
                    values = {
                        key: (element.value if element.value is not None else '') for key, element in inputs.items()
                    }
                    if (
                        act(
                            lambda s, a: services.update_target(session=s, actor=a, name=name, values=values),
                            success=_('Saved.'),
                        )
                        is not None
                    ):
                        dialog.close()
                        target_list.refresh()

                def remove() -> None:
                    if attempt(
                        lambda s, a: services.remove_target(session=s, actor=a, data_dir=data_dir, name=name),
                        success=_('Target removed; its repository was left untouched.'),
                    ):
                        dialog.close()
                        target_list.refresh()
                        proven.refresh()

                with ui.row().classes('justify-between w-full'):
                    ui.button(_('Remove target'), on_click=remove).props('flat color=negative').mark('remove-target')
                    with ui.row().classes('gap-2'):
                        ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                        ui.button(_('Save'), on_click=save).mark('save-settings')
            dialog.open()

        async def restore_dialog(name: str) -> None:
            actor = current_actor()
            target = read(ctx.user, lambda s, a: services.get_target(session=s, actor=a, name=name))

            def choices() -> tuple[Repository, list[Snapshot]]:
                repository = services.open_repository(data_dir, target)
                return repository, restore_choices(actor=actor, repository=repository)

            try:
                # restic (and ssh-keygen for an SFTP target) run in a worker thread: never on the event loop.
                found = await run.io_bound(choices)
            except ServiceError as error:
                ui.notify(translate_error(error), type='negative', multi_line=True)
                return
            if found is None:  # the app is shutting down
                return
            repository, snapshots = found
            if not snapshots:
                ui.notify(_('There is no backup in this repository yet. Run a backup first.'), type='warning')
                return
            options = {
                item.short_id: f'{_snapshot_time(item.time, tz)} · {item.short_id}' for item in reversed(snapshots)
            }
            with ui.dialog() as dialog, ui.card().classes('w-[36rem] max-w-full'):
                ui.label(_('Restore from "{name}"', name=name)).classes('text-lg font-medium')
                ui.label(
                    _(
                        'Everything is replaced by the snapshot: what was added or changed since is no longer in '
                        'Enclave (the current data is moved aside into a before-restore folder on the server, not '
                        'deleted). Everyone, you included, signs in again afterwards.'
                    )
                ).classes('text-sm')
                choice = (
                    ui.select(options, value=next(iter(options)), label=_('Snapshot'))
                    .classes('w-full')
                    .mark('restore-snapshot')
                )
                confirm = ui.input(_('Type the target name to confirm')).props('dense').mark('restore-confirm')
                status = ui.label('').classes('text-sm')

                async def go() -> None:
                    if (confirm.value or '').strip() != name:
                        status.text = _('Type "{name}" to confirm.', name=name)
                        return
                    actor = current_actor()
                    settings = get_settings()
                    snapshot = str(choice.value)
                    registry = current_registry()
                    status.text = _('Restoring… Enclave shows a maintenance page to everyone until it is done.')
                    button.disable()
                    try:
                        # Refuse early, as the restore would (two restic calls after removing stale locks), in a
                        # worker thread: on the event loop they would stall every page of every user meanwhile.
                        checked = await run.io_bound(
                            lambda: check_snapshot(actor=actor, repository=repository, snapshot=snapshot)
                        )
                        if checked is None:  # the app is shutting down
                            return
                        result = await run.io_bound(
                            lambda: restore(
                                settings=settings,
                                registry=registry,
                                actor=actor,
                                repository=repository,
                                snapshot=snapshot,
                                target_name=name,
                            )
                        )
                    except ServiceError as error:
                        status.text = translate_error(error)
                        status.classes(replace='text-sm text-negative')
                        button.enable()
                        return
                    if result is None:
                        return
                    ui.notify(
                        _(
                            'Restored the snapshot of {when}. Sign in again.',
                            when=_snapshot_time(result.backup_created_at, tz),
                        ),
                        type='positive',
                    )
                    ui.navigate.to('/login')

                with ui.row().classes('justify-end w-full gap-2'):
                    ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                    button = ui.button(_('Restore'), on_click=go).props('color=negative').mark('restore-go')
            dialog.open()

        ui.label(_('History')).classes('text-lg font-medium mt-4')

        @ui.refreshable
        def history() -> None:
            items, total = read(
                ctx.user, lambda s, a: services.history(session=s, actor=a, offset=state['offset'], limit=PAGE_SIZE)
            )
            columns = [
                {'name': 'when', 'label': _('Started'), 'field': 'when', 'align': 'left'},
                {'name': 'target', 'label': _('Target'), 'field': 'target', 'align': 'left'},
                {'name': 'kind', 'label': _('Task'), 'field': 'kind', 'align': 'left'},
                {'name': 'took', 'label': _('Duration'), 'field': 'took', 'align': 'right'},
                {'name': 'files', 'label': _('Files'), 'field': 'files', 'align': 'right'},
                {'name': 'added', 'label': _('Added'), 'field': 'added', 'align': 'right'},
                {'name': 'status', 'label': _('Result'), 'field': 'status', 'align': 'left'},
                {'name': 'text', 'label': _('Details'), 'field': 'text', 'align': 'left'},
            ]
            rows = [
                {
                    'id': item.id,
                    'when': format_datetime(item.started_at, timezone=tz),
                    'target': item.target,
                    'kind': _kind(item.kind),
                    'took': f'{item.seconds:.0f} s' if item.seconds is not None else '…',
                    'files': item.files_total or '',
                    'added': format_size(item.bytes_added) if item.kind == 'backup' and item.status == 'ok' else '',
                    'status': _status(item.status),
                    'text': item.text() if item.status != 'ok' else (item.snapshot_id[:8] or ''),
                }
                for item in items
            ]
            ui.table(columns=columns, rows=rows, row_key='id').classes('w-full').mark('history-table')
            with ui.row().classes('items-center gap-2'):
                ui.label(
                    _(
                        '{first}–{last} of {total}',
                        first=min(total, state['offset'] + 1),
                        last=state['offset'] + len(items),
                        total=total,
                    )
                )
                ui.button(icon='chevron_left', on_click=lambda: move(-PAGE_SIZE)).props(
                    'flat dense' + (' disable' if state['offset'] == 0 else '')
                )
                ui.button(icon='chevron_right', on_click=lambda: move(PAGE_SIZE)).props(
                    'flat dense' + (' disable' if state['offset'] + PAGE_SIZE >= total else '')
                )

        def move(step: int) -> None:
            state['offset'] = max(0, state['offset'] + step)
            history.refresh()

        history()
