"""Wiring of the console's logs part: pages, jobs, health checks, protected paths, contributions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from appliance.config import get_settings
from appliance.db import utcnow
from appliance.errors import N_
from appliance.i18n import gettext
from appliance.logs import log_dir
from appliance.modules import HealthCheck, NavItem, ScheduledJob
from console import logview

ERRORS_AMBER = 5  # ERROR/CRITICAL records in the last hour from which the check turns amber
ERRORS_RED = 50
ERROR_WINDOW = timedelta(hours=1)


def error_rate(data_dir: Path | None = None, *, amber: int = ERRORS_AMBER, red: int = ERRORS_RED) -> tuple[str, str]:
    """Errors in the app log over the last hour, read back from the end of the log."""
    folder = log_dir(data_dir or get_settings().data_dir)
    counted = logview.count_since(folder, utcnow() - ERROR_WINDOW, levels=('ERROR', 'CRITICAL'))
    count = f'{counted.count}' if counted.complete else f'{counted.count}+'
    if counted.count >= red:
        return 'red', gettext(
            N_('{count} errors in the app log in the last hour: open Maintenance → Logs to see what fails.'),
            count=count,
        )
    if counted.count >= amber:
        return 'amber', gettext(
            N_('{count} errors in the app log in the last hour: look at Maintenance → Logs.'), count=count
        )
    return 'green', gettext(N_('{count} errors in the app log in the last hour.'), count=count)


NAV: tuple[NavItem, ...] = (
    NavItem(N_('Logs'), '/console/logs', 'article', 'console.manage'),
    NavItem(N_('Support bundle'), '/console/support', 'support', 'console.manage'),
)
JOBS: tuple[ScheduledJob, ...] = ()
CHECKS: tuple[HealthCheck, ...] = (HealthCheck('log_errors', error_rate),)
PROTECTED_PATHS: tuple[str, ...] = ('/console/logs', '/console/support')
CONTRIBUTES: dict[str, tuple[Any, ...]] = {}


def register_pages() -> None:
    """Register this part's /console pages."""
    from console import pages_logs

    pages_logs.register()
