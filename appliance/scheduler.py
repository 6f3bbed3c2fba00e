"""APScheduler inside the app process: core housekeeping plus every module's declared jobs.

Blocking job functions run in the event loop's thread pool (AsyncIOExecutor), never on the loop itself.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from appliance.db import get_database
from appliance.modules import Registry, ScheduledJob
from appliance.services import auth, mail
from appliance.web import maintenance

log = logging.getLogger('enclave.scheduler')


def purge_login_tickets() -> None:
    """Drop expired one-time login tickets."""
    with get_database().session() as session:
        removed = auth.purge_expired(session=session)
    if removed:
        log.info('removed %d expired login tickets', removed)


CORE_JOBS = (
    ScheduledJob(
        id='core.purge_login_tickets', func=purge_login_tickets, trigger='interval', trigger_args={'minutes': 30}
    ),
    # Notification e-mails: a cheap settings read when e-mail is off (the default); never connects unless on.
    ScheduledJob(id='core.deliver_mail', func=mail.run_delivery, trigger='interval', trigger_args={'minutes': 1}),
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
