"""APScheduler inside the app process: core housekeeping plus every module's declared jobs.

Blocking job functions run in the event loop's thread pool (AsyncIOExecutor), never on the loop itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from appliance import diskspace
from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.db import get_database
from appliance.fsutil import format_size
from appliance.modules import Registry, ScheduledJob
from appliance.services import auth, mail
from appliance.web import maintenance

log = logging.getLogger('enclave.scheduler')


def purge_login_tickets() -> None:
    """Drop expired one-time login tickets; mark sessions that are over as ended (resolving one only reads)."""
    with get_database().session(write=True) as session:
        removed = auth.purge_expired(session=session)
        ended = auth.end_expired_sessions(session=session)
    if removed:
        log.info('removed %d expired login tickets', removed)
    if ended:
        log.info('ended %d sessions that were idle too long or over their lifetime', ended)


def maintenance_running(data_dir: Path) -> bool:
    """Whether a backup, drill or restore holds the maintenance lock (`console.lock`) right now."""
    try:
        fd = os.open(data_dir / 'maintenance.lock', os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops our shared lock: it is never held while gc runs
    return False


def collect_blobs() -> None:
    """Remove unreferenced blobs (after an hour's grace) and interrupted uploads' temp files (after a day)."""
    data_dir = get_settings().data_dir
    # A backup reads blobs/ after staging the database: a blob unreferenced since must stay until it has been read.
    if maintenance_running(data_dir):
        log.info('blob collection skipped: a backup, drill or restore is running')
        return
    report = get_blobstore().collect(get_database())
    if report.blobs_removed or report.temp_files_removed:
        log.info(
            'blob collection freed %s: %d unreferenced files, %d interrupted uploads',
            format_size(report.bytes_freed),
            report.blobs_removed,
            report.temp_files_removed,
        )


CORE_JOBS = (
    ScheduledJob(
        id='core.purge_login_tickets', func=purge_login_tickets, trigger='interval', trigger_args={'minutes': 30}
    ),
    # Notification e-mails: a cheap settings read when e-mail is off (the default); never connects unless on.
    ScheduledJob(id='core.deliver_mail', func=mail.run_delivery, trigger='interval', trigger_args={'minutes': 1}),
    # Disk space: the reserve released on a full disk and made again when there is room; the blob store's garbage.
    ScheduledJob(
        id='core.disk_reserve', func=diskspace.run_reserve_job, trigger='interval', trigger_args={'minutes': 1}
    ),
    ScheduledJob(id='core.blobs_gc', func=collect_blobs, trigger='interval', trigger_args={'hours': 1}),
)


def _guarded(job: ScheduledJob) -> object:
    def run() -> None:
        if maintenance.active():
            log.info('scheduled job %s skipped: maintenance in progress', job.id)
            return
        try:
            job.func()
        except Exception:
            log.exception('scheduled job %s failed', job.id)

    return run


def create_scheduler(registry: Registry) -> AsyncIOScheduler:
    """A scheduler holding the core's and the modules' jobs (not started)."""
    scheduler = AsyncIOScheduler(
        timezone='UTC', job_defaults={'coalesce': True, 'max_instances': 1, 'misfire_grace_time': 3600}
    )
    jobs = list(CORE_JOBS) + [job for spec in registry.modules() for job in spec.jobs]
    for job in jobs:
        scheduler.add_job(_guarded(job), job.trigger, id=job.id, replace_existing=True, **job.trigger_args)
    return scheduler
