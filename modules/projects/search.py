"""Global search provider: projects the actor may see, by key, name or description.

A few hundred projects at most, so a LIKE over the visible ones is quick, and a substring test finds a two-character
Chinese word (项目) as well as an English one.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appliance.models import User
from appliance.search import SearchHit, like_pattern, match_score, snippet
from appliance.services.permissions import has_permission
from modules.projects.models import Project
from modules.projects.services import visible_project_ids

SNIPPET = 160


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Projects visible to the actor whose key, name or description contains `query`."""
    if not has_permission(actor, 'projects.use'):
        return []
    pattern = like_pattern(query)
    stmt = (
        select(Project)
        .where(
            Project.id.in_(visible_project_ids(actor)),
            or_(
                Project.key.ilike(pattern, escape='\\'),
                Project.name.ilike(pattern, escape='\\'),
                Project.description.ilike(pattern, escape='\\'),
            ),
        )
        .order_by(Project.name)
        .limit(max(limit, 1) * 3)
    )
    hits = [
        SearchHit(
            module='projects',
            kind='project',
            title=f'{project.key} · {project.name}',
            url=f'/projects/{project.id}',
            snippet=snippet(project.description, query, SNIPPET),
            score=match_score(query, project.key, project.name, project.description),
        )
        for project in session.scalars(stmt)
    ]
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]
