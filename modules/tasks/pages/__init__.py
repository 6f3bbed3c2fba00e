"""NiceGUI pages of the tasks module: board, list, my tasks, calendar, workflow, labels and the task page.

One file per page; parts/ holds the pieces several pages share (cards, filters, the CSV and feed dialogs).
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent.parent / 'static'


def register() -> None:
    """Register the module's pages and its small local stylesheet and scripts (served under /tasks-static)."""
    from nicegui import app

    from modules.tasks.pages import board, calendar, labels, mine, task, workflow
    from modules.tasks.pages import list as task_list

    app.add_static_files('/tasks-static', STATIC)
    board.register()
    task_list.register()
    mine.register()
    calendar.register()
    workflow.register()
    labels.register()
    task.register()
