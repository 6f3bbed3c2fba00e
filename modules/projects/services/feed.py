"""Reading a project: the activity feed as sentences in the reader's language, the overview and the timeline."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.errors import N_
from appliance.i18n import fill_leniently, gettext
from appliance.models import User
from appliance.services.paging import Page
from modules.projects import extensions
from modules.projects.extensions import OverdueItem, TimelineItem, Workload
from modules.projects.models import Activity
from modules.projects.services import access
from modules.projects.services.common import project_view
from modules.projects.services.labels import MILESTONE_STATUS_LABELS, ROLE_LABELS, STATUS_LABELS
from modules.projects.services.milestones import list_milestones
from modules.projects.views import ActivityView, Overview, Timeline

# The sentences of the projects module's own actions ({actor} is who did it; the rest are the stored details).
OWN_TEXTS = {
    'project.created': N_('{actor} created the project {key} "{name}".'),
    'project.updated': N_('{actor} changed the project ({fields}).'),
    'project.archived': N_('{actor} archived the project.'),
    'project.restored': N_('{actor} restored the project.'),
    'member.added': N_('{actor} added {name} as {role}.'),
    'member.removed': N_('{actor} removed {name} from the project.'),
    'member.role_changed': N_('{actor} made {name} a {role} (was {old_role}).'),
    'milestone.created': N_('{actor} created the milestone "{name}".'),
    'milestone.updated': N_('{actor} changed the milestone "{name}".'),
    'milestone.deleted': N_('{actor} deleted the milestone "{name}".'),
}
# An action without a sentence (a module's newer action read by an older feed) never shows its raw id.
FALLBACK_TEXT = N_('{actor} made a change in the project.')
# Detail values that are codes: shown as their label in the reader's language.
CODE_LABELS = {'role': ROLE_LABELS, 'old_role': ROLE_LABELS, 'status': {**STATUS_LABELS, **MILESTONE_STATUS_LABELS}}


def sentence(message: str, actor_name: str, action: str, details: dict[str, Any]) -> str:
    """Translate `message` now and fill it with the actor and the details; never raises on a bad placeholder."""
    values = {key: value for key, value in details.items() if isinstance(key, str)}
    for key, labels in CODE_LABELS.items():
        if isinstance(values.get(key), str) and values[key] in labels:
            values[key] = gettext(labels[values[key]]).lower()
    values['actor'] = actor_name
    values['action'] = action
    return fill_leniently(message, values)


def _texts() -> dict[str, str]:
    return {**extensions.activity_texts(), **OWN_TEXTS}


def activity_views(session: Session, rows: list[Activity]) -> list[ActivityView]:
    """Feed lines as sentences in the reader's language (the actors' names in one query)."""
    texts = _texts()
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    names = (
        {user.id: user.display_name for user in session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    someone = gettext(N_('Someone'))
    views = []
    for row in rows:
        try:
            details = json.loads(row.details or '{}')
        except ValueError:
            details = {}
        if not isinstance(details, dict):
            details = {}
        actor_name = names.get(row.actor_id, someone) if row.actor_id is not None else someone
        message = texts.get(row.action, FALLBACK_TEXT)
        views.append(
            ActivityView(
                id=row.id,
                project_id=row.project_id,
                actor_name=actor_name,
                action=row.action,
                text=sentence(message, actor_name, row.action, details),
                created_at=row.created_at,
            )
        )
    return views


def list_activity(
    *, session: Session, actor: User, project_id: int, offset: int = 0, limit: int = 50
) -> Page[ActivityView]:
    """The project's feed, newest first, a page at a time."""
    access.require_project(session, actor, project_id)
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    base = select(Activity).where(Activity.project_id == project_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(session.scalars(base.order_by(Activity.id.desc()).offset(offset).limit(limit)))
    return Page(items=activity_views(session, rows), total=total, offset=offset, limit=limit)


def _workload(session: Session, project_id: int) -> list[Workload]:
    merged: dict[int, Workload] = {}
    for provider in extensions.stats():
        for row in provider.workload(session, project_id):
            old = merged.get(row.user_id)
            merged[row.user_id] = (
                row
                if old is None
                else Workload(
                    row.user_id, row.display_name, old.open_items + row.open_items, old.open_hours + row.open_hours
                )
            )
    return sorted(merged.values(), key=lambda w: (-w.open_items, w.display_name.casefold()))


def overview(
    *, session: Session, actor: User, project_id: int, today: date | None = None, overdue_limit: int = 10
) -> Overview:
    """Progress, overdue items, the next five open milestones, workload per person and the latest activity."""
    project = access.require_project(session, actor, project_id)
    today = today or date.today()
    closed = total = 0
    overdue: list[OverdueItem] = []
    for provider in extensions.stats():
        done, all_ = provider.progress(session, [project.id]).get(project.id, (0, 0))
        closed, total = closed + done, total + all_
        overdue.extend(provider.overdue(session, project.id, today, overdue_limit))
    overdue.sort(key=lambda item: item.due)
    upcoming = [
        m for m in list_milestones(session=session, actor=actor, project_id=project.id, status='open') if m.due_date
    ][:5]
    recent = list(
        session.scalars(
            select(Activity).where(Activity.project_id == project.id).order_by(Activity.id.desc()).limit(10)
        )
    )
    return Overview(
        project=project_view(session, actor, project),
        closed_items=closed,
        total_items=total,
        overdue=overdue[:overdue_limit],
        upcoming=upcoming,
        workload=_workload(session, project.id),
        activity=activity_views(session, recent),
    )


def timeline(*, session: Session, actor: User, project_id: int) -> Timeline:
    """The milestones and every dated item of the project, with their finish-to-start dependencies."""
    project = access.require_project(session, actor, project_id)
    items: list[TimelineItem] = []
    for provider in extensions.stats():
        items.extend(provider.timeline(session, project.id))
    items.sort(key=lambda item: (item.start or item.end or date.max, item.end or date.max, item.label))
    return Timeline(
        project=project_view(session, actor, project),
        milestones=list_milestones(session=session, actor=actor, project_id=project.id),
        items=items,
    )
