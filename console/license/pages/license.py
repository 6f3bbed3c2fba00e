"""The console's license page: the license in force, the seats, the install id for the vendor, and installing a
code (pasted, or a `.lic` file), with the history of installed codes."""

from __future__ import annotations

from nicegui import events, ui

from appliance.errors import NP_
from appliance.i18n import _, format_datetime
from appliance.ui.actions import act, in_session, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page
from appliance.ui.upload import file_picker
from console.license import services
from console.license.services import FREE_SEATS

PATH = '/console/license'


def register() -> None:
    """Register /console/license."""
    protected_page(PATH, permission='console.manage')(license_page)


def _expiry_text(status: services.LicenseStatus) -> str:
    if not status.expires:
        return _('Never')
    if status.expired:
        return _('Expired on {date}: the free limit of {free} seats applies.', date=status.expires, free=FREE_SEATS)
    return _(
        NP_('{date} (in {days} day)', '{date} (in {days} days)', 'days'), date=status.expires, days=status.days_left
    )


def _status_card(status: services.LicenseStatus) -> None:
    with ui.card().classes('w-full max-w-2xl').mark('license-status'):
        ui.label(_('License in force')).classes('text-lg font-medium')
        if status.problem is not None:
            reason = _(status.problem.message, **status.problem.params)
            ui.label(
                _(
                    'The installed activation code does not verify ({reason}); the free limit of {free} seats applies. '
                    'Install the code the vendor sent again.',
                    reason=reason,
                    free=FREE_SEATS,
                )
            ).classes('text-negative').mark('license-problem')
        if status.licensed:
            rows = [
                ('licensee', _('Licensee'), status.licensee),
                ('license-id', _('License id'), status.license_id),
                ('seats', _('Seats licensed'), str(status.seats)),
                ('expires', _('Expires'), _expiry_text(status)),
            ]
        else:
            free = _('No activation code installed: the free limit of {free} seats applies.', free=FREE_SEATS)
            rows = [('licensee', _('Licensee'), free)]
        used = _('{used} of {limit}', used=status.seats_used, limit=status.seat_limit)
        rows.append(('used', _('Seats in use'), used))
        with ui.grid(columns='auto 1fr').classes('gap-x-6 gap-y-1'):
            for key, label, value in rows:
                ui.label(label).classes('text-gray-600')
                ui.label(value).mark(f'license-{key}')
        if status.seats_used > status.seat_limit:
            ui.label(
                _(
                    'More accounts are active than the limit allows. Everyone can still sign in and work; new or '
                    're-enabled accounts are refused until accounts are disabled or more seats are installed.'
                )
            ).classes('text-warning')
        if status.clock_behind:
            ui.label(
                _(
                    "The server's clock reads a date before {seen}, which it has already seen; the license is judged "
                    'on {seen}. Check the time settings.',
                    seen=status.today.isoformat(),
                )
            ).classes('text-warning').mark('license-clock')


def _install_id_row(install_id: str) -> None:
    with ui.row().classes('items-center gap-2'):
        ui.input(_('Install id (send it to the vendor to get a code for this server)'), value=install_id).props(
            'readonly outlined dense'
        ).classes('w-96').mark('install-id')

        def copy() -> None:
            ui.clipboard.write(install_id)
            ui.notify(_('Install id copied.'))

        copy_label = _('Copy')
        ui.button(icon='content_copy', on_click=copy).props(f'flat dense aria-label="{copy_label}"').mark(
            'copy-install-id'
        )


async def _history(ctx: PageContext) -> None:
    rows = await read(ctx.user, lambda s, a: services.history(session=s, actor=a))
    ui.label(_('Installed codes')).classes('text-lg font-medium mt-4')
    if not rows:
        ui.label(_('No activation code has been installed yet.')).mark('license-history-empty')
        return
    columns = [
        {'name': 'at', 'label': _('Installed'), 'field': 'at', 'align': 'left'},
        {'name': 'by', 'label': _('By'), 'field': 'by', 'align': 'left'},
        {'name': 'id', 'label': _('License id'), 'field': 'id', 'align': 'left'},
        {'name': 'licensee', 'label': _('Licensee'), 'field': 'licensee', 'align': 'left'},
        {'name': 'seats', 'label': _('Seats'), 'field': 'seats', 'align': 'right'},
        {'name': 'expires', 'label': _('Expires'), 'field': 'expires', 'align': 'left'},
    ]
    data = [
        {
            'key': row.id,
            'at': format_datetime(row.installed_at, timezone=ctx.user.timezone),
            'by': row.installed_by,
            'id': row.license_id,
            'licensee': row.licensee,
            'seats': row.seats,
            'expires': row.expires or _('Never'),
        }
        for row in rows
    ]
    ui.table(columns=columns, rows=data, row_key='key').classes('w-full max-w-4xl').mark('license-history')


async def license_page(ctx: PageContext) -> None:
    """The license in force, the install id, installing a code, and the history."""
    with frame(ctx, _('License')):

        @ui.refreshable
        async def overview() -> None:
            # Read-only; when the box's date moved past the clock's high-water mark, that is written on its own.
            status = await in_session(services.current_status)
            _status_card(status)
            _install_id_row(status.install_id)

        @ui.refreshable
        async def history() -> None:
            await _history(ctx)

        async def install(text: str) -> bool:
            row = await act(lambda s, a: services.install(session=s, actor=a, text=text))
            if row is None:
                return False
            ui.notify(
                _('Activation code installed: {licensee}, {seats} seats.', licensee=row.licensee, seats=row.seats),
                type='positive',
            )
            await overview.refresh()
            await history.refresh()
            return True

        async def install_pasted() -> None:
            if await install(code.value or ''):
                code.set_value('')

        async def install_file(event: events.UploadEventArguments) -> None:
            data = await event.file.read()
            try:
                text = data[: services.MAX_TEXT + 1].decode('utf-8')
            except UnicodeDecodeError:
                ui.notify(
                    _('This file is not an activation code. Choose the .lic file the vendor sent.'), type='negative'
                )
                return
            await install(text)

        await overview()
        with ui.card().classes('w-full max-w-2xl'):
            ui.label(_('Install an activation code')).classes('text-lg font-medium')
            code = (
                ui.textarea(_('Activation code'), placeholder='ENC1-…')
                .props('outlined autogrow spellcheck=false')
                .classes('w-full font-mono')
                .mark('license-code')
            )
            ui.button(_('Install'), icon='verified', on_click=install_pasted).mark('install-license')
            file_picker(
                install_file,
                button=_('Choose the .lic file'),
                hint=_('Or install the file the vendor sent.'),
                accept='.lic,text/plain',
                max_file_size=services.MAX_TEXT,
            ).mark('license-file')
        await history()
