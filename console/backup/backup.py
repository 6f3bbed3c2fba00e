"""What a backup holds of the backup part: its targets and the record of its runs."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('console_targets', 'console_runs'))
