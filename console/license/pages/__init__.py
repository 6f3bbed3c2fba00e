"""The license part's pages: /console/license."""

from __future__ import annotations


def register() -> None:
    """Register the License page."""
    from console.license.pages.license import register as register_license  # nicegui: only when pages are built

    register_license()
