"""NiceGUI pages of the tasks module: board, list, my tasks, calendar, workflow and the task page."""

from __future__ import annotations

from pathlib import Path

from nicegui import app

from modules.tasks.pages import board as pages_board
from modules.tasks.pages import calendar as pages_calendar
from modules.tasks.pages import labels as pages_labels
from modules.tasks.pages import list as pages_list
from modules.tasks.pages import mine as pages_mine
from modules.tasks.pages import task as pages_task
from modules.tasks.pages import workflow as pages_workflow

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
