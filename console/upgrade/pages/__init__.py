"""The upgrade part's pages: /console/upgrade."""

from __future__ import annotations


def register() -> None:
    """Register the Upgrade page."""
    from console.upgrade.pages.upgrade import register as register_upgrade  # nicegui: only when pages are built

    register_upgrade()
