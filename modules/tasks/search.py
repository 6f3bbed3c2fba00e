"""Global search provider for tasks and their comments. PLACEHOLDER: being written."""

from __future__ import annotations

from sqlalchemy.orm import Session

from appliance.models import User
from appliance.search import SearchHit


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Tasks and comments the actor may see that match `query`."""
    return []
