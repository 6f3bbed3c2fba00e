"""The backup part's public surface: backup targets, runs (backup, check, drill), restores, the recovery kit and
the backup health checks. Pages, the CLI and other parts import only this package."""

from __future__ import annotations

from console.backup.services.backup import TAG, backup_paths, run_backup
from console.backup.services.checks import backups, drills, repositories
from console.backup.services.cronspec import KIND_LABELS, Simple, describe_schedule, parse_simple, weekday_names
from console.backup.services.kit import recovery_kit
from console.backup.services.restic import Repository, ResticError, Snapshot
from console.backup.services.restores import (
    RestoreRefused,
    check_snapshot,
    refuse_while_serving,
    restore,
    restore_choices,
)
from console.backup.services.runs import (
    PROGRESS,
    RunView,
    back_up,
    check,
    choose_target,
    drill,
    history,
    progress_of,
    running,
)
from console.backup.services.schedule import tick
from console.backup.services.targets import (
    CRON_FIELDS,
    PERMISSION,
    PreparedTarget,
    add_target,
    check_new_target,
    discard,
    get_target,
    list_targets,
    open_repository,
    prepare_target,
    record_target,
    redact,
    remove_target,
    ssh_public_key,
    test_connection,
    update_target,
)

__all__ = [
    'CRON_FIELDS',
    'KIND_LABELS',
    'PERMISSION',
    'PROGRESS',
    'TAG',
    'PreparedTarget',
    'Repository',
    'ResticError',
    'RestoreRefused',
    'RunView',
    'Simple',
    'Snapshot',
    'add_target',
    'back_up',
    'backup_paths',
    'backups',
    'check',
    'check_new_target',
    'check_snapshot',
    'choose_target',
    'describe_schedule',
    'discard',
    'drill',
    'drills',
    'get_target',
    'history',
    'list_targets',
    'open_repository',
    'parse_simple',
    'prepare_target',
    'progress_of',
    'record_target',
    'recovery_kit',
    'redact',
    'refuse_while_serving',
    'remove_target',
    'repositories',
    'restore',
    'restore_choices',
    'run_backup',
    'running',
    'ssh_public_key',
    'test_connection',
    'tick',
    'update_target',
    'weekday_names',
]
