"""The health part's scheduled jobs: a sample of the box's figures and the alerts, every minute."""

from __future__ import annotations

from appliance.modules import ScheduledJob
from console.health import services

JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        id='console.health_sample', func=services.run_sampler, trigger='interval', trigger_args={'seconds': 60}
    ),
    ScheduledJob(
        id='console.health_alerts', func=services.run_alerts, trigger='interval', trigger_args={'seconds': 60}
    ),
)
