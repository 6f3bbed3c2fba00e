"""The logs part's pages: /console/logs (the app log) and /console/support (the support bundle)."""

from __future__ import annotations


def register() -> None:
    """Register the Logs and Support bundle pages."""
    from console.logs.pages.logs import register as register_logs  # nicegui: only when pages are built

    register_logs()
