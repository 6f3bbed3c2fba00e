"""The backup part's scheduled jobs: every minute, start whatever backup, check or drill is due; every ten minutes,
take the daily snapshot when it is due."""

from __future__ import annotations

from appliance.modules import ScheduledJob
from console.backup import services


def _tick() -> None:
    services.tick()


def _snapshot() -> None:
    from appliance.config import get_settings
    from appliance.modules import current_registry

    services.scheduled_snapshot(settings=get_settings(), registry=current_registry(), actor=services.SCHEDULER)


# In the scheduler's thread pool, off the event loop.
JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(id='console.backup_schedule', func=_tick, trigger='interval', trigger_args={'seconds': 60}),
    # The daily snapshot: looked for every ten minutes, taken when the last one is a day old.
    ScheduledJob(id='console.snapshot_schedule', func=_snapshot, trigger='interval', trigger_args={'minutes': 10}),
)
