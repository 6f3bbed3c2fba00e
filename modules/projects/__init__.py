"""Projects: keys, members with roles, milestones, an overview, an activity feed and a timeline."""

from __future__ import annotations

from appliance.errors import N_
from appliance.extensions import AUDIT_TEXTS, AuditText
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
    contributes=(
        AUDIT_TEXTS.contribute(
            AuditText('project.created', N_('Created the project {key}')),
            AuditText('project.updated', N_('Changed a project ({fields})')),
            AuditText('project.archived', N_('Archived a project')),
            AuditText('project.restored', N_('Restored an archived project')),
            AuditText('project.deleted', N_('Deleted the project {key} "{name}"')),
            AuditText('project.member_added', N_('Added {name} to a project')),
            AuditText('project.member_role_changed', N_('Changed the project role of {name}')),
            AuditText('project.member_removed', N_('Removed {name} from a project')),
            AuditText('milestone.created', N_('Created the milestone "{name}" in {project}')),
            AuditText('milestone.deleted', N_('Deleted the milestone "{name}" in {project}')),
        ),
    ),
)
