"""Lines of a project activity feed (overview and activity tab)."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _, format_datetime
from appliance.ui.guard import PageContext
from modules.projects.views import ActivityView


def activity_list(ctx: PageContext, entries: list[ActivityView]) -> None:
    """Feed lines: the sentence and when."""
    if not entries:
        ui.label(_('No activity yet.')).classes('text-sm text-grey-7')
    with ui.column().classes('w-full gap-1').mark('activity'):
        for entry in entries:
            with ui.row().classes('w-full gap-2 items-baseline no-wrap'):
                ui.label(entry.text).classes('text-sm grow')
                ui.label(format_datetime(entry.created_at, timezone=ctx.user.timezone)).classes(
                    'text-xs text-grey-7 shrink-0'
                )
