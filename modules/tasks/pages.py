"""NiceGUI pages of the tasks module: board, list, my tasks, calendar, workflow and the task page."""

from __future__ import annotations

from pathlib import Path

from nicegui import app

from modules.tasks import (
    pages_board,
    pages_calendar,
    pages_labels,
    pages_list,
    pages_mine,
    pages_task,
    pages_workflow,
)

STATIC = Path(__file__).parent / 'static'


def register() -> None:
    """Register the module's pages and its small local stylesheet."""
    app.add_static_files('/tasks-static', STATIC)
    pages_board.register()
    pages_list.register()
    pages_mine.register()
    pages_calendar.register()
    pages_workflow.register()
    pages_labels.register()
    pages_task.register()
