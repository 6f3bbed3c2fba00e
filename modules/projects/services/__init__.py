"""The public surface of projects: pages, the API, hooks and other modules import only this package.

The rules live in the files beside it (projects, members, milestones, feed, access, activity, common, labels);
every name another part needs is re-exported here so that callers write `services.<name>`.
"""

from __future__ import annotations

from modules.projects.services.access import LEVEL, is_member, require_project, role_in, visible_project_ids
from modules.projects.services.activity import record as record_activity
from modules.projects.services.common import UNSET, Unset, check_year, display_name, project_view
from modules.projects.services.feed import activity_views, list_activity, overview, sentence, timeline
from modules.projects.services.labels import (
    MILESTONE_STATUS_LABELS,
    ROLE_LABELS,
    STATUS_COLORS,
    STATUS_LABELS,
    VISIBILITY_LABELS,
)
from modules.projects.services.members import add_member, change_role, list_members, member_candidates, remove_member
from modules.projects.services.milestones import (
    create_milestone,
    delete_milestone,
    get_milestone,
    list_milestones,
    milestone_progress,
    update_milestone,
)
from modules.projects.services.projects import (
    EDITABLE_STATUSES,
    archive_project,
    clean_key,
    count_items,
    create_project,
    delete_project,
    get_project,
    list_projects,
    progress,
    restore_project,
    update_project,
)

__all__ = [
    'EDITABLE_STATUSES',
    'LEVEL',
    'MILESTONE_STATUS_LABELS',
    'ROLE_LABELS',
    'STATUS_COLORS',
    'STATUS_LABELS',
    'UNSET',
    'VISIBILITY_LABELS',
    'Unset',
    'activity_views',
    'add_member',
    'archive_project',
    'change_role',
    'check_year',
    'clean_key',
    'count_items',
    'create_milestone',
    'create_project',
    'delete_milestone',
    'delete_project',
    'display_name',
    'get_milestone',
    'get_project',
    'is_member',
    'list_activity',
    'list_members',
    'list_milestones',
    'list_projects',
    'member_candidates',
    'milestone_progress',
    'overview',
    'progress',
    'project_view',
    'record_activity',
    'remove_member',
    'require_project',
    'restore_project',
    'role_in',
    'sentence',
    'timeline',
    'update_milestone',
    'update_project',
    'visible_project_ids',
]
