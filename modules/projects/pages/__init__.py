"""NiceGUI pages of the projects module: the list, and each project's tabs (one file per page)."""

from __future__ import annotations


def register() -> None:
    """Register every projects page (imported here, when pages are registered, not when the module loads)."""
    from appliance.ui.guard import protected_page
    from modules.projects.pages import activity, members, milestones, overview, projects, settings, timeline

    protected_page('/projects', permission='projects.use')(projects.projects_page)
    protected_page('/projects/{id}', permission='projects.use')(overview.overview_page)
    protected_page('/projects/{id}/members', permission='projects.use')(members.members_page)
    protected_page('/projects/{id}/milestones', permission='projects.use')(milestones.milestones_page)
    protected_page('/projects/{id}/timeline', permission='projects.use')(timeline.timeline_page)
    protected_page('/projects/{id}/activity', permission='projects.use')(activity.activity_page)
    protected_page('/projects/{id}/settings', permission='projects.use')(settings.settings_page)
