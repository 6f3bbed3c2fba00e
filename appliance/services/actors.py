"""Who acts: a signed-in user, or the operator at the server's console (the `enclave` command).

The operator already controls the data dir and the process, so it holds every permission; its actions are
audited under its name (no user id). Services that only make sense for a person (own password, two-factor)
keep taking a `User`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.models import User


@dataclass(frozen=True)
class Operator:
    """The machine operator; `username` is what the audit log shows (e.g. 'cli')."""

    username: str = 'cli'
    display_name: str = 'Command line'
    id: None = None
    is_active: bool = True
    role_names: frozenset[str] = field(default_factory=lambda: frozenset({'admin'}))


Actor = User | Operator
"""Anyone a service can act for."""
