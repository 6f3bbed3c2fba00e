"""A progress bar with 'closed of total' beside it (project list, overview, milestones)."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _


def progress_bar(closed: int, total: int, marker: str = '') -> None:
    """A bar with 'closed of total' beside it."""
    with ui.row().classes('items-center gap-2 w-full no-wrap'):
        bar = ui.linear_progress(value=closed / total if total else 0, show_value=False, size='10px')
        bar.classes('grow').props('rounded color=positive')
        if marker:
            bar.mark(marker)
        ui.label(_('{closed} of {total} done', closed=closed, total=total)).classes('text-sm text-grey-7 shrink-0')
