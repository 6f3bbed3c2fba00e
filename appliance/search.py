"""Global search: every module's provider is asked, hits are merged, ranked and cut to the limit.

Providers return only what the actor may see. `match_score` works for Chinese as well as English: a
substring test, so a two-character word such as 项目 matches (no tokenizer needed for short fields).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appliance.errors import N_, ValidationError
from appliance.markdown import plain_text
from appliance.models import User
from appliance.modules import current_registry
from appliance.services.permissions import require

MAX_QUERY = 200


@dataclass(frozen=True)
class SearchHit:
    """One result: what it is, where to open it, and how well it matched (higher is better)."""

    module: str
    kind: str
    title: str
    url: str
    snippet: str = ''
    score: float = 0.0


def clean_query(query: str) -> str:
    """A trimmed query, or ValidationError when empty or too long."""
    query = ' '.join(query.split())
    if not query:
        raise ValidationError(N_('Type something to search for.'), field='q')
    if len(query) > MAX_QUERY:
        raise ValidationError(N_('A search is at most {n} characters.'), field='q', n=MAX_QUERY)
    return query


def like_pattern(query: str) -> str:
    """A LIKE pattern for `query` with the wildcards in it escaped (use with escape='\\\\')."""
    escaped = query.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
    return f'%{escaped}%'


def match_score(query: str, *fields: str) -> float:
    """Rank a candidate: an exact field beats a prefix beats a substring; earlier fields weigh more."""
    q = query.casefold()
    best = 0.0
    for weight, text in zip((3.0, 2.0, 1.0, 1.0), fields, strict=False):
        t = (text or '').casefold()
        if t == q:
            best = max(best, weight * 3)
        elif t.startswith(q):
            best = max(best, weight * 2)
        elif q in t:
            best = max(best, weight)
    return best


def global_search(*, session: Session, actor: User, query: str, limit: int = 20) -> list[SearchHit]:
    """Ask every provider and return the best `limit` hits the actor may see."""
    require(actor, 'core.search', target='search')
    query = clean_query(query)
    limit = min(max(limit, 1), 100)
    hits: list[SearchHit] = []
    for spec in current_registry().modules():
        if spec.search is not None:
            hits.extend(spec.search(session=session, actor=actor, query=query, limit=limit))
    hits.sort(key=lambda hit: (-hit.score, hit.title))
    return hits[:limit]


def search_people(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """The core's provider: colleagues by username or display name (Chinese names included)."""
    pattern = like_pattern(query)
    stmt = (
        select(User)
        .where(
            User.is_active,
            or_(User.username.ilike(pattern, escape='\\'), User.display_name.ilike(pattern, escape='\\')),
        )
        .limit(limit)
    )
    admin = 'core.manage_users' in current_registry().permissions_for_roles(actor.role_names)
    return [
        SearchHit(
            module='core',
            kind='user',
            title=f'{user.display_name} ({user.username})',
            url=f'/admin/users?user={user.id}' if admin else '/',
            snippet=user.email if admin else '',
            score=match_score(query, user.display_name, user.username),
        )
        for user in session.scalars(stmt)
    ]


def snippet(markdown: str, query: str, size: int = 140) -> str:
    """About `size` characters of a Markdown text around the first place `query` occurs (its start when it does not),
    as plain words on one line: the markup is dropped, and the match ignores case and full-width forms."""
    text = plain_text(markdown)
    at = unicodedata.normalize('NFKC', text).casefold().find(unicodedata.normalize('NFKC', query).casefold())
    start = max(at - size // 3, 0) if at > 0 else 0
    return ('…' if start else '') + text[start : start + size] + ('…' if start + size < len(text) else '')
