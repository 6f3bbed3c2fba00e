"""Pages of lists: every list a service returns is paginated, with the total that matched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar('T')
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the number of items that matched."""

    items: list[T]
    total: int
    offset: int
    limit: int


def paginate(session: Session, stmt: Select[Any], *, offset: int, limit: int) -> Page[Any]:
    """Run an ordered select for one page (limit clamped to 1..200) and count everything it matches."""
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.offset(offset).limit(limit)))
    return Page(items=items, total=total, offset=offset, limit=limit)
