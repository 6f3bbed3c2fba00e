"""Wiring of the console's certificate part: the page that shows nginx's certificate and asks for another."""

from __future__ import annotations

from typing import Any

from appliance.errors import N_
from appliance.modules import HealthCheck, NavItem, ScheduledJob

NAV: tuple[NavItem, ...] = (NavItem(N_('Certificate'), '/console/certificate', 'lock', 'console.manage'),)
JOBS: tuple[ScheduledJob, ...] = ()
CHECKS: tuple[HealthCheck, ...] = ()
PROTECTED_PATHS: tuple[str, ...] = ('/console/certificate',)
CONTRIBUTES: dict[str, tuple[Any, ...]] = {}


def register_pages() -> None:
    """Register this part's /console pages."""
    from console.pages_certificate import register  # imports nicegui: only when pages are built

    register()
