"""Notifications (newest first; opening one marks it read; "mark all read") and the admin's e-mail page."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.errors import NP_, ServiceError
from appliance.i18n import _, format_datetime, translate_error
from appliance.services import mail, notifications
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, current_actor, protected_page

PAGE_SIZE = 50


def register() -> None:
    """Register /notifications and /admin/mail."""
    protected_page('/notifications')(notifications_page)
    protected_page('/admin/mail', permission='core.manage_settings')(mail_page)


async def notifications_page(ctx: PageContext) -> None:
    """The list, with "show more", "only unread" and "mark all read"."""
    state: dict[str, Any] = {'limit': PAGE_SIZE, 'unread_only': ctx.query.get('unread') == '1'}
    with frame(ctx, _('Notifications')):
        with ui.row().classes('items-center gap-2 w-full'):
            ui.switch(
                _('Only unread'),
                value=state['unread_only'],
                on_change=lambda e: (state.update(unread_only=bool(e.value), limit=PAGE_SIZE), listing.refresh()),
            ).mark('unread-only')
            ui.button(_('Mark all read'), icon='done_all', on_click=lambda: mark_all()).props('outline').mark(
                'mark-all-read'
            )

        async def mark_all() -> None:
            count = await act(lambda s, a: notifications.mark_all_read(s, user=a))
            if count is not None:
                ui.notify(_(NP_('{n} marked as read.', '{n} marked as read.', 'n'), n=count), type='positive')
                listing.refresh()

        async def open_one(note_id: int) -> None:
            target = await act(lambda s, a: notifications.open_notification(s, user=a, notification_id=note_id))
            if target is not None:
                ui.navigate.to(target)

        @ui.refreshable
        async def listing() -> None:
            page = await read(
                ctx.user,
                lambda s, a: notifications.list_views(
                    s, user=a, unread_only=bool(state['unread_only']), limit=int(state['limit'])
                ),
            )
            if not page.items:
                ui.label(_('No notifications.') if not state['unread_only'] else _('Nothing unread.')).classes(
                    'text-gray-600'
                ).mark('no-notifications')
                return
            with ui.list().props('separator').classes('w-full').mark('notifications-list'):
                for note in page.items:
                    with (
                        ui.item(on_click=lambda n=note.id: open_one(n))
                        .props('clickable')
                        .classes('' if note.read else 'bg-blue-50')
                        .mark(f'notification:{note.id}')
                    ):
                        with ui.item_section().props('avatar'):
                            ui.icon('mark_email_unread' if not note.read else 'drafts').classes(
                                'text-primary' if not note.read else 'text-gray-400'
                            )
                        with ui.item_section():
                            ui.item_label(note.text).classes('' if note.read else 'font-medium')
                            if note.body:
                                ui.item_label(note.body).props('caption lines=2')
                        with ui.item_section().props('side'):
                            ui.item_label(format_datetime(note.created_at, timezone=ctx.user.timezone)).props('caption')
            if page.total > len(page.items):
                ui.button(
                    _('Show more'),
                    on_click=lambda: (state.update(limit=int(state['limit']) + PAGE_SIZE), listing.refresh()),
                ).props('flat').mark('more-notifications')

        await listing()


async def mail_page(ctx: PageContext) -> None:
    """The relay settings (off by default) and a "send a test e-mail" button."""
    config, has_password = await read(ctx.user, lambda s, a: mail.get_settings_for_admin(session=s, actor=a))
    with frame(ctx, _('E-mail')):
        ui.label(
            _(
                'Enclave can send a copy of notifications by e-mail through an SMTP relay on your network. '
                'It connects to nothing until you turn this on.'
            )
        ).classes('text-gray-600 max-w-2xl')
        with ui.card().classes('w-full max-w-xl'):
            enabled = ui.switch(_('Send notification e-mails'), value=config.enabled).mark('smtp-enabled')
            host = ui.input(_('Relay host'), value=config.host).classes('w-full').mark('smtp-host')
            with ui.row().classes('w-full gap-2'):
                port = ui.number(_('Port'), value=config.port, min=1, max=65535, format='%d').mark('smtp-port')
                security = (
                    ui.select(
                        {'none': _('None'), 'starttls': 'STARTTLS', 'tls': 'TLS'},
                        value=config.security,
                        label=_('Encryption'),
                    )
                    .classes('grow')
                    .mark('smtp-security')
                )
            username = (
                ui.input(_('User name (optional)'), value=config.username).classes('w-full').mark('smtp-username')
            )
            password_hint = _('Stored; leave empty to keep it') if has_password else _('Password (optional)')
            password = (
                ui.input(password_hint, password=True, password_toggle_button=True)
                .classes('w-full')
                .mark('smtp-password')
            )
            sender = ui.input(_('Sender address'), value=config.from_address).classes('w-full').mark('smtp-from')
            site = (
                ui.input(_('Address of Enclave in links (optional)'), value=config.site_url)
                .classes('w-full')
                .mark('smtp-site-url')
            )

            async def save() -> None:
                try:
                    port_number = int(port.value or 0)
                except (TypeError, ValueError):
                    port_number = 0
                new = mail.MailSettings(
                    enabled=bool(enabled.value),
                    host=host.value or '',
                    port=port_number,
                    security=security.value or 'starttls',
                    username=username.value or '',
                    password=password.value or '',
                    from_address=sender.value or '',
                    site_url=site.value or '',
                )
                await act(lambda s, a: mail.save(session=s, actor=a, config=new), success=_('Saved.'))

            ui.button(_('Save'), on_click=save).mark('save-mail')

        with ui.card().classes('w-full max-w-xl'):
            ui.label(_('Send a test e-mail')).classes('font-medium')
            target = ui.input(_('To'), value=ctx.user.email).classes('w-full').mark('test-to')
            result = ui.label('').mark('test-result')

            async def send_test() -> None:
                to = target.value or ''
                result.set_text(_('Sending…'))

                try:
                    # The relay may take its time to answer: on a database thread, the loop serves everyone else.
                    sent_to = await read(await current_actor(), lambda s, a: mail.send_test(session=s, actor=a, to=to))
                except ServiceError as error:
                    result.set_text(translate_error(error))
                    result.classes(replace='text-negative')
                    return
                result.set_text(_('Sent to {address}. Check the mailbox.', address=sent_to))
                result.classes(replace='text-positive')

            ui.button(_('Send a test e-mail'), icon='send', on_click=send_test).mark('send-test')
