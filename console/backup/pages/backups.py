"""The console's Backups page: targets, "Back up now" with live progress, checks and drills, the recovery kit,
restore, and the history of every run.

Long operations run through `run.io_bound` (never on the event loop) and take the maintenance lock; a second one
is refused with the name of the first. Progress is polled once a second from the backup services' `PROGRESS`.
The page is a class with parts: the target dialogs and the restore dialog live in `parts/`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import run, ui

from appliance.config import get_settings
from appliance.db import run_db
from appliance.errors import ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime, translate_error
from appliance.modules import current_registry
from appliance.services.paging import Page
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from appliance.ui.table import pager
from console.backup import services
from console.backup.pages.parts.restore_dialog import RestoreDialog
from console.backup.pages.parts.target_dialogs import AddTargetDialog, SettingsDialog
from console.backup.pages.parts.texts import kind_text, status_text

PATH = '/console/backups'
PAGE_SIZE = 20
STATUS_COLORS = {'ok': 'positive', 'failed': 'negative', 'interrupted': 'warning', 'running': 'primary'}


def register() -> None:
    """Register /console/backups."""
    protected_page(PATH, permission='console.manage')(backups_page)


async def backups_page(ctx: PageContext) -> None:
    """Targets, actions, progress and history."""
    await BackupsPage(ctx).build()


class BackupsPage:
    """One reader's Backups page: the last proven restore, the progress of a running task, the targets with their
    actions, and the history of runs."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.tz = ctx.user.timezone
        self.data_dir = get_settings().data_dir
        self.offset = 0
        self.busy = False
        self.proven = ui.refreshable(self._proven)
        self.target_list = ui.refreshable(self._target_list)
        self.history = ui.refreshable(self._history)

    async def build(self) -> None:
        """The whole page, in the frame."""
        with frame(self.ctx, _('Backups')):
            await self.proven()
            self.progress_box = ui.column().classes('w-full').mark('progress')
            # Not immediate: a timer that starts at once waits for the browser, and NiceGUI then sends the page
            # before the lists below are built.
            ui.timer(1.0, self.show_progress, immediate=False)
            with ui.row().classes('items-center gap-2'):
                ui.label(_('Targets')).classes('text-lg font-medium')
                ui.button(_('Add target'), icon='add', on_click=self.add_target).mark('add-target')
            await self.target_list()
            ui.label(_('History')).classes('text-lg font-medium mt-4')
            await self.history()

    def refresh_all(self) -> None:
        """After a task or a change of targets: the proven line, the targets and the history."""
        self.proven.refresh()
        self.target_list.refresh()
        self.history.refresh()

    async def operate(self, label: str, call: Callable[[Any], services.RunView]) -> None:
        """Run a backup, check or drill in a worker thread, one at a time, and say how it ended."""
        if self.busy:
            ui.notify(_('Wait for the current task to finish.'), type='warning')
            return
        self.busy = True  # before the first await: a second click meanwhile is refused, not run first
        try:
            # The actor is read here, in the page's context: the worker thread has none.
            who = await current_actor()
        except BaseException:
            self.busy = False
            raise
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
            self.busy = False
            self.refresh_all()

    async def _proven(self) -> None:
        status, message = await run_db(services.drills)
        color = {'green': 'positive', 'amber': 'warning', 'red': 'negative'}[status]
        with ui.row().classes('items-center gap-2').mark('last-proven'):
            ui.icon('verified' if status == 'green' else 'report', color=color)
            ui.label(message).classes(f'text-{color}')

    async def show_progress(self) -> None:
        """The running task with its latest progress line (polled once a second)."""
        current = await run_db(services.running)
        self.progress_box.clear()
        if current is None:
            return
        line = services.progress_of(current.id)
        with self.progress_box, ui.card().classes('w-full'):
            ui.label(
                _(
                    '{task} of "{target}" running since {since}',
                    task=kind_text(current.kind),
                    target=current.target,
                    since=format_datetime(current.started_at, timezone=self.tz),
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
                ui.linear_progress(show_value=False).props('indeterminate')  # no value to show yet (it showed "0")

    async def _target_list(self) -> None:
        items = await read(self.ctx.user, lambda s, a: services.list_targets(session=s, actor=a))
        if not items:
            ui.label(_('No backup target yet. Add a second disk, a USB disk, a network share or an SFTP server.')).mark(
                'no-targets'
            )
        for target in items:
            self.target_card(target)

    def target_card(self, target: Any) -> None:
        """A target: where it goes, its schedules, its recovery kit, and its actions."""
        name = target.name
        with ui.card().classes('w-full').mark(f'target-{name}'):
            with ui.row().classes('items-center gap-2 w-full'):
                ui.label(name).classes('text-base font-medium')
                ui.label(services.redact(target.repository)).classes('text-sm text-gray-600 break-all')
                if not target.enabled:
                    ui.badge(_('paused'), color='grey')
            with ui.column().classes('gap-0 text-sm').mark(f'schedules-{name}'):
                describe = services.describe_schedule
                ui.label(_('Backup: {when}', when=describe(target.backup_cron)))
                ui.label(
                    _(
                        'Keeps {daily} daily, {weekly} weekly and {monthly} monthly snapshots.',
                        daily=target.keep_daily,
                        weekly=target.keep_weekly,
                        monthly=target.keep_monthly,
                    )
                )
                ui.label(_('Repository check: {when}', when=describe(target.check_cron)))
                ui.label(
                    _(
                        'Read back {subset} of the data: {when}',
                        subset=target.read_data_subset,
                        when=describe(target.read_data_cron),
                    )
                )
                ui.label(_('Restore drill: {when}', when=describe(target.drill_cron)))
            self.kit_line(target)
            self.target_actions(name)

    def kit_line(self, target: Any) -> None:
        """Whether (and when, by whom) the target's recovery kit was downloaded."""
        if target.kit_downloaded_at is None:
            ui.label(
                _('The recovery kit was never downloaded: without its password nobody can read this backup.')
            ).classes('text-negative text-sm').mark(f'kit-missing-{target.name}')
        else:
            ui.label(
                _(
                    'Recovery kit downloaded {when} by {who}.',
                    when=format_datetime(target.kit_downloaded_at, timezone=self.tz),
                    who=target.kit_downloaded_by,
                )
            ).classes('text-sm text-gray-600')

    def target_actions(self, name: str) -> None:
        """Back up now, check, drill, recovery kit, settings and restore for the target `name`."""
        registry = current_registry()
        with ui.row().classes('gap-1'):
            ui.button(
                _('Back up now'),
                icon='backup',
                on_click=lambda: self.operate(
                    _('Backup'), lambda who: services.back_up(actor=who, registry=registry, target=name)
                ),
            ).mark(f'backup-{name}')
            ui.button(
                _('Check'),
                icon='fact_check',
                on_click=lambda: self.operate(_('Check'), lambda who: services.check(actor=who, target=name)),
            ).props('outline').mark(f'check-{name}')
            ui.button(
                _('Restore drill'),
                icon='science',
                on_click=lambda: self.operate(_('Restore drill'), lambda who: services.drill(actor=who, target=name)),
            ).props('outline').mark(f'drill-{name}')
            ui.button(_('Recovery kit'), icon='key', on_click=lambda: self.download_kit(name)).props('outline').mark(
                f'kit-{name}'
            )
            ui.button(_('Settings'), icon='tune', on_click=lambda: self.settings(name)).props('flat').mark(
                f'settings-{name}'
            )
            ui.button(
                _('Restore…'),
                icon='settings_backup_restore',
                on_click=lambda: RestoreDialog(self.ctx.user, self.data_dir, name).open(),
            ).props('flat color=negative').mark(f'restore-{name}')

    async def download_kit(self, name: str) -> None:
        """The recovery kit as a text file (its download is recorded on the target)."""
        text = await act(lambda s, a: services.recovery_kit(session=s, actor=a, data_dir=self.data_dir, name=name))
        if text is not None:
            ui.download.content(text.encode(), f'enclave-recovery-kit-{name}.txt', 'text/plain; charset=utf-8')
            await self.target_list.refresh()

    def add_target(self) -> None:
        """The Add target dialog."""

        def added() -> None:
            self.target_list.refresh()
            self.proven.refresh()

        AddTargetDialog(self.data_dir, on_added=added).open()

    async def settings(self, name: str) -> None:
        """The settings dialog of the target `name`."""

        def removed() -> None:
            self.target_list.refresh()
            self.proven.refresh()

        await SettingsDialog(
            self.ctx.user, self.data_dir, name, on_saved=self.refresh_targets, on_removed=removed
        ).open()

    def refresh_targets(self) -> None:
        """Draw the targets again."""
        self.target_list.refresh()

    async def _history(self) -> None:
        items, total = await read(
            self.ctx.user, lambda s, a: services.history(session=s, actor=a, offset=self.offset, limit=PAGE_SIZE)
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
        rows = [self._history_row(item) for item in items]
        ui.table(columns=columns, rows=rows, row_key='id').classes('w-full').mark('history-table')
        pager(Page(items=items, total=total, offset=self.offset, limit=PAGE_SIZE), self.move, PAGE_SIZE)

    def _history_row(self, item: services.RunView) -> dict[str, Any]:
        return {
            'id': item.id,
            'when': format_datetime(item.started_at, timezone=self.tz),
            'target': item.target,
            'kind': kind_text(item.kind),
            'took': f'{item.seconds:.0f} s' if item.seconds is not None else '…',
            'files': item.files_total or '',
            'added': format_size(item.bytes_added) if item.kind == 'backup' and item.status == 'ok' else '',
            'status': status_text(item.status),
            'text': item.text() if item.status != 'ok' else (item.snapshot_id[:8] or ''),
        }

    def move(self, step: int) -> None:
        """Another page of the history."""
        self.offset = max(0, self.offset + step)
        self.history.refresh()
