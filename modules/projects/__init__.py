"""Projects: keys, members with roles, milestones, an overview, an activity feed and a timeline."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import ModuleSpec, NavItem, Permission
from modules.projects.extensions import POINTS

MODULE = ModuleSpec(
    name='projects',
    label=N_('Projects'),
    permissions=(
        Permission('projects.use', N_('See and work in projects one belongs to'), roles=('admin', 'member')),
        Permission('projects.create', N_('Create projects'), roles=('admin', 'member')),
        Permission('projects.manage_all', N_('Act as a manager in every project, including private ones')),
    ),
    nav=(NavItem(N_('Projects'), '/projects', 'folder_open', 'projects.use'),),
    protected_paths=('/projects', '/api/v1/projects'),
    offers=POINTS,
)
