"""REST API of the upgrade part, under /api/v1."""

from __future__ import annotations

from appliance.api.deps import Router


def router() -> Router:
    """Every route of the part."""
    from console.upgrade.api import bundles

    return bundles.router
