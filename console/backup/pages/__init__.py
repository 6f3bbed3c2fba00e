"""The backup part's pages: /console/backups and /console/snapshots."""

from __future__ import annotations


def register() -> None:
    """Register the Backups and Snapshots pages."""
    from console.backup.pages.backups import register as register_backups  # nicegui: only when pages are built
    from console.backup.pages.snapshots import register as register_snapshots

    register_backups()
    register_snapshots()
