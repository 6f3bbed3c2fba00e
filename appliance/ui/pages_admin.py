"""Admin pages: users, sessions, audit log, organisation settings."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from sqlalchemy.orm import Session

from appliance.i18n import LANGUAGES, _, format_datetime
from appliance.models import User
from appliance.modules import current_registry
from appliance.services import accounts, audit, audit_texts, auth, directory, orgsettings
from appliance.services.paging import Page
from appliance.ui.actions import act, in_session, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page
from appliance.ui.pages_directory import active_users, department_options
from appliance.ui.table import paged_table, pager


def role_label(role: str) -> str:
    """A role as the reader reads it ('管理员', not 'admin')."""
    label = accounts.ROLE_LABELS.get(role)
    return _(label) if label else role


PAGE_SIZE = 25


def register() -> None:
    """Register the /admin pages."""
    protected_page('/admin/users', permission='core.manage_users')(users_page)
    protected_page('/admin/sessions', permission='core.manage_sessions')(sessions_page)
    protected_page('/admin/audit', permission='core.view_audit')(audit_page)
    protected_page('/admin/settings', permission='core.manage_settings')(settings_page)


async def users_page(ctx: PageContext) -> None:
    """List, find, create and edit users."""
    await UsersPage(ctx).build()


class UsersPage:
    """The users list (found by name, one page at a time) and the dialog that creates or edits one."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.roles = current_registry().role_names()
        self.offset = 0
        self.query = ''

    async def build(self) -> None:
        await self.load_choices()
        with frame(self.ctx, _('Users')):
            with ui.row().classes('items-center gap-2 w-full'):
                self.search = ui.input(_('Find a user')).props('clearable dense').mark('user-filter')
                ui.button(_('New user'), icon='person_add', on_click=lambda: self.edit_dialog(None, None)).mark(
                    'new-user'
                )
            self.search.on('keydown.enter', self.apply_filter)
            self.search.on('clear', self.apply_filter)
            await self.table()

    @ui.refreshable_method
    async def table(self) -> None:
        query, offset = self.query, self.offset
        page = await read(
            self.ctx.user,
            lambda s, a: accounts.list_users(session=s, actor=a, query=query, offset=offset, limit=PAGE_SIZE),
        )
        columns = [
            {'name': 'username', 'label': _('Username'), 'field': 'username', 'align': 'left'},
            {'name': 'name', 'label': _('Name'), 'field': 'name', 'align': 'left'},
            {'name': 'roles', 'label': _('Roles'), 'field': 'roles', 'align': 'left'},
            {'name': 'state', 'label': _('State'), 'field': 'state', 'align': 'left'},
            {'name': 'last', 'label': _('Last sign-in'), 'field': 'last', 'align': 'left'},
        ]
        rows = [
            {
                'id': u.id,
                'username': u.username,
                'name': u.display_name,
                'roles': ', '.join(role_label(role) for role in sorted(u.role_names)),
                'state': _('Enabled') if u.is_active else _('Disabled'),
                'last': format_datetime(u.last_login_at, timezone=self.ctx.user.timezone),
            }
            for u in page.items
        ]
        grid = paged_table(page, columns=columns, rows=rows, move=self.move, size=PAGE_SIZE, marker='users-table')
        grid.on('row-click', lambda e: self.open_user(e.args[1]['id']))

    def move(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        self.table.refresh()

    def apply_filter(self) -> None:
        self.query = self.search.value or ''
        self.offset = 0
        self.table.refresh()

    async def load_choices(self) -> None:
        """The departments and the people one can report to, as the dialog offers them (again after each save)."""
        roots = await read(self.ctx.user, lambda s, a: directory.tree(s, a))
        self.departments = department_options(roots)
        self.managers = await read(self.ctx.user, lambda s, a: active_users(s))

    async def open_user(self, user_id: int) -> None:
        user = await read(self.ctx.user, lambda s, a: accounts.get_user(session=s, actor=a, user_id=user_id))
        placed = await read(self.ctx.user, lambda s, a: directory.placement_of(s, a, user_id))
        self.edit_dialog(user, placed)

    def edit_dialog(self, user: User | None, placed: directory.Placement | None) -> None:
        """Create a user (None) or edit one: names, e-mail, roles, where they sit, a new password, enable or
        disable."""
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('Edit user') if user else _('New user')).classes('text-lg font-medium')
            # Fields as wide as the dialog: a name or an e-mail address fits, and the form reads as one column.
            username = ui.input(_('Username'), value=user.username if user else '').classes('w-full')
            username.mark('new-username')
            if user:
                username.disable()
            form = UserForm(
                username=username,
                name=ui.input(_('Display name'), value=user.display_name if user else '')
                .classes('w-full')
                .mark('new-display-name'),
                email=ui.input(_('E-mail'), value=user.email if user else '').classes('w-full').mark('new-email'),
                roles=ui.select(
                    {role: role_label(role) for role in self.roles},
                    multiple=True,
                    label=_('Roles'),
                    value=sorted(user.role_names) if user else ['member'],
                )
                .classes('w-full')
                .mark('new-roles'),
                password=ui.input(_('New password') if user else _('Password'), password=True)
                .classes('w-full')
                .mark('new-password'),
                place=PlacementForm.build(self.departments, self.managers, placed, own_id=user.id if user else None),
            )
            if user:
                # A reset is what an admin does to an account in the wrong hands: say what else it ends.
                ui.label(
                    _('A new password ends their sessions and revokes their API tokens; they make new ones.')
                ).classes('text-xs text-grey-7').mark('reset-password-note')
            # Like every dialog: a side action on the left; Cancel, then the primary action, on the right.
            with ui.row().classes('w-full items-center gap-2'):
                if user:
                    ui.button(
                        _('Enable') if not user.is_active else _('Disable'),
                        on_click=lambda: self.saved(dialog, self.toggle_active(user)),
                    ).props('flat color=negative' if user.is_active else 'flat').mark('toggle-user')
                ui.space()
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(_('Save'), on_click=lambda: self.saved(dialog, self.save(user, form))).mark('save-user')
        dialog.open()

    async def saved(self, dialog: ui.dialog, saving: Awaitable[object]) -> None:
        if await saving:
            dialog.close()
            self.table.refresh()
            await self.load_choices()

    async def save(self, user: User | None, form: UserForm) -> User | None:
        name, email, roles = form.name.value or '', form.email.value or '', list(form.roles.value)
        password = form.password.value or ''
        placing = form.place.values()
        if user is None:
            username = form.username.value or ''

            def create(s: Session, a: User) -> User:
                made = accounts.create_user(
                    session=s,
                    actor=a,
                    username=username,
                    display_name=name,
                    email=email,
                    password=password,
                    roles=roles,
                )
                directory.place_user(s, a, made.id, **placing)
                return made

            return await act(create, success=_('User created.'))
        uid = user.id

        def update(s: Session, a: User) -> User:
            updated = accounts.update_user(session=s, actor=a, user_id=uid, display_name=name, email=email, roles=roles)
            directory.place_user(s, a, uid, **placing)
            if password:
                accounts.reset_password(session=s, actor=a, user_id=uid, new_password=password)
            return updated

        reset = _('User saved; their sessions ended and their API tokens were revoked.')
        return await act(update, success=reset if password else _('User saved.'))

    async def toggle_active(self, user: User) -> User | None:
        uid, active = user.id, not user.is_active
        return await act(
            lambda s, a: accounts.set_active(session=s, actor=a, user_id=uid, active=active),
            success=_('User enabled.') if active else _('User disabled; their sessions ended.'),
        )


@dataclass(frozen=True)
class PlacementForm:
    """Where the person sits, in the user dialog: main and other departments, position, manager, work phone."""

    main: ui.select
    others: ui.select
    position: ui.input
    manager: ui.select
    phone: ui.input

    @classmethod
    def build(
        cls,
        departments: dict[int | None, str],
        managers: dict[int, str],
        placed: directory.Placement | None,
        *,
        own_id: int | None,
    ) -> PlacementForm:
        """The fields, filled from `placed` (None for a new account)."""
        ui.label(_('In the company')).classes('text-sm font-medium mt-2')
        choices = {None: _('(none)'), **departments}
        people: dict[int | None, str] = {None: _('(a head of their department)')}
        people.update((uid, name) for uid, name in managers.items() if uid != own_id)
        return cls(
            main=ui.select(choices, value=placed.main_department_id if placed else None, label=_('Main department'))
            .classes('w-full')
            .mark('user-main-department'),
            others=ui.select(
                departments,
                multiple=True,
                value=list(placed.other_department_ids) if placed else [],
                label=_('Other departments'),
            )
            .classes('w-full')
            .props('use-chips')
            .mark('user-other-departments'),
            position=ui.input(_('Position'), value=placed.position if placed else '')
            .classes('w-full')
            .mark('user-position'),
            manager=ui.select(
                people, value=placed.manager_id if placed else None, label=_('Reports to'), with_input=True
            )
            .classes('w-full')
            .mark('user-manager'),
            phone=ui.input(_('Work phone'), value=placed.work_phone if placed else '')
            .classes('w-full')
            .mark('user-work-phone'),
        )

    def values(self) -> dict[str, Any]:
        """What `directory.place_user` takes."""
        return {
            'main_department_id': self.main.value,
            'other_department_ids': list(self.others.value or []),
            'position': self.position.value or '',
            'manager_id': self.manager.value,
            'work_phone': self.phone.value or '',
        }


@dataclass(frozen=True)
class UserForm:
    """The fields of the user dialog."""

    username: ui.input
    name: ui.input
    email: ui.input
    roles: ui.select
    password: ui.input
    place: PlacementForm


async def sessions_page(ctx: PageContext) -> None:
    """Every live session, with a button to end it."""
    with frame(ctx, _('Sessions')):

        @ui.refreshable
        async def listing() -> None:
            rows = await read(
                ctx.user,
                lambda s, a: [
                    (row.id, row.user.username, row.ip, row.user_agent, row.created_at, row.last_seen_at)
                    for row in auth.list_sessions(session=s, actor=a, limit=500).items
                ],
            )
            if not rows:
                ui.label(_('No live sessions.'))
            for sid, username, ip, agent, created, seen in rows:
                with ui.card().classes('w-full').mark(f'session:{username}'):
                    ui.label(f'{username} · {ip}').classes('font-medium')
                    ui.label(
                        _(
                            'Signed in {created}, last seen {seen}',
                            created=format_datetime(created, timezone=ctx.user.timezone),
                            seen=format_datetime(seen, timezone=ctx.user.timezone),
                        )
                    ).classes('text-sm')
                    ui.label(agent[:120]).classes('text-xs text-gray-600')
                    ui.button(_('End session'), on_click=lambda s=sid: end(s)).props('outline dense').mark(
                        f'end:{username}'
                    )

        async def end(session_id: int) -> None:
            await act(
                lambda db, a: auth.end_session(session=db, actor=a, session_id=session_id), success=_('Session ended.')
            )
            listing.refresh()

        await listing()


def _parse_day(value: str, tz: str, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, '%Y-%m-%d').replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return None
    return day + timedelta(days=1) if end else day


async def audit_page(ctx: PageContext) -> None:
    """The audit log, filtered by actor, action and dates."""
    state: dict[str, Any] = {'offset': 0}
    with frame(ctx, _('Audit log')):
        with ui.row().classes('items-end gap-2'):
            actor = ui.input(_('Actor (username)')).props('dense clearable').mark('audit-actor')
            action = ui.input(_('Action starts with')).props('dense clearable').mark('audit-action')
            since = ui.input(_('From (YYYY-MM-DD)')).props('dense clearable').mark('audit-since')
            until = ui.input(_('To (YYYY-MM-DD)')).props('dense clearable').mark('audit-until')
            ui.button(_('Filter'), on_click=lambda: (state.update(offset=0), log.refresh())).mark('audit-filter')

        @ui.refreshable
        async def log() -> None:
            tz = ctx.user.timezone
            if (since.value and _parse_day(since.value, tz) is None) or (
                until.value and _parse_day(until.value, tz) is None
            ):
                ui.label(_('Enter dates as YYYY-MM-DD.')).classes('text-negative').mark('audit-date-error')
                return
            from appliance.services.permissions import require

            def search(session: Session, reader: User) -> Any:
                require(reader, 'core.view_audit', target='audit')
                return audit.search(
                    session=session,
                    actor_name=(actor.value or '').strip().lower(),
                    action=(action.value or '').strip(),
                    since=_parse_day(since.value or '', tz),
                    until=_parse_day(until.value or '', tz, end=True),
                    offset=int(state['offset']),
                    limit=PAGE_SIZE,
                )

            page = await read(ctx.user, search)
            columns = [
                {'name': k, 'label': label, 'field': k, 'align': 'left'}
                for k, label in (
                    ('at', _('Time')),
                    ('actor', _('Actor')),
                    ('what', _('What happened')),
                    ('ip', _('IP address')),
                    ('raw', ''),
                )
            ]
            known = audit_texts.texts()
            show = _('Record')
            rows = [_audit_row(r, audit_texts.details_of(r.details), known, show, tz) for r in page.rows]
            table = (
                ui.table(columns=columns, rows=rows, row_key='id', pagination=0)
                .classes('w-full')
                .props('hide-pagination wrap-cells')
            )
            table.mark('audit-table')
            # The raw record (action id, target, JSON details) one click away; the row's values bind as text.
            table.add_slot(
                'body-cell-raw',
                '<q-td :props="props"><q-btn flat dense no-caps size="sm" color="primary" :label="props.row.show"'
                ' @click="() => $parent.$emit(\'record\', props.row.record)" /></q-td>',
            )
            table.on('record', lambda event: raw_record(str(event.args)))
            offset = int(state['offset'])
            pager(Page(items=page.rows, total=page.total, offset=offset, limit=PAGE_SIZE), move, PAGE_SIZE)

        def move(delta: int) -> None:
            state['offset'] = max(0, int(state['offset']) + delta)
            log.refresh()

        await log()


def raw_record(text: str) -> None:
    """A dialog with one audit record as stored (JSON), for those who need the exact action id and details."""
    with ui.dialog() as dialog, ui.card().classes('max-w-full'):
        ui.label(_('The record as stored')).classes('text-lg font-medium')
        ui.label(text).classes('font-mono text-xs whitespace-pre-wrap break-all').mark('audit-record')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Close'), on_click=dialog.close).props('flat')
    dialog.on('hide', dialog.delete)
    dialog.open()


async def settings_page(ctx: PageContext) -> None:
    """Organisation name, default language and the two-factor policy."""
    values = await in_session(orgsettings.all_settings)
    with frame(ctx, _('Organisation')):
        with ui.card().classes('w-full max-w-xl'):
            name = ui.input(_('Organisation name'), value=values['org_name']).classes('w-full').mark('org_name')
            lang = ui.select(LANGUAGES, value=values['language'], label=_('Default language')).classes('w-full')
            require_2fa = ui.switch(
                _('Require two-factor sign-in for everyone'), value=values['require_2fa'] == '1'
            ).mark('require_2fa')
            ui.button(
                _('Save'),
                on_click=lambda: act(
                    lambda s, a: orgsettings.update(
                        session=s,
                        actor=a,
                        org_name=name.value or '',
                        language=lang.value or 'en',
                        require_2fa=bool(require_2fa.value),
                    ),
                    success=_('Saved.'),
                ),
            ).mark('save-settings')


def _audit_row(event: Any, details: dict[str, Any], known: dict[str, str], show: str, tz: str | None) -> dict[str, Any]:
    """One row of the audit table: the sentence, and the stored record behind the "Record" button (the details
    parsed once for both)."""
    return {
        'id': event.id,
        'at': format_datetime(event.at, timezone=tz),
        'actor': event.actor_name,
        'what': audit_texts.describe(event.action, event.target, details, known),
        'ip': event.ip,
        'show': show,
        'record': json.dumps(
            {'action': event.action, 'target': event.target, 'details': details, 'at': event.at.isoformat()},
            ensure_ascii=False,
            indent=2,
        ),
    }
