"""The upgrade part's scheduled job: every minute, put what the root side finished (an upgrade, a rollback, a
refused request) in the audit log, once."""

from __future__ import annotations

from appliance.modules import ScheduledJob
from console.upgrade import services


def _record() -> None:
    from appliance.config import get_settings

    services.record_finished(get_settings())


JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(id='console.upgrade_history', func=_record, trigger='interval', trigger_args={'seconds': 60}),
)
