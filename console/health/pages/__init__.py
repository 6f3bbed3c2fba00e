"""The health part's pages: /console, the dashboard of checks and history."""

from __future__ import annotations


def register() -> None:
    """Register the Maintenance dashboard."""
    from console.health.pages.health import register as register_dashboard  # nicegui: only when pages are built

    register_dashboard()
