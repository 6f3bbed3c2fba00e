"""Pages of personnel records: HR's list, one record (as the reader may see it), one's own record."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import ui
from starlette.responses import Response

from appliance.errors import N_, NotFound
from appliance.i18n import _, format_day
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, not_found_response, path_int, protected_page
from appliance.ui.table import paged_table
from modules.people import services as records
from modules.people.fields import BY_NAME, FIELDS, Field, Kind, Level

PAGE_SIZE = 25
REVEAL_SECONDS = 30
LEVEL_TITLES = {
    Level.PUBLIC: N_('Public (every colleague)'),
    Level.INTERNAL: N_('Internal (the person, their managers, HR)'),
    Level.HR: N_('HR only'),
    Level.SENSITIVE: N_('Sensitive (sealed; masked unless revealed)'),
}


def register() -> None:
    """Register /people, /people/me and /people/{id}."""
    protected_page('/people', permission=records.MANAGE)(people_page)
    protected_page('/people/me', permission='core.directory')(my_record_page)
    protected_page('/people/{id}', permission='core.directory')(record_page)


def shown(field: Field, value: Any) -> str:
    """A value as a reader reads it: a choice by its label, a date in the reader's language."""
    if value in (None, ''):
        return '—'
    if field.kind is Kind.CHOICE:
        return _(dict(field.choices).get(str(value), str(value)))
    if field.kind is Kind.DATE and not isinstance(value, str):
        return format_day(value)
    return str(value)


async def people_page(ctx: PageContext) -> None:
    """HR's list of records, found by number or name; New record."""
    await PeoplePage(ctx).build()


class PeoplePage:
    """The list and the new-record dialog."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.offset = 0
        self.query = ''

    async def build(self) -> None:
        with frame(self.ctx, _('Personnel records')):
            with ui.row().classes('items-center gap-2 w-full'):
                self.search = ui.input(_('Find by number or name')).props('clearable dense').mark('people-search')
                ui.button(_('New record'), icon='person_add', on_click=lambda: edit_dialog(None, self.saved)).mark(
                    'new-record'
                )
            self.search.on('keydown.enter', self.apply_filter)
            self.search.on('clear', self.apply_filter)
            await self.table()

    @ui.refreshable_method
    async def table(self) -> None:
        query, offset = self.query, self.offset
        page = await read(
            self.ctx.user, lambda s, a: records.list_records(s, a, query=query, offset=offset, limit=PAGE_SIZE)
        )
        columns: list[dict[str, Any]] = [
            {'name': name, 'label': _(BY_NAME[name].label), 'field': name, 'align': 'left'}
            for name in ('employee_no', 'legal_name', 'english_name', 'status', 'hire_date')
        ]
        rows = [
            {'id': item.id, **{c['name']: shown(BY_NAME[c['name']], item.values.get(c['name'])) for c in columns}}
            for item in page.items
        ]
        grid = paged_table(page, columns=columns, rows=rows, move=self.move, size=PAGE_SIZE, marker='people-table')
        grid.on('row-click', lambda e: ui.navigate.to(f'/people/{int(e.args[1]["id"])}'))
        if not rows:
            ui.label(_('No records yet.') if not query else _('Nothing matches.')).classes('text-sm text-grey-7')

    def move(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        self.table.refresh()

    def apply_filter(self) -> None:
        self.query = (self.search.value or '')[:200]
        self.offset = 0
        self.table.refresh()

    def saved(self, employee_id: int) -> None:
        ui.navigate.to(f'/people/{employee_id}')


def edit_dialog(current: records.RecordView | None, done: Any) -> None:
    """Create a record (None) or change one: every field HR keeps, generated from the registry, grouped by level.
    Sensitive fields start empty (their values are sealed): a field left empty keeps what it holds."""
    inputs: dict[str, Any] = {}
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-2xl'):
        ui.label(_('Edit record') if current else _('New record')).classes('text-lg font-medium')
        for level in Level:
            ui.label(_(LEVEL_TITLES[level])).classes('text-sm font-medium mt-2')
            with ui.element('div').classes('w-full grid grid-cols-1 md:grid-cols-2 gap-x-4'):
                for field in (f for f in FIELDS if f.level is level):
                    value = None if field.sealed or current is None else current.values.get(field.name)
                    if current is None and field.name == 'status':
                        value = 'onboarding'  # a new person starts here
                    label = _(field.label) + (' *' if field.required else '')
                    if field.kind is Kind.CHOICE:
                        options = {'': '—', **{key: _(text) for key, text in field.choices}}
                        widget: Any = ui.select(options, value=value or '', label=label)
                    elif field.kind is Kind.DATE:
                        widget = ui.input(label, value=value.isoformat() if value else '', placeholder='YYYY-MM-DD')
                    else:
                        hint = _('Leave empty to keep it') if field.sealed and current else ''
                        widget = ui.input(label, value=value or '', placeholder=hint)
                    inputs[field.name] = widget.classes('w-full').mark(f'field-{field.name}')
        with ui.row().classes('w-full'):
            ui.space()
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')

            async def save() -> None:
                values = {name: widget.value for name, widget in inputs.items()}
                if current is not None:  # an empty sealed field keeps its value
                    values = {k: v for k, v in values.items() if not (BY_NAME[k].sealed and not v)}
                employee_id = current.id if current else None
                made = await act(
                    lambda s, a: records.save(s, a, values, employee_id=employee_id).id, success=_('Record saved.')
                )
                if made is not None:
                    dialog.close()
                    done(made)

            ui.button(_('Save'), on_click=save).mark('save-record')
    dialog.open()


async def my_record_page(ctx: PageContext) -> Response | None:
    """One's own record (shown here, the same as at /people/<id>), or a sentence when HR keeps none."""
    own = await read(ctx.user, lambda s, a: records.own_record(s, a))
    if own is not None:
        return await render_record(ctx, own)
    with frame(ctx, _('My record')):
        ui.label(_('HR keeps no personnel record for you here.')).classes('text-sm text-grey-7').mark('no-record')
    return None


async def record_page(ctx: PageContext) -> Response | None:
    """A record, each field the reader may see, grouped by classification; Reveal for sensitive ones."""
    return await render_record(ctx, path_int())


async def render_record(ctx: PageContext, employee_id: int) -> Response | None:
    """The record `employee_id` as the reader may see it."""
    try:
        seen = await read(ctx.user, lambda s, a: records.view(s, a, employee_id))
    except NotFound:
        return not_found_response(ctx.user.language, _('There is no such personnel record.'), back_href='/')
    title = str(seen.values.get('legal_name', ''))
    with frame(ctx, title):
        if 'people.manage' in ctx.permissions:
            ui.button(
                _('Edit'), icon='edit', on_click=lambda: edit_dialog(seen, lambda _id: ui.navigate.reload())
            ).mark('edit-record')
        for level in Level:
            fields = [f for f in FIELDS if f.level is level and seen.shows(f.name)]
            if not fields:
                continue
            with ui.card().classes('w-full').props('flat bordered').mark(f'level-{level.value}'):
                ui.label(_(LEVEL_TITLES[level])).classes('font-medium')
                with ui.element('div').classes('w-full grid grid-cols-1 md:grid-cols-2 gap-x-6 gap-y-1'):
                    for field in fields:
                        with ui.row().classes('items-center gap-2 no-wrap'):
                            ui.label(_(field.label)).classes('text-sm text-grey-7 w-32 md:w-40 shrink-0')
                            value = ui.label(shown(field, seen.values[field.name])).mark(f'value-{field.name}')
                            if field.sealed and seen.values[field.name]:
                                ui.button(
                                    _('Reveal'), on_click=lambda f=field, v=value: reveal_dialog(seen, f, v)
                                ).props('flat dense size=sm').mark(f'reveal-{field.name}')
    return None


def reveal_dialog(seen: records.RecordView, field: Field, target: ui.label) -> None:
    """Ask why, reveal, show the value for REVEAL_SECONDS, then mask it again."""
    masked = target.text
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
        ui.label(_('Reveal {field}', field=_(field.label))).classes('text-lg font-medium')
        ui.label(_('Say why you need to see it. Your reason is recorded with your name.')).classes('text-sm')
        reason = ui.input(_('Reason')).classes('w-full').mark('reveal-reason')
        with ui.row().classes('w-full'):
            ui.space()
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')

            async def go() -> None:
                why = reason.value or ''
                value = await act(lambda s, a: records.reveal(s, a, seen.id, field.name, why))
                if value is None:
                    return
                dialog.close()
                target.set_text(value)
                await asyncio.sleep(REVEAL_SECONDS)
                target.set_text(masked)

            ui.button(_('Reveal'), on_click=go).mark('confirm-reveal')
    dialog.open()
