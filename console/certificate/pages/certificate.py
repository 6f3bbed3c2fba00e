"""The console's certificate page: the HTTPS certificate browsers see, the admin's own one pasted in, or the box's
local one again. The change itself is made by the root side (see console/certificate/services/certificate.py); the
page shows its result when it arrives."""

from __future__ import annotations

from nicegui import ui

from appliance.config import get_settings
from appliance.i18n import _, format_datetime
from appliance.ui.actions import attempt
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page
from console.certificate import services
from console.certificate.services import CertificateInfo

PATH = '/console/certificate'


def register() -> None:
    """Register /console/certificate."""
    protected_page(PATH, permission='console.manage')(certificate_page)


def _info_card(ctx: PageContext, info: CertificateInfo | None) -> None:
    with ui.card().classes('w-full max-w-2xl').mark('certificate-status'):
        ui.label(_('HTTPS certificate in use')).classes('text-lg font-medium')
        if info is None:
            ui.label(_('The certificate file cannot be read.')).classes('text-negative')
            return
        kind = _("Your organisation's own certificate") if info.own else _("Issued by this box's local CA")
        rows = [
            ('kind', _('Kind'), kind),
            ('subject', _('Subject'), info.subject),
            ('issuer', _('Issuer'), info.issuer),
            ('names', _('Names and addresses'), ', '.join(info.names) or '-'),
            ('expires', _('Valid until'), format_datetime(info.not_after, timezone=ctx.user.timezone)),
            ('fingerprint', _('SHA-256 fingerprint'), info.fingerprint),
        ]
        with ui.grid(columns='auto 1fr').classes('gap-x-6 gap-y-1'):
            for key, label, value in rows:
                ui.label(label).classes('text-gray-600')
                ui.label(value).classes('break-all').mark(f'certificate-{key}')


def _state_line(state: services.RequestState) -> None:
    if state.state == 'pending':
        ui.label(_('The change is being made…')).classes('text-amber-700').mark('certificate-pending')
    elif state.state == 'ok':
        ui.label(_('Done: {reason}', reason=state.message)).classes('text-positive').mark('certificate-result')
    elif state.state == 'error':
        ui.label(_('Refused, nothing changed: {reason}', reason=state.message)).classes('text-negative').mark(
            'certificate-result'
        )


def _section(title: str, hint: str) -> ui.card:
    """A card with a title and a line saying what it does; the caller fills it inside `with`."""
    with ui.card().classes('w-full max-w-2xl') as card:
        ui.label(title).classes('text-lg font-medium')
        ui.label(hint).classes('text-sm text-gray-600')
    return card


def _pem_area(label: str, placeholder: str, marker: str) -> ui.textarea:
    return (
        ui.textarea(label, placeholder=placeholder)
        .props('outlined spellcheck=false')
        .classes('w-full font-mono')
        .mark(marker)
    )


def certificate_page(ctx: PageContext) -> None:
    """What nginx serves, and changing it."""
    settings = get_settings()
    with frame(ctx, _('Certificate')):
        if not services.managed(settings):
            ui.label(
                _(
                    "This server's HTTPS is not run by Enclave's nginx (it is not the appliance or a bundle install): "
                    'change the certificate where your proxy is configured.'
                )
            ).mark('certificate-unmanaged')
            return
        seen = {'state': services.state(settings)}

        @ui.refreshable
        def overview() -> None:
            _info_card(ctx, services.current(settings))
            _state_line(seen['state'])

        def poll() -> None:
            # The folder is read only while a request is out: the timer runs from a request until its result.
            now = services.state(settings)
            watch.active = now.state == 'pending'
            if now != seen['state']:
                seen['state'] = now
                overview.refresh()

        async def use_own() -> None:
            cert_pem, key_pem = cert.value or '', key.value or ''
            done = await attempt(
                lambda s, a: services.request_own(
                    session=s, actor=a, settings=settings, cert_pem=cert_pem, key_pem=key_pem
                )
            )
            if done:
                key.set_value('')
                poll()

        async def use_local() -> None:
            if await attempt(lambda s, a: services.request_local(session=s, actor=a, settings=settings)):
                poll()

        overview()
        # Not immediate (the state was just read): a timer that starts at once makes NiceGUI send the page early.
        watch = ui.timer(2.0, poll, active=seen['state'].state == 'pending', immediate=False)
        with _section(
            _("Use your organisation's own certificate"),
            _(
                'Paste the certificate (PEM; intermediate certificates may follow it) and its private key without '
                'a passphrase. Both are checked before anything changes; nginx must accept them too.'
            ),
        ):
            cert = _pem_area(_('Certificate'), '-----BEGIN CERTIFICATE-----', 'certificate-pem')
            key = _pem_area(_('Private key'), '-----BEGIN PRIVATE KEY-----', 'key-pem')
            ui.button(_('Use this certificate'), icon='lock', on_click=use_own).mark('use-own-certificate')
        with _section(
            _("Back to this box's local CA"),
            _(
                "A new certificate from the local CA, for this box's names and addresses; browsers that trust "
                'the CA trust it at once.'
            ),
        ):
            ui.button(_('Use the local CA'), icon='restart_alt', on_click=use_local).props('outline').mark(
                'use-local-certificate'
            )
