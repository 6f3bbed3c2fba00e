"""The license part's scheduled job: the clock's high-water mark follows the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appliance.modules import ScheduledJob
from console.license import services

JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        id='console.license_clock',
        func=services.record_today,
        trigger='interval',
        # Daily, and once shortly after start-up, so the clock's high-water mark follows the calendar.
        trigger_args={'hours': 24, 'next_run_time': datetime.now(UTC) + timedelta(seconds=60)},
    ),
)
