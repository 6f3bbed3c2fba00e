"""Pages without a session: the first-run setup wizard and the sign-in page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from appliance import context
from appliance.api.ca import local_ca
from appliance.errors import ServiceError
from appliance.i18n import LANGUAGES, _, translate_error
from appliance.services import accounts, auth, orgsettings
from appliance.ui.actions import act_anonymous, in_session
from appliance.ui.guard import setup_language
from appliance.web.security import safe_next
from appliance.web.sessions import client_ip


def _language_select(lang: str) -> ui.select:
    return ui.select(LANGUAGES, value=lang, label=_('Language')).classes('w-full').mark('language')


def _offer_local_ca() -> None:
    """On the appliance: the local CA's certificate to download, with the fingerprint to compare on the console."""
    found = local_ca()
    if found is None:
        return
    with ui.column().classes('w-full gap-1 rounded border border-amber-300 bg-amber-50 p-3').mark('local-ca'):
        ui.label(
            _(
                'This server signs its HTTPS certificate with its own certificate authority. Add that authority to '
                "your computer's or your company's trusted roots once, and browsers stop warning."
            )
        ).classes('text-sm')
        ui.link(_('Download the certificate authority (enclave-ca.crt)'), '/ca.crt').classes('text-sm').mark(
            'ca-download'
        )
        ui.label(_('Check its SHA-256 fingerprint against the one on the server console screen:')).classes('text-xs')
        ui.label(found[1]).classes('text-xs font-mono break-all').mark('ca-fingerprint')


def register() -> None:
    """Register /setup and /login."""
    ui.page('/setup', title='Enclave')(setup_page)
    ui.page('/login', title='Enclave')(login_page)


async def setup_page(request: Request) -> Any:
    """The first-run wizard: the organisation and the first administrator (only while no account exists)."""
    if not await in_session(accounts.setup_required):
        return RedirectResponse('/login', status_code=303)
    lang = setup_language(request)
    ui.page_title(_('Set up Enclave'))
    with ui.card().classes('w-full max-w-md mx-auto mt-8 gap-2'):
        ui.label(_('Set up Enclave')).classes('text-2xl font-medium')
        ui.label(
            _('Name your organisation and create the first administrator account. There are no default accounts.')
        ).classes('text-sm text-gray-600')
        _offer_local_ca()
        org = ui.input(_('Organisation name')).classes('w-full').mark('org_name')
        language = _language_select(lang)
        ui.separator()
        username = ui.input(_('Administrator username')).classes('w-full').mark('username')
        display = ui.input(_('Your name')).classes('w-full').mark('display_name')
        email = ui.input(_('E-mail (optional)')).classes('w-full').mark('email')
        password = (
            ui.input(_('Password'), password=True, password_toggle_button=True).classes('w-full').mark('password')
        )
        confirm = ui.input(_('Repeat the password'), password=True).classes('w-full').mark('confirm')

        async def finish() -> None:
            if password.value != confirm.value:
                ui.notify(_('The two passwords differ.'), type='negative')
                return
            done = await act_anonymous(
                lambda session: accounts.complete_setup(
                    session=session,
                    org_name=org.value or '',
                    language=language.value or 'en',
                    username=username.value or '',
                    display_name=display.value or '',
                    email=email.value or '',
                    password=password.value or '',
                )
            )
            if done is not None:
                ui.notify(_('Setup complete. Sign in with your new account.'), type='positive')
                ui.navigate.to('/login')

        ui.button(_('Finish setup'), on_click=finish).classes('w-full mt-2').mark('finish')
    return None


async def login_page(request: Request, next: str = '/', expired: str = '') -> Any:  # noqa: A002
    """Sign in with a password (and a two-factor code when asked); the setup wizard while no account exists."""

    def setup_or_name(session: Session) -> str | None:
        return None if accounts.setup_required(session) else orgsettings.get(session, 'org_name')

    org_name = await in_session(setup_or_name)
    if org_name is None:
        return RedirectResponse('/setup', status_code=303)
    setup_language(request)
    target = safe_next(next)
    ip = client_ip(request)
    ui.page_title(_('Sign in') + f' · {org_name}')
    with ui.card().classes('w-full max-w-sm mx-auto mt-16 gap-2'):
        ui.label(org_name).classes('text-2xl font-medium')
        if expired:
            ui.label(_('Your sign-in expired. Sign in again.')).classes('text-amber-700')
        username = ui.input(_('Username')).classes('w-full').mark('username')
        password = ui.input(_('Password'), password=True).classes('w-full').mark('password')
        code = ui.input(_('Two-factor code')).classes('w-full').mark('totp').props('inputmode=numeric')
        code.visible = False
        message = ui.label('').classes('text-negative').mark('login-error')

        def check(session: Session, name: str, secret: str, totp: str) -> str:
            return auth.authenticate(session=session, username=name, password=secret, totp_code=totp, ip=ip)

        async def submit() -> None:
            message.text = ''
            context.client_ip.set(ip)
            try:
                # argon2 takes a fifth of a second: off the event loop, or every sign-in stalls everyone. The
                # database thread gets a copy of the context, so the audit log still sees the client's address.
                name, secret, totp = username.value or '', password.value or '', code.value or ''
                ticket = await in_session(lambda session: check(session, name, secret, totp), write=True)
            except auth.TwoFactorRequired as error:
                code.visible = True
                message.text = translate_error(error)
                return
            except ServiceError as error:
                message.text = translate_error(error)
                return
            ui.navigate.to(f'/auth/session?ticket={quote(ticket)}&next={quote(target)}')

        password.on('keydown.enter', submit)
        code.on('keydown.enter', submit)
        ui.button(_('Sign in'), on_click=submit).classes('w-full').mark('sign-in')
    return None
