"""What the console backs up and restores of personnel records (sealed values stay sealed in the dump)."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('people_employees', 'people_sealed', 'people_history'))
