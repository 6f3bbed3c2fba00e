"""The console's backup part: restic targets, backups, checks, restore drills, restores and the recovery kit."""
