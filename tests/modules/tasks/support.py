"""Helpers shared by the tasks tests: call a service as a page does, a snapshot of every task row, and waiting for
a page's event handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from nicegui import background_tasks
from sqlalchemy import select

from appliance.db import get_database
from modules.projects.models import Activity
from modules.tasks.models import Assignee, Dependency, Task, TaskLabel
from tests.appliance.support import count
from tests.support.ui import settled


def run(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a service in its own transaction, as a page or a route does."""
    with get_database().session() as session:
        return fn(session=session, **kwargs)


def snapshot() -> list[tuple[Any, ...]]:
    """Every task row and link, to prove that bad input changed nothing."""
    with get_database().session() as session:
        tasks = [tuple(r) for r in session.execute(select(Task.__table__))]
        links = [tuple(r) for r in session.execute(select(Assignee.__table__))]
        labels = [tuple(r) for r in session.execute(select(TaskLabel.__table__))]
        deps = [tuple(r) for r in session.execute(select(Dependency.__table__))]
        return [*tasks, *links, *labels, *deps, count(Activity)]


@asynccontextmanager
async def handled() -> AsyncIterator[None]:
    """Around a click, an event or a changed value: wait until the handlers it started (and the redraws they
    asked for) have finished, as `tests.support.ui.click` does for a plain click."""
    before = set(background_tasks.running_tasks)
    yield
    await settled(before)
