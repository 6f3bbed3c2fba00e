"""Helpers shared by the tests of the Backups page: waiting on the event loop and reading what the page shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.testing import User as UIUser

DEADLINE = 120.0  # seconds: restic on a loaded 2-core machine


async def wait_for(condition: Callable[[], Any], describe: Callable[[], str], timeout: float = DEADLINE) -> Any:
    """Poll `condition` (on the event loop, so the page keeps working) until it is truthy; fail with `describe()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(describe())


def marked(user: UIUser, marker: str) -> set[Any]:
    """The elements marked `marker` right now; none while a refresh redraws them (it reads off the event loop)."""
    try:
        return user.find(marker=marker).elements
    except AssertionError:
        return set()


def history_rows(user: UIUser) -> list[dict[str, Any]]:
    """The rows the history table shows right now (the table is rebuilt on refresh: find it again each time)."""
    tables = [element for element in marked(user, 'history-table') if isinstance(element, ui.table)]
    return [dict(row) for table in tables for row in table.rows]


def label_texts(user: UIUser, marker: str) -> list[str]:
    """The texts of the labels marked `marker` or inside an element marked so."""
    found = marked(user, marker)
    every = [item for element in found for item in (element, *element.descendants())]
    return [item.text for item in every if isinstance(item, ui.label)]
