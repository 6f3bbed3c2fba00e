"""Words the Backups page and its dialogs share: a run's kind and status, and a snapshot's time."""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.i18n import _, format_datetime


def kind_text(kind: str) -> str:
    """A run's kind as the reader reads it."""
    return {
        'backup': _('Backup'),
        'forget': _('Retention'),
        'check': _('Check'),
        'read_data': _('Check (read data)'),
        'drill': _('Restore drill'),
        'restore': _('Restore'),
    }.get(kind, kind)


def status_text(status: str) -> str:
    """A run's status as the reader reads it."""
    return {'ok': _('OK'), 'failed': _('Failed'), 'interrupted': _('Interrupted'), 'running': _('Running')}.get(
        status, status
    )


def snapshot_time(text: str, timezone: str) -> str:
    """A time restic or a manifest wrote (ISO 8601 with its offset) as the reader reads every other time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # not a time after all: show what was written rather than nothing
        return text
    if moment.tzinfo is None:  # both write an offset; a bare time would be the writer's UTC
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, timezone=timezone)
