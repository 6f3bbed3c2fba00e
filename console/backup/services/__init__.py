"""The backup part's public surface: backup targets, runs (backup, check, drill), restores, the recovery kit and
the backup health checks. Pages, the CLI and other parts import only this package."""

from __future__ import annotations

from console.backup.services.backup import TAG, backup_paths, run_backup
from console.backup.services.checks import backups, drills, repositories
from console.backup.services.cronspec import KIND_LABELS, Simple, describe_schedule, parse_simple, weekday_names
from console.backup.services.kit import recovery_kit
from console.backup.services.local_snapshots import REASONS as SNAPSHOT_REASONS
from console.backup.services.local_snapshots import (
    RELEASES,
    LocalSnapshot,
    SnapshotRefused,
    get_snapshot,
    list_snapshots,
    needed_bytes,
)
from console.backup.services.local_snapshots import delete as delete_snapshot
from console.backup.services.local_snapshots import health as snapshot_health
from console.backup.services.local_snapshots import prove as prove_snapshot
from console.backup.services.local_snapshots import restore as restore_snapshot
from console.backup.services.local_snapshots import scheduled as scheduled_snapshot
from console.backup.services.local_snapshots import take as take_snapshot
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
    last_run,
    progress_of,
    running,
)
from console.backup.services.schedule import SCHEDULER, tick
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
    'RELEASES',
    'SCHEDULER',
    'SNAPSHOT_REASONS',
    'TAG',
    'LocalSnapshot',
    'PreparedTarget',
    'Repository',
    'ResticError',
    'RestoreRefused',
    'RunView',
    'Simple',
    'Snapshot',
    'SnapshotRefused',
    'add_target',
    'back_up',
    'backup_paths',
    'backups',
    'check',
    'check_new_target',
    'check_snapshot',
    'choose_target',
    'delete_snapshot',
    'describe_schedule',
    'discard',
    'drill',
    'drills',
    'get_snapshot',
    'get_target',
    'history',
    'last_run',
    'list_snapshots',
    'list_targets',
    'needed_bytes',
    'open_repository',
    'parse_simple',
    'prepare_target',
    'progress_of',
    'prove_snapshot',
    'record_target',
    'recovery_kit',
    'redact',
    'refuse_while_serving',
    'remove_target',
    'repositories',
    'restore',
    'restore_choices',
    'restore_snapshot',
    'run_backup',
    'running',
    'scheduled_snapshot',
    'snapshot_health',
    'ssh_public_key',
    'take_snapshot',
    'test_connection',
    'tick',
    'update_target',
    'weekday_names',
]
