"""Console tables (prefix `console_`): backup targets, the history of maintenance runs, the license, health.

All of them are in the backup: a restore on a fresh box brings back its targets, its history, its license and
its health history. The repository passwords are not in the database: each lives in a 0600 file under
`<data>/keys/backup/` (also in the backup, and in the recovery kit the admin downloads).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db import Base, utcnow

DEFAULT_BACKUP_CRON = '0 2 * * *'  # daily at 02:00 (the box's local time zone: see console.schedule)
DEFAULT_CHECK_CRON = '0 3 * * 0'  # restic check, weekly on Sunday
DEFAULT_READ_DATA_CRON = '0 4 1 * *'  # restic check --read-data-subset, monthly on the 1st
DEFAULT_READ_DATA_SUBSET = '10%'
DEFAULT_DRILL_CRON = '0 5 * * 6'  # restore drill, weekly on Saturday


class Target(Base):
    """A restic repository the box backs up to, with its own schedules and retention (3-2-1: several targets)."""

    __tablename__ = 'console_targets'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # A restic repository string: a path, sftp:user@host:/path, rest:http://host:8000/, s3:host/bucket.
    repository: Mapped[str] = mapped_column(String(500))
    # Extra environment for restic (S3 keys, REST credentials), as JSON encrypted with the data key; '' when none.
    environment: Mapped[str] = mapped_column(Text, default='')
    enabled: Mapped[bool] = mapped_column(default=True)
    backup_cron: Mapped[str] = mapped_column(String(64), default=DEFAULT_BACKUP_CRON)
    keep_daily: Mapped[int] = mapped_column(default=7)
    keep_weekly: Mapped[int] = mapped_column(default=4)
    keep_monthly: Mapped[int] = mapped_column(default=12)
    check_cron: Mapped[str] = mapped_column(String(64), default=DEFAULT_CHECK_CRON)
    read_data_cron: Mapped[str] = mapped_column(String(64), default=DEFAULT_READ_DATA_CRON)
    read_data_subset: Mapped[str] = mapped_column(String(16), default=DEFAULT_READ_DATA_SUBSET)
    drill_cron: Mapped[str] = mapped_column(String(64), default=DEFAULT_DRILL_CRON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default='')
    kit_downloaded_at: Mapped[datetime | None] = mapped_column(default=None)
    kit_downloaded_by: Mapped[str] = mapped_column(String(64), default='')


class Run(Base):
    """One maintenance run: a backup, a repository check, a restore drill, a retention pass or a restore.

    `status` is 'running' while it runs, then 'ok' or 'failed' (with `message`); a run found 'running' after a
    restart (the process died under it) is marked 'interrupted'. `details` is JSON: the drill's findings, the
    manifest of a backup, the data moved aside by a restore.
    """

    __tablename__ = 'console_runs'
    __table_args__ = (
        Index('ix_console_runs_target_kind', 'target_id', 'kind', 'started_at'),
        Index('ix_console_runs_started', 'started_at'),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey('console_targets.id', ondelete='SET NULL'))
    target_name: Mapped[str] = mapped_column(String(64), default='')
    kind: Mapped[str] = mapped_column(String(16))  # backup, check, read_data, drill, forget, restore
    trigger: Mapped[str] = mapped_column(String(16), default='manual')  # manual, schedule, cli
    actor: Mapped[str] = mapped_column(String(64), default='')
    status: Mapped[str] = mapped_column(String(16), default='running')
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    snapshot_id: Mapped[str] = mapped_column(String(64), default='')
    files_new: Mapped[int] = mapped_column(BigInteger, default=0)
    files_changed: Mapped[int] = mapped_column(BigInteger, default=0)
    files_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_added: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    message: Mapped[str] = mapped_column(Text, default='')
    details: Mapped[str] = mapped_column(Text, default='{}')


class License(Base):
    """An installed activation code. The newest row is the license in force; older rows are the history."""

    __tablename__ = 'console_licenses'
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    license_id: Mapped[str] = mapped_column(String(64))
    licensee: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column()
    issued: Mapped[str] = mapped_column(String(10))  # ISO date
    expires: Mapped[str] = mapped_column(String(10), default='')  # ISO date, '' for never
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    installed_by: Mapped[str] = mapped_column(String(64), default='')


class State(Base):
    """Small console facts kept across restarts, by key: the clock's high-water mark, the last alert sent ..."""

    __tablename__ = 'console_state'
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default='')
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HealthSample(Base):
    """One sample of the box's vital signs. `span` is the seconds it covers: 60 for a raw sample, more once
    older samples are averaged together (downsampling keeps 30 days small). Rates are per second."""

    __tablename__ = 'console_health_samples'
    __table_args__ = (Index('ix_console_health_samples_taken', 'taken_at'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column()
    span: Mapped[int] = mapped_column(default=60)
    cpu_percent: Mapped[float] = mapped_column(Float, default=0.0)
    load1: Mapped[float] = mapped_column(Float, default=0.0)
    memory_percent: Mapped[float] = mapped_column(Float, default=0.0)
    swap_percent: Mapped[float] = mapped_column(Float, default=0.0)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    disk_total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    disk_read_rate: Mapped[float] = mapped_column(Float, default=0.0)
    disk_write_rate: Mapped[float] = mapped_column(Float, default=0.0)
    net_recv_rate: Mapped[float] = mapped_column(Float, default=0.0)
    net_sent_rate: Mapped[float] = mapped_column(Float, default=0.0)
    app_rss_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    database_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    blob_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    active_sessions: Mapped[int] = mapped_column(default=0)


class CheckState(Base):
    """The last known status of each health check, so an alert is raised once per change, not every minute."""

    __tablename__ = 'console_check_states'
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text, default='')
    since: Mapped[datetime] = mapped_column(default=utcnow)
    alerted_at: Mapped[datetime | None] = mapped_column(default=None)
