"""The profile page: name, language, time zone, password, two-factor, API tokens, own sessions."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import LANGUAGES, _, format_datetime, language
from appliance.services import accounts, auth, orgsettings, tokens, twofactor
from appliance.timezones import zone_options
from appliance.ui.actions import act, attempt, in_session, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_session_id, protected_page


def register() -> None:
    """Register /profile."""

    @protected_page('/profile')
    async def profile(ctx: PageContext) -> None:
        user = ctx.user
        with frame(ctx, _('Profile')):
            if ctx.query.get('enrol2fa') and not user.totp_enabled:
                ui.label(_('Your organisation requires two-factor sign-in. Turn it on below to continue.')).classes(
                    'p-2 bg-amber-100 rounded w-full'
                ).mark('enrol-banner')
            _details_card(ctx)
            _password_card(ctx)
            await _two_factor_card(ctx)
            await _tokens_card(ctx)
            await _sessions_card(ctx)


def _details_card(ctx: PageContext) -> None:
    user = ctx.user
    with ui.card().classes('w-full max-w-xl'):
        ui.label(_('Your details')).classes('text-lg font-medium')
        name = ui.input(_('Display name'), value=user.display_name).classes('w-full').mark('display_name')
        email = ui.input(_('E-mail'), value=user.email).classes('w-full').mark('email')
        lang = ui.select(LANGUAGES, value=user.language, label=_('Language')).classes('w-full').mark('language')
        tz = (
            ui.select(
                zone_options(language(), user.timezone), value=user.timezone, label=_('Time zone'), with_input=True
            )
            .classes('w-full')
            .mark('timezone')
        )

        async def save() -> None:
            done = await act(
                lambda s, a: accounts.update_profile(
                    session=s,
                    actor=a,
                    display_name=name.value or '',
                    email=email.value or '',
                    language=lang.value or 'en',
                    timezone=tz.value or 'UTC',
                )
            )
            if done is not None:
                ui.navigate.reload()

        ui.button(_('Save'), on_click=save).mark('save-profile')


def _password_card(ctx: PageContext) -> None:
    with ui.card().classes('w-full max-w-xl'):
        ui.label(_('Change password')).classes('text-lg font-medium')
        current = ui.input(_('Current password'), password=True).classes('w-full').mark('current_password')
        new = ui.input(_('New password'), password=True).classes('w-full').mark('new_password')
        confirm = ui.input(_('Repeat the new password'), password=True).classes('w-full').mark('confirm_password')

        async def change() -> None:
            if new.value != confirm.value:
                ui.notify(_('The two passwords differ.'), type='negative')
                return
            keep = await current_session_id()
            await attempt(
                lambda s, a: accounts.change_own_password(
                    session=s,
                    actor=a,
                    current_password=current.value or '',
                    new_password=new.value or '',
                    keep_session_id=keep,
                ),
                success=_('Password changed. Your other sessions were signed out.'),
            )
            current.value = new.value = confirm.value = ''

        ui.button(_('Change password'), on_click=change).mark('change-password')


async def _two_factor_card(ctx: PageContext) -> None:
    user = ctx.user
    with ui.card().classes('w-full max-w-xl'):
        ui.label(_('Two-factor sign-in')).classes('text-lg font-medium')
        if user.totp_enabled:
            ui.label(_('Two-factor sign-in is on.')).mark('2fa-on')
            code = ui.input(_('6-digit code')).props('inputmode=numeric').mark('totp-code')

            async def turn_off() -> None:
                if await attempt(
                    lambda s, a: twofactor.disable(session=s, actor=a, code=code.value or ''),
                    success=_('Two-factor sign-in is off.'),
                ):
                    ui.navigate.reload()

            ui.button(_('Turn off'), on_click=turn_off).props('outline').mark('2fa-disable')
            return
        issuer = await in_session(lambda s: orgsettings.get(s, 'org_name'))
        secret = twofactor.new_secret()
        uri = twofactor.provisioning_uri(user, secret, issuer)
        ui.label(_('Scan this code with an authenticator app, then enter the code it shows.'))
        ui.html(twofactor.qr_svg(uri), sanitize=False).mark('2fa-qr')
        ui.label(_('Key: {secret}', secret=secret)).classes('font-mono text-sm').mark('2fa-secret')
        # The code box comes after the QR code and its instruction: one reads them first.
        code = ui.input(_('6-digit code')).props('inputmode=numeric').mark('totp-code')

        async def enable() -> None:
            if await attempt(
                lambda s, a: twofactor.enable(session=s, actor=a, secret=secret, code=code.value or ''),
                success=_('Two-factor sign-in is on.'),
            ):
                ui.navigate.reload()

        ui.button(_('Turn on'), on_click=enable).mark('2fa-enable')


async def _tokens_card(ctx: PageContext) -> None:
    with ui.card().classes('w-full max-w-xl'):
        ui.label(_('API tokens')).classes('text-lg font-medium')
        ui.label(_('A token acts with your permissions. It is shown once; keep it secret.')).classes('text-sm')
        name = ui.input(_('Token name')).mark('token-name')
        # A new token, once: what it is, the value, and a button that copies it (and says so).
        fresh = ui.column().classes('w-full gap-1 p-2 bg-green-50 rounded').mark('new-token-box')
        fresh.set_visibility(False)
        with fresh:
            ui.label(_('Your new token. Copy it now: it is not shown again.')).classes('text-sm font-medium')
            with ui.row().classes('items-center gap-2 w-full no-wrap'):
                shown = ui.label('').classes('font-mono break-all grow').mark('new-token')

                def copy() -> None:
                    ui.clipboard.write(shown.text)
                    ui.notify(_('Token copied.'), type='positive')

                ui.button(_('Copy'), icon='content_copy', on_click=copy).props('flat dense no-caps').mark('copy-token')

        @ui.refreshable
        async def token_list() -> None:
            rows = await read(
                ctx.user, lambda s, a: tokens.list_tokens(session=s, actor=a, limit=tokens.MAX_TOKENS_PER_USER).items
            )
            for row in rows:
                with ui.row().classes('items-center gap-2'):
                    state = _('revoked') if row.revoked_at else _('active')
                    ui.label(f'{row.name} · {row.prefix}… · {state}').mark(f'token:{row.name}')
                    if row.revoked_at is None:
                        ui.button(_('Revoke'), on_click=lambda r=row.id: revoke(r)).props('flat dense')

        async def revoke(token_id: int) -> None:
            await act(lambda s, a: tokens.revoke_token(session=s, actor=a, token_id=token_id))
            token_list.refresh()

        async def create() -> None:
            result = await act(lambda s, a: tokens.create_token(session=s, actor=a, name=name.value or ''))
            if result is not None:
                shown.text = result[1]
                fresh.set_visibility(True)
                ui.notify(_('Token "{name}" created.', name=name.value or ''), type='positive')
                name.value = ''
                token_list.refresh()

        ui.button(_('Create token'), on_click=create).mark('create-token')
        await token_list()


async def _sessions_card(ctx: PageContext) -> None:
    with ui.card().classes('w-full max-w-xl'):
        ui.label(_('Your sessions')).classes('text-lg font-medium')
        page = await read(ctx.user, lambda s, a: auth.list_sessions(session=s, actor=a, user_id=a.id))
        for row in page.items:
            current = _(' (this one)') if row.id == ctx.session_id else ''
            ui.label(
                f'{format_datetime(row.last_seen_at, timezone=ctx.user.timezone)} · {row.ip} · '
                f'{row.user_agent[:60]}{current}'
            ).classes('text-sm')
