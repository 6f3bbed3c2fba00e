"""What a backup holds of the health part: the sampled history and the last status of each check."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('console_health_samples', 'console_check_states'))
