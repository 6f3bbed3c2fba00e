"""Global search provider for tasks and their services.

Tasks are found through the shared full-text index (kind 'task': title, description and ref, Chinese split into
two-character pieces), joined to the projects the actor may see, newest first, with a LIMIT so that a common word
never makes us read every match. A one-character Chinese query has no index token: it scans titles with LIKE.
A ref such as WEB-42 finds that task first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.models import SearchTerms, User
from appliance.search import SearchHit, like_pattern, match_score, snippet
from appliance.services.permissions import has_permission
from modules.projects.models import Project
from modules.projects.services import visible_project_ids
from modules.tasks import services
from modules.tasks.models import Task
from modules.tasks.services import task_url

_REF = re.compile(r'^\s*([A-Za-z][A-Za-z0-9]*)-(\d{1,9})\s*$')
SNIPPET = 140
BATCH = 200  # candidates read at a time, most recently indexed first
MAX_BATCHES = 25  # then give up: a search is a quick look, not a report


def _hit(query: str, tid: int, ref: str, title: str, description: str, bonus: float = 0.0) -> SearchHit:
    return SearchHit(
        module='tasks',
        kind='task',
        title=f'{ref} {title}',
        url=task_url(tid),
        snippet=snippet(description, query, SNIPPET),
        score=max(match_score(query, ref, title, description[:2000]), 0.5) + bonus,
    )


def _columns() -> Any:
    return select(Task.id, Task.project_id, Project.key, Task.number, Task.title, Task.description).join(
        Project, Project.id == Task.project_id
    )


def _candidates(session: Session, query: str, visible: set[int], limit: int) -> Iterator[Sequence[Any]]:
    """Matching task rows, newest first, in small batches: a common word never makes us read every match.

    Visibility is checked by the caller. When many batches held too few visible tasks (an actor in one project of
    many), one complete query with visibility in SQL finishes the job.
    """
    cursor: int | None = None
    last: int | None = None
    indexed = True
    for _batch in range(MAX_BATCHES):
        found = search_index.newest(session, 'task', query, before=cursor, limit=BATCH)
        if found is None:  # no indexable token (one Chinese character): scan titles, newest first
            indexed = False
            stmt = _columns().where(Task.title.ilike(like_pattern(query), escape='\\'))
            if last is not None:
                stmt = stmt.where(Task.id < last)
            rows = session.execute(stmt.order_by(Task.id.desc()).limit(BATCH)).all()
            exhausted = len(rows) < BATCH
            if rows:
                last = rows[-1][0]
        else:
            ids, cursor = found
            rows = session.execute(_columns().where(Task.id.in_(ids)).order_by(Task.id.desc())).all() if ids else []
            exhausted = cursor is None
        yield from rows
        if exhausted:
            return
    matching = search_index.matching(session, 'task', query) if indexed else None
    condition = Task.title.ilike(like_pattern(query), escape='\\') if matching is None else Task.id.in_(matching)
    rest = _columns().where(condition, Task.project_id.in_(visible))
    if indexed and cursor is not None:
        rest = rest.where(
            Task.id.in_(select(SearchTerms.ref_id).where(SearchTerms.kind == 'task', SearchTerms.id < cursor))
        )
    elif last is not None:
        rest = rest.where(Task.id < last)
    yield from session.execute(rest.order_by(Task.id.desc()).limit(limit * 2)).all()


def search_tasks(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Tasks in projects the actor may see whose title, description or ref matches `query`, newest first."""
    visible = set(session.scalars(visible_project_ids(actor)))
    hits: list[SearchHit] = []
    if not visible:
        return hits
    seen: set[int] = set()
    ref = _REF.match(query)
    if ref:
        row = session.execute(
            _columns().where(func.upper(Project.key) == ref.group(1).upper(), Task.number == int(ref.group(2)))
        ).first()
        if row is not None and row.project_id in visible:
            hits.append(_hit(query, row[0], f'{row.key}-{row.number}', row.title, row.description, bonus=10.0))
            seen.add(row[0])
    for tid, project_id, key, number, title, description in _candidates(session, query, visible, limit):
        ref_text = f'{key}-{number}'
        if tid in seen or project_id not in visible or not search_index.confirm(query, title, description, ref_text):
            continue
        hits.append(_hit(query, tid, ref_text, title, description))
        seen.add(tid)
        if len(hits) >= limit:
            break
    return hits


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Tasks and comments the actor may see that match `query`."""
    if not has_permission(actor, 'tasks.use'):
        return []
    hits = search_tasks(session=session, actor=actor, query=query, limit=limit)
    hits.extend(services.search_comments(session=session, actor=actor, query=query, limit=limit))
    return hits
