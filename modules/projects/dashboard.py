"""The projects module's cards on the home page: my projects with their progress, and what happened in them lately."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.i18n import _, format_datetime
from appliance.models import User
from appliance.modules import CardContent, CardLine, DashboardCard
from modules.projects.models import Activity, Member, Project
from modules.projects.services import activity_views, progress

SHOWN = 6
RECENT = 8
FEEDS = 20  # the activity card reads the feeds of at most this many of my projects (the latest joined)


def _my_projects(session: Session, actor: User) -> list[Project]:
    """The open projects the actor is a member of, most recently joined first."""
    stmt = (
        select(Project)
        .join(Member, Member.project_id == Project.id)
        .where(Member.user_id == actor.id, Project.status != 'archived')
        .order_by(Member.added_at.desc(), Project.id.desc())
    )
    return list(session.scalars(stmt))


def my_projects(session: Session, actor: User, today: date) -> CardContent:
    """Each of my projects with its share of closed items (from every module that counts them)."""
    projects = _my_projects(session, actor)
    shown = projects[:SHOWN]
    done = progress(session, [project.id for project in shown])
    lines = []
    for project in shown:
        closed, total = done.get(project.id, (0, 0))
        caption = _('{closed} of {total} done', closed=closed, total=total) if total else _('Nothing planned yet')
        lines.append(
            CardLine(
                f'{project.key} · {project.name}',
                f'/projects/{project.id}',
                caption,
                '',
                closed / total if total else 0.0,
            )
        )
    return CardContent(
        title=_('My projects'),
        lines=tuple(lines),
        href='/projects',
        more=_('All projects'),
        empty=_('You are not a member of any project yet.'),
    )


def recent_activity(session: Session, actor: User, today: date) -> CardContent:
    """The latest lines of the activity feeds of my projects, newest first."""
    projects = {project.id: project for project in _my_projects(session, actor)[:FEEDS]}
    rows: list[Activity] = []
    if projects:
        # The newest few of each project (each along its (project_id, id) index), then the newest of those.
        for project_id in projects:
            stmt = select(Activity).where(Activity.project_id == project_id).order_by(Activity.id.desc()).limit(RECENT)
            rows.extend(session.scalars(stmt))
        rows = sorted(rows, key=lambda row: row.id, reverse=True)[:RECENT]
    lines = tuple(
        CardLine(
            view.text,
            f'/projects/{view.project_id}/activity',
            f'{projects[view.project_id].key} · {format_datetime(view.created_at)}',
        )
        for view in activity_views(session, rows)
    )
    return CardContent(title=_('Recent activity'), lines=lines, empty=_('Nothing has happened in your projects yet.'))


CARDS = (
    DashboardCard('projects.mine', 'projects.use', my_projects, order=30),
    DashboardCard('projects.activity', 'projects.use', recent_activity, order=40),
)
