"""Extension points the projects module offers to modules that require it (read with `Registry.contributions`).

A module that keeps work items of projects (tasks) contributes, in its `ModuleSpec.contributes`
(`TABS.contribute(ProjectTab(...), ...)`):
- TABS ('projects.tabs'): `ProjectTab`s shown on every project page (Board, List, Calendar ...);
- STATS ('projects.stats'): one `ProjectStats` feeding the overview, milestone progress, the timeline and the rule
  that only an empty or archived project can be deleted;
- ACTIVITY ('projects.activity'): `ActivityText`s, the sentences for its activity-feed actions;
- BEFORE_DELETE ('projects.before_delete'): functions called as `fn(session, project_id)` just before a project is
  deleted, for what the database's cascade does not reach (search index entries, blob references).
The projects module never imports the modules that contribute. It also offers them its page frame
(`open_project`, `project_frame`) for their tabs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy.orm import Session

from appliance.extensions import ExtensionPoint
from appliance.modules import current_registry

if TYPE_CHECKING:
    from fastapi.responses import Response

    from appliance.ui.guard import PageContext
    from modules.projects.views import ProjectView

T = TypeVar('T')


@dataclass(frozen=True)
class ProjectTab:
    """A tab on the project page. `path` has `{id}` for the project id, e.g. '/projects/{id}/board'."""

    key: str
    label: str  # an N_() message
    icon: str
    path: str
    order: int = 50


@dataclass(frozen=True)
class TimelineItem:
    """A bar (or, without a start, a point) on the project timeline; `blocked_by` draws finish-to-start arrows."""

    id: str
    label: str
    start: date | None
    end: date | None
    done: bool = False
    blocked_by: tuple[str, ...] = ()
    url: str = ''
    milestone_id: int | None = None


@dataclass(frozen=True)
class OverdueItem:
    """An open item past its due date."""

    label: str
    due: date
    url: str
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """One person's open work in a project."""

    user_id: int
    display_name: str
    open_items: int
    open_hours: float


@dataclass(frozen=True)
class ProjectStats:
    """Numbers about a project's work items, computed by the module that owns them. Every function is read-only."""

    # {project_id: (closed, total)} for the given projects
    progress: Callable[[Session, list[int]], dict[int, tuple[int, int]]]
    # {milestone_id: (closed, total)} for the given milestones
    milestone_progress: Callable[[Session, list[int]], dict[int, tuple[int, int]]]
    # open items of one project due before `today`, most overdue first, at most `limit`
    overdue: Callable[[Session, int, date, int], list[OverdueItem]]
    # open work per member of one project
    workload: Callable[[Session, int], list[Workload]]
    # every dated item of one project, with dependencies
    timeline: Callable[[Session, int], list[TimelineItem]]
    # how many items a project holds (a project with items cannot be deleted unless archived)
    count_items: Callable[[Session, int], int]


@dataclass(frozen=True)
class ActivityText:
    """The sentence for an activity action: an N_() message formatted with `actor` and the entry's details."""

    action: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)


class BeforeDelete(Protocol):
    """A 'projects.before_delete' contribution: cleans up what the cascade does not reach, in the caller's
    transaction, just before the project `project_id` is deleted."""

    def __call__(self, session: Session, project_id: int, /) -> None: ...


TABS = ExtensionPoint('projects.tabs', ProjectTab, owner='projects')
STATS = ExtensionPoint('projects.stats', ProjectStats, owner='projects')
ACTIVITY = ExtensionPoint('projects.activity', ActivityText, owner='projects')
BEFORE_DELETE: ExtensionPoint[BeforeDelete] = ExtensionPoint('projects.before_delete', None, owner='projects')
POINTS = (TABS, STATS, ACTIVITY, BEFORE_DELETE)


def tabs() -> list[ProjectTab]:
    """Contributed project tabs, in their order."""
    return sorted(current_registry().contributions(TABS), key=lambda tab: (tab.order, tab.key))


def stats() -> list[ProjectStats]:
    """Contributed statistics providers."""
    return list(current_registry().contributions(STATS))


def add_up(ids: list[int], parts: Iterable[dict[int, tuple[int, int]]]) -> dict[int, tuple[int, int]]:
    """{id: (closed, total)} summed over the contributors' answers; (0, 0) for an id nobody counted."""
    result = dict.fromkeys(ids, (0, 0))
    for part in parts:
        for key, (closed, total) in part.items():
            if key in result:
                done, all_ = result[key]
                result[key] = (done + closed, all_ + total)
    return result


def activity_texts() -> dict[str, str]:
    """{action: message} from every contributing module."""
    return {text.action: text.message for text in current_registry().contributions(ACTIVITY)}


def before_delete_hooks() -> list[BeforeDelete]:
    """Contributed clean-up functions for a project about to be deleted."""
    return current_registry().contributions(BEFORE_DELETE)


# The project page frame, offered to the pages of modules that add tabs (they may not import projects' pages).
# The pages code is imported inside each function, so importing this file does not load any UI.
async def open_project(ctx: PageContext, project_id: int) -> ProjectView | Response:
    """The project for a project tab, or the 404/403 response to return instead (see pages.parts.frame); read on
    a database thread."""
    from modules.projects.pages.parts.frame import open_project as open_

    return await open_(ctx, project_id)


async def open_project_with(
    ctx: PageContext, project_id: int, load: Callable[[Session, ProjectView], T]
) -> tuple[ProjectView, T] | Response:
    """`open_project`, and `load(session, project)` in the same read-only snapshot (what the tab shows), or the
    404/403 response to return instead."""
    from modules.projects.pages.parts.frame import open_project_with as open_with

    return await open_with(ctx, project_id, load)


def project_frame(ctx: PageContext, project: ProjectView, active: str) -> AbstractContextManager[None]:
    """The page frame of a project tab: the project's title and its tabs, with `active` selected."""
    from modules.projects.pages.parts.frame import project_frame as frame

    return frame(ctx, project, active)
