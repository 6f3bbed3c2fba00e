"""Wiring of the console's health part: pages, jobs, health checks, protected paths, contributions."""

from __future__ import annotations

from typing import Any

from appliance.modules import HealthCheck, NavItem, ScheduledJob

NAV: tuple[NavItem, ...] = ()
JOBS: tuple[ScheduledJob, ...] = ()
CHECKS: tuple[HealthCheck, ...] = ()
PROTECTED_PATHS: tuple[str, ...] = ()
CONTRIBUTES: dict[str, tuple[Any, ...]] = {}


def register_pages() -> None:
    """Register this part's /console pages."""
