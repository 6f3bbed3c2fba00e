"""The projects module's cards on the home page: my projects with their progress, and what happened in them lately."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from appliance.i18n import _, format_ago
from appliance.models import User
from appliance.modules import CardContent, CardLine, DashboardCard
from modules.projects.models import Activity, Member, Project
from modules.projects.services import activity_views, progress

SHOWN = 6
RECENT = 8
FEEDS = 20  # the activity card reads the feeds of at most this many of my projects (the latest joined)


def _my_projects(session: Session, actor: User, limit: int) -> list[tuple[int, str, str]]:
    """(id, key, name) of the open projects the actor is a member of, most recently joined first."""
    stmt = (
        select(Project.id, Project.key, Project.name)
        .join(Member, Member.project_id == Project.id)
        .where(Member.user_id == actor.id, Project.status != 'archived')
        .order_by(Member.added_at.desc(), Project.id.desc())
        .limit(limit)
    )
    return [(pid, key, name) for pid, key, name in session.execute(stmt)]


def my_projects(session: Session, actor: User, today: date) -> CardContent:
    """Each of my projects with its share of closed items (from every module that counts them)."""
    shown = _my_projects(session, actor, SHOWN)
    done = progress(session, [pid for pid, _key, _name in shown])
    lines = []
    for pid, key, name in shown:
        closed, total = done.get(pid, (0, 0))
        caption = _('{closed} of {total} done', closed=closed, total=total) if total else _('Nothing planned yet')
        lines.append(
            CardLine(
                f'{key} · {name}',
                f'/projects/{pid}',
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
    projects = {pid: key for pid, key, _name in _my_projects(session, actor, FEEDS)}
    rows: list[Activity] = []
    if projects:
        # The newest few ids of each project (each along its (project_id, id) index) in one statement, then the
        # newest of those.
        latest = [
            select(Activity.id).where(Activity.project_id == pid).order_by(Activity.id.desc()).limit(RECENT).subquery()
            for pid in projects
        ]
        ids = session.scalars(union_all(*(select(sub.c.id) for sub in latest))).all()
        newest = sorted(ids, reverse=True)[:RECENT]
        rows = list(session.scalars(select(Activity).where(Activity.id.in_(newest)).order_by(Activity.id.desc())))
    lines = tuple(
        CardLine(
            view.text,
            f'/projects/{view.project_id}/activity',
            f'{projects[view.project_id]} · {format_ago(view.created_at)}',
        )
        for view in activity_views(session, rows)
    )
    return CardContent(title=_('Recent activity'), lines=lines, empty=_('Nothing has happened in your projects yet.'))


CARDS = (
    DashboardCard('projects.mine', 'projects.use', my_projects, order=30),
    DashboardCard('projects.activity', 'projects.use', recent_activity, order=40),
)
