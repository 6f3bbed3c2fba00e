"""The backup part's scheduled job: every minute, start whatever backup, check or drill is due."""

from __future__ import annotations

from appliance.modules import ScheduledJob
from console.backup import services


def _tick() -> None:
    services.tick()


# In the scheduler's thread pool, off the event loop.
JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(id='console.backup_schedule', func=_tick, trigger='interval', trigger_args={'seconds': 60}),
)
