"""The backup part's pages: /console/backups."""

from __future__ import annotations


def register() -> None:
    """Register the Backups page."""
    from console.backup.pages.backups import register as register_backups  # nicegui: only when pages are built

    register_backups()
