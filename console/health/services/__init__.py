"""The health part's public surface: the health checks and their report, the alerts on a change of status, the
sampled history of the box's figures and the red banner. Pages, the CLI and other parts import only this package."""

from __future__ import annotations

from console.health.services.alerts import evaluate, red_count, run_alerts, stored_states
from console.health.services.banner import red_banner
from console.health.services.checks import (
    AMBER,
    GREEN,
    RED,
    Check,
    Cleanup,
    check_titles,
    cleanup_preview,
    disk_space,
    run_checks,
    scheduler_alive,
    worst,
)
from console.health.services.sampler import Point, history, read_heartbeat, run_sampler, take_sample, write_heartbeat

__all__ = [
    'AMBER',
    'GREEN',
    'RED',
    'Check',
    'Cleanup',
    'Point',
    'check_titles',
    'cleanup_preview',
    'disk_space',
    'evaluate',
    'history',
    'read_heartbeat',
    'red_banner',
    'red_count',
    'run_alerts',
    'run_checks',
    'run_sampler',
    'scheduler_alive',
    'stored_states',
    'take_sample',
    'worst',
    'write_heartbeat',
]
