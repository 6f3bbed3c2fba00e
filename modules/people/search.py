"""Global search provider: personnel records by their public fields only (number, legal and English name).

The search never reads a field above `public`, so a query can never tell a reader anything the record page would
not show them; sensitive values are sealed and not searchable at all (their keyed lookups serve duplicate checks).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appliance.models import User
from appliance.search import SearchHit, like_pattern, match_score
from appliance.services.permissions import has_permission
from modules.people.models import Employee


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Records whose number, legal name or English name contains `query` (every member: these are public)."""
    if not has_permission(actor, 'core.directory'):
        return []
    pattern = like_pattern(query)
    stmt = (
        select(Employee.id, Employee.employee_no, Employee.legal_name, Employee.english_name)
        .where(
            or_(
                Employee.employee_no.ilike(pattern, escape='\\'),
                Employee.legal_name.ilike(pattern, escape='\\'),
                Employee.english_name.ilike(pattern, escape='\\'),
            )
        )
        .order_by(Employee.employee_no)
        .limit(max(limit, 1) * 3)
    )
    hits = [
        SearchHit(
            module='people',
            kind='employee',
            title=f'{number} · {name}' + (f' ({english})' if english else ''),
            url=f'/people/{employee_id}',
            score=match_score(query, number, name, english),
        )
        for employee_id, number, name, english in session.execute(stmt)
    ]
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]
