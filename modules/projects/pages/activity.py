"""A project's activity tab: the whole feed, paged."""

from __future__ import annotations

from fastapi.responses import Response
from nicegui import ui

from appliance.ui.actions import read
from appliance.ui.guard import PageContext, path_int
from appliance.ui.table import pager
from modules.projects import services
from modules.projects.pages.parts.activity import activity_list
from modules.projects.pages.parts.frame import open_project, project_frame

PAGE_SIZE = 50


async def activity_page(ctx: PageContext) -> Response | None:
    """The whole feed, newest first, a page at a time."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    state = {'offset': 0}
    with project_frame(ctx, project, 'activity'):

        @ui.refreshable
        async def feed() -> None:
            page = await read(
                ctx.user,
                lambda s, a: services.list_activity(
                    session=s, actor=a, project_id=project.id, offset=state['offset'], limit=PAGE_SIZE
                ),
            )
            activity_list(ctx, page.items)
            pager(page, move, PAGE_SIZE)

        def move(delta: int) -> None:
            state['offset'] = max(0, state['offset'] + delta)
            feed.refresh()

        await feed()
    return None
