"""What a backup of the projects module holds: its tables (no blobs)."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('projects_projects', 'projects_members', 'projects_milestones', 'projects_activity'))
