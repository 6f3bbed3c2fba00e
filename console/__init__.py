"""The maintenance console: backups (restic), restores, drills, health and the offline license (issue 4)."""
