"""The logs' health check: how many errors the app log holds for the last hour."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from appliance.config import get_settings
from appliance.db import utcnow
from appliance.errors import N_, NP_
from appliance.extensions import Status
from appliance.i18n import gettext
from appliance.logs import log_dir
from console.logs.services.logview import count_since

ERRORS_AMBER = 5  # ERROR/CRITICAL records in the last hour from which the check turns amber
ERRORS_RED = 50
ERROR_WINDOW = timedelta(hours=1)


def error_rate(data_dir: Path | None = None, *, amber: int = ERRORS_AMBER, red: int = ERRORS_RED) -> tuple[Status, str]:
    """Errors in the app log over the last hour, read back from the end of the log."""
    folder = log_dir(data_dir or get_settings().data_dir)
    counted = count_since(folder, utcnow() - ERROR_WINDOW, levels=('ERROR', 'CRITICAL'))
    count = f'{counted.count}' if counted.complete else f'{counted.count}+'
    if counted.count >= red:
        return Status.RED, gettext(
            N_('{count} errors in the app log in the last hour: open Maintenance → Logs to see what fails.'),
            count=count,
        )
    if counted.count >= amber:
        return Status.AMBER, gettext(
            N_('{count} errors in the app log in the last hour: look at Maintenance → Logs.'), count=count
        )
    return Status.GREEN, gettext(
        NP_(
            '{count} error in the app log in the last hour.', '{count} errors in the app log in the last hour.', 'count'
        ),
        count=count,
    )
