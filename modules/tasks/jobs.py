"""Scheduled jobs of the tasks module. PLACEHOLDER: being written."""

from __future__ import annotations

from appliance.modules import ScheduledJob

JOBS: tuple[ScheduledJob, ...] = ()
