"""Permission checks: the single place that turns roles into permissions and audits denials."""

from __future__ import annotations

from appliance.errors import PermissionDenied
from appliance.modules import current_registry
from appliance.services import audit
from appliance.services.actors import Actor


def permissions_of(user: Actor | None) -> set[str]:
    """Every permission the user holds now (none when inactive)."""
    if user is None or not user.is_active:
        return set()
    return current_registry().permissions_for_roles(user.role_names)


def has_permission(user: Actor | None, permission: str) -> bool:
    """True when the user holds `permission`."""
    return permission in permissions_of(user)


def require(actor: Actor | None, permission: str, *, target: str = '') -> None:
    """Raise PermissionDenied, and audit the denial, unless the actor holds `permission`."""
    if has_permission(actor, permission):
        return
    audit.record_now(actor=actor, action='permission.denied', target=target, details={'permission': permission})
    raise PermissionDenied(permission=permission)
