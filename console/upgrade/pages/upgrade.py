"""The console's Upgrade page: the running release, an upgrade under way, "Roll back to <version>" while it is
offered, the bundles waiting in the upgrades folder, for a checked bundle what upgrading would do (version, changes,
migrations, downtime, backup, space) and "Upgrade now", and the history of upgrades and rollbacks with their logs."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from appliance import __version__
from appliance.config import get_settings
from appliance.errors import N_, NP_, ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime, translate_error
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from appliance.ui.markdown_view import markdown_view
from appliance.ui.upload import upload_button
from console.upgrade import services
from console.upgrade.services import Finished, UpgradePlan

PATH = '/console/upgrade'
UPLOAD_URL = '/api/v1/console/upgrade/bundles'
# What the root side is doing, by the last step of its journal (console/upgrade/root_helper.py).
STEPS = {
    '': N_('Waiting for the upgrade service to pick up the request…'),
    'checked': N_('The bundle is verified; installing the new release beside this one…'),
    'installed': N_('The new release is installed; stopping Enclave…'),
    'stopping': N_('Stopping Enclave…'),
    'stopped': N_('Taking a snapshot…'),
    'snapshot': N_('Snapshot taken; switching to the new release…'),
    'switching': N_('Switching to the new release…'),
    'switched': N_('Migrating the database…'),
    'migrated': N_('Starting the new release…'),
    'started': N_('Waiting for the health checks…'),
    'rolling_back': N_('Rolling back to the previous release…'),
}


def register() -> None:
    """Register /console/upgrade."""
    protected_page(PATH, permission='console.manage')(upgrade_page)


async def upgrade_page(ctx: PageContext) -> None:
    """The running release, the waiting bundles, and the check of one."""
    await UpgradePage(ctx).build()


class UpgradePage:
    """One reader's Upgrade page."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.tz = ctx.user.timezone
        self.bundles = ui.refreshable(self._bundles)
        self.under_way = ui.refreshable(self._under_way)
        self.past = ui.refreshable(self._history)
        self._shown_pending: Finished | None = None

    async def build(self) -> None:
        """The whole page, in the frame."""
        settings = get_settings()
        with frame(self.ctx, _('Upgrade')):
            ui.label(_('This box runs Enclave {version}.', version=__version__)).classes('text-base').mark(
                'running-version'
            )
            await run.io_bound(lambda: services.record_finished(settings))
            await self.under_way()
            ui.timer(3.0, self._poll)
            folder = str(settings.data_dir / 'upgrades')
            ui.label(
                _(
                    'Upload the upgrade bundle (enclave-<version>-bundle.tar) here, or copy it into {folder} on the '
                    'server by scp or from a USB disk, then check it. Checking changes nothing: it verifies the '
                    'signature and every file, and says what the upgrade would do.',
                    folder=folder,
                )
            ).classes('text-sm max-w-3xl')
            upload_button(_('Upload a bundle'), UPLOAD_URL, self.uploaded, marker='bundle-upload', accept='.tar')
            with ui.row().classes('items-center gap-2'):
                ui.label(_('Bundles waiting')).classes('text-lg font-medium')
                ui.button(_('Look again'), icon='refresh', on_click=lambda: self.bundles.refresh()).props('flat').mark(
                    'look-again'
                )
            await self.bundles()
            self.result = ui.column().classes('w-full gap-2').mark('upgrade-plan')
            ui.label(_('History')).classes('text-lg font-medium mt-4')
            await self.past()

    async def _poll(self) -> None:
        """Follow an upgrade under way (until Enclave itself stops for it)."""
        settings = get_settings()
        now = await run.io_bound(lambda: services.pending(settings))
        shown = self._shown_pending
        if (now is None) != (shown is None) or (now is not None and shown is not None and now.steps != shown.steps):
            self.under_way.refresh()
            self.past.refresh()

    async def _under_way(self) -> None:
        settings = get_settings()
        found = await run.io_bound(lambda: (services.pending(settings), services.rollback_offer(settings)))
        if found is None:  # the app is shutting down
            return
        now, offer = found
        self._shown_pending = now
        if now is not None:
            step = now.steps[-1] if now.steps else ''
            with ui.card().classes('w-full').mark('upgrade-under-way'):
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.spinner(size='sm')
                    title = (
                        _('Upgrading to Enclave {version}', version=now.to_version)
                        if now.action == 'upgrade' and now.to_version
                        else _('An upgrade or rollback is under way')
                    )
                    ui.label(title).classes('text-base font-medium')
                ui.label(_(STEPS.get(step, STEPS['']))).classes('text-sm').mark('upgrade-step')
                ui.label(
                    _(
                        'Enclave stops for a minute during the upgrade and this page loses its connection; open it '
                        'again afterwards to see how it went. If anything fails, the previous release comes back '
                        'on the data of before, by itself.'
                    )
                ).classes('text-sm text-gray-600')
            return
        if offer is not None:
            with ui.card().classes('w-full').mark('rollback-offer'):
                ui.label(
                    _(
                        'Upgraded from {old} to {new} on {when}.',
                        old=offer.from_version,
                        new=offer.to_version,
                        when=format_datetime(offer.finished_at, timezone=self.tz) if offer.finished_at else '?',
                    )
                ).classes('text-base')
                ui.button(
                    _('Roll back to {version}', version=offer.from_version),
                    icon='undo',
                    on_click=lambda: self.confirm_rollback(offer),
                ).props('outline color=negative').mark('roll-back')

    def confirm_rollback(self, offer: Finished) -> None:
        """Say plainly what a rollback loses, then ask for it."""
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg'):
            ui.label(_('Roll back to {version}?', version=offer.from_version)).classes('text-lg font-medium')
            ui.label(
                _(
                    'Enclave {old} comes back with the data of the snapshot taken just before the upgrade. Everything '
                    'changed since the upgrade (tasks, comments, files, accounts) is no longer in Enclave: it is kept '
                    'aside on the server, not deleted. Enclave is unavailable for about a minute.',
                    old=offer.from_version,
                )
            ).classes('text-sm')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(_('Roll back'), on_click=lambda: self.roll_back(dialog, offer)).props('color=negative').mark(
                    'confirm-roll-back'
                )
        dialog.open()

    async def roll_back(self, dialog: ui.dialog, offer: Finished) -> None:
        actor = await current_actor()
        settings = get_settings()
        try:
            await run.io_bound(lambda: services.request_rollback(settings=settings, actor=actor, upgrade_id=offer.id))
        except ServiceError as error:
            ui.notify(translate_error(error), type='negative')
            return
        dialog.close()
        ui.notify(_('The rollback is asked for. Enclave stops for about a minute.'), type='positive')
        self.under_way.refresh()

    async def _history(self) -> None:
        settings = get_settings()
        found = await run.io_bound(lambda: services.history(settings)) or []
        if not found:
            ui.label(_('No upgrade yet.')).classes('text-sm').mark('no-history')
            return
        for item in found[:50]:
            self._history_row(item)

    def _history_row(self, item: Finished) -> None:
        icon, color = {
            'done': ('check_circle', 'positive'),
            'rolled_back': ('undo', 'warning'),
            'failed': ('error', 'negative'),
            'refused': ('block', 'negative'),
        }.get(item.state, ('help', 'grey'))
        with ui.row().classes('items-start gap-3 w-full no-wrap').mark(f'history-{item.id}'):
            ui.icon(icon, color=color).classes('mt-0.5')
            with ui.column().classes('gap-0 flex-1 min-w-0'):
                ui.label(self._sentence(item)).classes('text-sm font-medium break-words').mark('history-what')
                facts = [
                    format_datetime(item.started_at, timezone=self.tz) if item.started_at else '',
                    _('by {who}', who=item.by) if item.by else '',
                ]
                if item.duration_seconds is not None:
                    facts.append(_('took {seconds} s', seconds=round(item.duration_seconds)))
                if item.downtime_seconds is not None:
                    facts.append(_('unavailable for {seconds} s', seconds=round(item.downtime_seconds)))
                if item.without_fresh_backup:
                    facts.append(_('without a fresh backup'))
                ui.label(' · '.join(fact for fact in facts if fact)).classes('text-xs text-gray-600')
                if item.reason and item.state != 'done':
                    ui.label(item.reason).classes('text-xs break-words').mark('history-reason')
            if item.log:
                ui.button(_('Log'), on_click=lambda i=item: self.show_log(i)).props('flat dense').mark(f'log-{item.id}')

    @staticmethod
    def _sentence(item: Finished) -> str:
        if item.action == 'rollback' and item.state == 'rolled_back':
            return _('Rolled back from {new} to {old}', new=item.to_version, old=item.from_version)
        if item.state == 'done':
            return _('Upgraded from {old} to {new}', old=item.from_version, new=item.to_version)
        if item.state == 'rolled_back':
            return _(
                'The upgrade from {old} to {new} failed and was rolled back',
                old=item.from_version,
                new=item.to_version,
            )
        if item.state == 'failed':
            return _('The upgrade to {new} failed before Enclave was stopped', new=item.to_version)
        return _('A request was refused; nothing was changed')

    def show_log(self, item: Finished) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-4xl'):
            ui.label(self._sentence(item)).classes('text-lg font-medium')
            ui.label('\n'.join(item.log)).classes(
                'text-xs font-mono whitespace-pre-wrap break-all max-h-[60vh] overflow-auto w-full'
            ).mark('upgrade-log')
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Close'), on_click=dialog.close).props('flat')
        dialog.open()

    async def uploaded(self, result: dict[str, Any]) -> None:
        """After an upload: say what failed, list the bundles again, and check the one that arrived."""
        for failure in result.get('failed', []):
            name, message = str(failure.get('name', '')), str(failure.get('message', ''))
            ui.notify(_('{name} was not uploaded: {reason}', name=name, reason=message), type='negative')
        self.bundles.refresh()
        arrived = [str(item.get('name')) for item in result.get('done', []) if isinstance(item, dict)]
        if arrived and arrived[0]:
            await self.check(arrived[0])

    async def _bundles(self) -> None:
        actor = await current_actor()
        settings = get_settings()
        try:
            found = await run.io_bound(lambda: services.waiting_bundles(settings=settings, actor=actor))
        except ServiceError as error:
            ui.label(translate_error(error)).classes('text-negative')
            return
        if not found:
            ui.label(_('No bundle in the upgrades folder.')).mark('no-bundles')
            return
        for name, size in found or []:
            with ui.row().classes('items-center gap-3 w-full').mark(f'bundle-{name}'):
                ui.icon('inventory_2')
                ui.label(name).classes('font-medium break-all')
                ui.label(format_size(size)).classes('text-sm text-gray-600')
                ui.button(_('Check'), on_click=lambda n=name: self.check(n)).props('outline').mark(f'check-{name}')

    async def check(self, name: str) -> None:
        """Check the bundle in a worker thread (it reads and hashes every file), then show the plan."""
        actor = await current_actor()
        settings = get_settings()
        self.result.clear()
        with self.result:
            ui.label(_('Checking {name}…', name=name)).classes('text-sm')
        try:
            plan = await run.io_bound(lambda: services.plan(settings=settings, actor=actor, name=name))
        except ServiceError as error:
            self.result.clear()
            with self.result, ui.row().classes('items-start gap-2 no-wrap').mark('bundle-refused'):
                ui.icon('report', color='negative').classes('mt-0.5')
                ui.label(translate_error(error)).classes('text-negative flex-1')
            return
        if plan is None:  # the app is shutting down
            return
        self.result.clear()
        with self.result:
            self.show(plan)

    def show(self, plan: UpgradePlan) -> None:
        """What upgrading to the checked bundle would do."""
        facts = plan.facts
        with ui.card().classes('w-full'):
            with ui.row().classes('items-start gap-2 no-wrap'):
                ui.icon('verified', color='positive').classes('mt-0.5')
                ui.label(
                    _('Verified: Enclave {version}, signed with the Enclave release key.', version=facts.version)
                ).classes('text-base font-medium flex-1').mark('bundle-verified')
            lines = [
                _(
                    'Upgrades from {stop} or newer; this box runs {running}.',
                    stop=facts.upgrade_from,
                    running=plan.running,
                ),
                _('Database migrations will run.') if plan.migrations else _('No database migration is needed.'),
                _(
                    NP_(
                        'Enclave is unavailable for about {seconds} second.',
                        'Enclave is unavailable for about {seconds} seconds.',
                        'seconds',
                    ),
                    seconds=plan.downtime_seconds,
                ),
                _('The installed release takes about {size}.', size=format_size(facts.install_bytes)),
            ]
            for line in lines:
                ui.label(line).classes('text-sm')
            if plan.backup_fresh and plan.last_backup is not None:
                ui.label(
                    _('Last backup to a target: {when}.', when=format_datetime(plan.last_backup, timezone=self.tz))
                ).classes('text-sm text-positive').mark('backup-fresh')
            else:
                ui.label(
                    _('No backup to a target in the last 24 hours: back up first (Maintenance → Backups).')
                ).classes('text-sm text-warning').mark('backup-stale')
            for problem in plan.problems:
                ui.label(problem).classes('text-sm text-negative').mark('space-problem')
            ui.label(_('Changes since {running}', running=plan.running)).classes('text-base font-medium mt-2')
            if plan.changes:
                markdown_view(plan.changes).mark('bundle-changes')
            else:
                ui.label(_('The bundle lists no changes.')).classes('text-sm')
            self._upgrade_controls(plan)

    def _upgrade_controls(self, plan: UpgradePlan) -> None:
        """ "Upgrade now", with the fresh-backup rule; or, without the root side, how to upgrade from a shell."""
        if not services.helper_installed():
            ui.label(
                _(
                    'This installation has no upgrade service: take a snapshot, then run install.sh from the '
                    'unpacked bundle as root and restart Enclave (README: "Upgrading").'
                )
            ).classes('text-sm text-gray-600 mt-2').mark('no-upgrade-service')
            return
        if plan.problems:
            return
        override = None
        if not plan.backup_fresh:
            override = ui.checkbox(_('Upgrade without a fresh backup (recorded in the audit log)')).mark(
                'without-fresh-backup'
            )
        button = (
            ui.button(_('Upgrade now'), icon='system_update_alt', on_click=lambda: self.confirm_upgrade(plan, override))
            .props('color=primary')
            .classes('mt-2')
            .mark('upgrade-now')
        )
        if override is not None:
            button.bind_enabled_from(override, 'value')

    def confirm_upgrade(self, plan: UpgradePlan, override: ui.checkbox | None) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg'):
            ui.label(_('Upgrade to Enclave {version}?', version=plan.facts.version)).classes('text-lg font-medium')
            ui.label(
                _(
                    'Enclave stops, a snapshot is taken, the new release starts and is checked. Everyone is '
                    'without Enclave for about {seconds} s. If anything fails, {running} comes back by itself on '
                    'the data of before.',
                    seconds=plan.downtime_seconds,
                    running=plan.running,
                )
            ).classes('text-sm')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(
                    _('Upgrade now'), on_click=lambda: self.upgrade(dialog, plan, bool(override and override.value))
                ).props('color=primary').mark('confirm-upgrade')
        dialog.open()

    async def upgrade(self, dialog: ui.dialog, plan: UpgradePlan, without_fresh_backup: bool) -> None:
        actor = await current_actor()
        settings = get_settings()
        name = plan.bundle.name
        try:
            await run.io_bound(
                lambda: services.request_upgrade(
                    settings=settings, actor=actor, name=name, without_fresh_backup=without_fresh_backup
                )
            )
        except ServiceError as error:
            ui.notify(translate_error(error), type='negative')
            return
        dialog.close()
        self.result.clear()
        ui.notify(_('The upgrade is asked for. Enclave stops in a moment.'), type='positive')
        self.under_way.refresh()
