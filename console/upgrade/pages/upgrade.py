"""The console's Upgrade page: the running release, the bundles waiting in the upgrades folder, and for a checked
bundle what upgrading would do (version, changes, migrations, downtime, backup, space) before anything changes."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from appliance import __version__
from appliance.config import get_settings
from appliance.errors import NP_, ServiceError
from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime, translate_error
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page
from appliance.ui.markdown_view import markdown_view
from appliance.ui.upload import upload_button
from console.upgrade import services
from console.upgrade.services import UpgradePlan

PATH = '/console/upgrade'
UPLOAD_URL = '/api/v1/console/upgrade/bundles'


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

    async def build(self) -> None:
        """The whole page, in the frame."""
        settings = get_settings()
        with frame(self.ctx, _('Upgrade')):
            ui.label(_('This box runs Enclave {version}.', version=__version__)).classes('text-base').mark(
                'running-version'
            )
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
            ui.label(
                _(
                    'To upgrade, take a snapshot, then run install.sh from the unpacked bundle as root and restart '
                    'Enclave (README: "Upgrading").'
                )
            ).classes('text-sm text-gray-600 mt-2')
