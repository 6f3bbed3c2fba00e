"""REST API of the projects module: projects, members, milestones and the activity feed, under /api/v1.

Every route calls the same services as the pages, so the permission rules are the same; a project the caller
may not see answers 404, as if it did not exist. One file per resource; the bodies are in models.py.
"""

from __future__ import annotations

from appliance.api.deps import Router


def router() -> Router:
    """Every route of the module, in the order they were always matched."""
    from modules.projects.api import activity, members, milestones, projects

    combined = Router()
    for part in (projects, members, milestones, activity):
        combined.include_router(part.router)
    return combined
