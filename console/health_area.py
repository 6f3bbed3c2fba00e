"""Wiring of the console's health part: pages, jobs, health checks, protected paths, contributions."""

from __future__ import annotations

from typing import Any

from appliance.db import get_database
from appliance.errors import N_
from appliance.i18n import gettext
from appliance.modules import HealthCheck, NavItem, ScheduledJob
from console import alerts, health, sampler

PERMISSION = 'console.manage'
NAV: tuple[NavItem, ...] = (NavItem(N_('Maintenance'), '/console', 'monitor_heart', PERMISSION),)
JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        id='console.health_sample', func=sampler.run_sampler, trigger='interval', trigger_args={'seconds': 60}
    ),
    ScheduledJob(id='console.health_alerts', func=alerts.run_alerts, trigger='interval', trigger_args={'seconds': 60}),
)
CHECKS: tuple[HealthCheck, ...] = (HealthCheck('scheduler', health.scheduler_alive),)
PROTECTED_PATHS: tuple[str, ...] = ('/console',)


def red_banner(ctx: Any) -> list[tuple[str, str, str]]:
    """For admins, a red banner while any health check is red (read from the stored states; no check runs)."""
    if PERMISSION not in ctx.permissions:
        return []
    with get_database().session() as session:
        red = alerts.red_count(session)
    if not red:
        return []
    text = gettext(N_('1 health check is red')) if red == 1 else gettext(N_('{count} health checks are red'), count=red)
    return [('red', text, '/console')]


CONTRIBUTES: dict[str, tuple[Any, ...]] = {'core.banners': (red_banner,)}


def register_pages() -> None:
    """Register this part's /console pages."""
    import console.pages_health as pages_health  # pages import nicegui: only when the app builds its pages

    pages_health.register()
