"""The frame of every project tab (title, status and tabs) and the lookup that opens a project for a tab.

Modules that add project tabs (tasks) reach these through `modules.projects.extensions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from typing import TypeVar

from fastapi.responses import Response
from nicegui import ui
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.errors import N_, NotFound, PermissionDenied, ServiceError
from appliance.i18n import _
from appliance.models import User
from appliance.ui.actions import read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, forbidden_response
from appliance.ui.guard import not_found_response as guard_not_found
from modules.projects import extensions
from modules.projects.services import STATUS_COLORS, STATUS_LABELS
from modules.projects.views import ProjectView

T = TypeVar('T')

# (key, label, icon, path) of the module's own tabs; contributed tabs go between the overview and the timeline.
FIRST_TABS = (('overview', N_('Overview'), 'dashboard', '/projects/{id}'),)
LAST_TABS = (
    ('timeline', N_('Timeline'), 'view_timeline', '/projects/{id}/timeline'),
    ('members', N_('Members'), 'group', '/projects/{id}/members'),
    ('milestones', N_('Milestones'), 'flag', '/projects/{id}/milestones'),
    ('activity', N_('Activity'), 'history', '/projects/{id}/activity'),
)
SETTINGS_TAB = ('settings', N_('Settings'), 'settings', '/projects/{id}/settings')


def not_found_response(lang: str) -> Response:
    """A plain 404 page in the reader's language, which does not say whether the project exists."""
    return guard_not_found(
        lang,
        N_('This project does not exist, or you are not one of its members.'),
        back_href='/projects',
        back=N_('Back to the projects'),
    )


async def open_project(ctx: PageContext, project_id: int) -> ProjectView | Response:
    """The project for a page, or a 404 page response when it does not exist or the reader may not see it."""
    from modules.projects import services

    try:
        return await read(ctx.user, lambda s, a: services.get_project(session=s, actor=a, project_id=project_id))
    except NotFound:
        return not_found_response(i18n.language())
    except PermissionDenied:
        return forbidden_response(i18n.language())


async def open_project_with(
    ctx: PageContext, project_id: int, load: Callable[[Session, ProjectView], T]
) -> tuple[ProjectView, T] | Response:
    """Like `open_project`, and what the tab shows read in the same read-only snapshot: `load(session, project)`
    runs right after the project is found (one trip to a database thread and one session per page, not two)."""
    from modules.projects import services

    def both(session: Session, actor: User) -> tuple[ProjectView, T] | ServiceError:
        try:
            project = services.get_project(session=session, actor=actor, project_id=project_id)
        except (NotFound, PermissionDenied) as error:  # the page answers 404 / 403; errors of `load` propagate
            return error
        return project, load(session, project)

    found = await read(ctx.user, both)
    if isinstance(found, NotFound):
        return not_found_response(i18n.language())
    if isinstance(found, ServiceError):
        return forbidden_response(i18n.language())
    return found


def tabs_for(project: ProjectView) -> list[tuple[str, str, str, str]]:
    """(key, translated label, icon, path) of every tab the reader of `project` gets, in order."""
    rows = [(key, _(label), icon, path) for key, label, icon, path in FIRST_TABS]
    rows += [(tab.key, _(tab.label), tab.icon, tab.path) for tab in extensions.tabs()]
    rows += [(key, _(label), icon, path) for key, label, icon, path in LAST_TABS]
    if project.my_role == 'manager':
        key, label, icon, path = SETTINGS_TAB
        rows.append((key, _(label), icon, path))
    return [(key, label, icon, path.replace('{id}', str(project.id))) for key, label, icon, path in rows]


TAB_CLASSES = 'nicegui-link enclave-icon flex items-center gap-1 px-3 py-2 no-underline text-sm '
TAB_SELECTED = 'border-b-2 border-primary text-primary font-medium'
TAB_OTHER = 'text-slate-600'


def tabs_html(tabs: list[tuple[str, str, str, str]], active: str) -> tuple[str, tuple[str, ...]]:
    """The tabs as plain links (`tabs_for`'s rows; `active` is the current tab's key), and their markers
    (`project-tab:<key>`). Labels come from the modules' declarations and the catalogs, and are escaped all the same."""
    links = ''.join(
        f'<a href="{escape(path)}" data-icon="{escape(icon)}" class="{TAB_CLASSES}'
        + (f'{TAB_SELECTED}" aria-current="page">' if key == active else f'{TAB_OTHER}">')
        + f'{escape(label)}</a>'
        for key, label, icon, path in tabs
    )
    return links, tuple(f'project-tab:{key}' for key, _label, _icon, _path in tabs)


def status_chip(status: str) -> None:
    """The project status as a small coloured badge."""
    ui.badge(_(STATUS_LABELS.get(status, status)), color=STATUS_COLORS.get(status, 'grey')).props('outline').mark(
        'project-status'
    )


@contextmanager
def project_frame(ctx: PageContext, project: ProjectView, active: str) -> Iterator[None]:
    """The shared layout plus the project's header and tabs (its own and contributed ones); `active` is a tab key."""
    with frame(ctx, project.name):
        with ui.row().classes('items-center gap-2 -mt-3').mark('project-header'):
            ui.badge(project.key, color='slate-700').classes('font-mono').mark('project-key')
            status_chip(project.status)
            if project.status == 'archived':
                ui.label(_('Archived: read-only until a manager restores it.')).classes('text-sm text-grey-7')
        # Plain links in one element (their icons drawn by the frame's CSS, `enclave-icon`), each tab's marker on
        # it: one element instead of one per tab, on every project page.
        links, markers = tabs_html(tabs_for(project), active)
        ui.html(links, sanitize=False, tag='nav').classes(
            'nicegui-row w-full gap-1 border-b border-slate-200 flex-wrap'
        ).mark('project-tabs', *markers)
        yield
