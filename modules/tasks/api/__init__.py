"""REST API of the tasks module, under /api/v1: one file per resource; the bodies are in models.py and
collab_models.py, the list filters in query.py."""

from __future__ import annotations

from appliance.api.deps import Router


def router() -> Router:
    """Every route of the module, in the order they are matched."""
    from modules.tasks.api import (
        attachments,
        calendar_feed,
        checklist,
        comments,
        csvio,
        labels,
        statuses,
        tasks,
        time_entries,
    )

    combined = Router()
    # Collaboration routes first: /api/v1/tasks/export.csv must not be taken for /api/v1/tasks/{task_id}.
    for part in (comments, time_entries, attachments, calendar_feed, csvio, tasks, statuses, labels, checklist):
        combined.include_router(part.router)
    return combined
