"""Date fields of the project forms: a text input with a date picker, and its parser."""

from __future__ import annotations

from datetime import date
from typing import Any

from nicegui import ui

from appliance.i18n import _, first_day_of_week


def parse_date(value: Any) -> date | None:
    """A date from a date input ('' means none)."""
    text = str(value or '').strip()
    return date.fromisoformat(text) if text else None


def date_input(label: str, value: date | None, marker: str) -> ui.input:
    """A text input with a date picker (ISO dates)."""
    with ui.input(label, value=value.isoformat() if value else '').props('clearable').mark(marker) as field:
        with ui.menu().props('no-parent-event') as menu:
            with ui.date().props(f'first-day-of-week={first_day_of_week()}').bind_value(field):
                with ui.row().classes('justify-end'):
                    ui.button(_('Close'), on_click=menu.close).props('flat')
        with field.add_slot('append'):
            ui.icon('edit_calendar').on('click', menu.open).classes('cursor-pointer')
    return field
