"""The red banner the console contributes to every page (`core.banners`) while a health check is red."""

from __future__ import annotations

from typing import Any

from appliance.db import get_database
from appliance.errors import N_
from appliance.i18n import gettext
from console.health.services.alerts import PERMISSION, red_count


def red_banner(ctx: Any) -> list[tuple[str, str, str]]:
    """For admins, a red banner while any health check is red (read from the stored states; no check runs)."""
    if PERMISSION not in ctx.permissions:
        return []
    with get_database().session(write=False) as session:
        red = red_count(session)
    if not red:
        return []
    text = gettext(N_('1 health check is red')) if red == 1 else gettext(N_('{count} health checks are red'), count=red)
    return [('red', text, '/console')]
