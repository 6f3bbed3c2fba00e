"""What a backup holds of the license part: the installed codes and the console's state (the clock's mark)."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('console_licenses', 'console_state'))
