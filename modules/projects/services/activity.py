"""The activity feed of a project: `record` is called in the transaction of the change it describes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from appliance.models import User
from modules.projects.models import Activity


def record(
    session: Session,
    *,
    project_id: int,
    actor: User | None,
    action: str,
    target_kind: str = '',
    target_id: int | None = None,
    **details: Any,
) -> Activity:
    """Add a line to the project's feed (e.g. action='task.moved', ref='WEB-42', title=..., status='Done')."""
    entry = Activity(
        project_id=project_id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        details=json.dumps(details, ensure_ascii=False, default=str),
    )
    session.add(entry)
    return entry
