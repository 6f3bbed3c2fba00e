"""Shared page pieces of the projects module, also used by modules that add project tabs (tasks).

CONTRACT STUB: signatures are fixed; bodies are being written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.responses import Response

from appliance.ui.guard import PageContext
from modules.projects.views import ProjectView


def open_project(ctx: PageContext, project_id: int) -> ProjectView | Response:
    """The project for a page, or a 404 page response when it does not exist or the reader may not see it."""
    raise NotImplementedError


@contextmanager
def project_frame(ctx: PageContext, project: ProjectView, active: str) -> Iterator[None]:
    """The shared layout plus the project's header and tabs (its own and contributed ones); `active` is a tab key."""
    raise NotImplementedError
    yield
