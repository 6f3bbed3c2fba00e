"""The audit log as sentences: what each recorded action means, in the reader's language.

The core's own actions are here; the console and the modules add theirs through `AUDIT_TEXTS` (appliance.extensions).
An action nobody describes still reads as a sentence ("Another action, see its details"); the raw record (action
id, target, JSON details) stays one click away on the audit page.
"""

from __future__ import annotations

import json
from typing import Any

from appliance.errors import N_
from appliance.extensions import AUDIT_TEXTS
from appliance.i18n import fill_leniently
from appliance.modules import current_registry

CORE_TEXTS = {
    'setup.complete': N_('Set up the organisation "{org_name}"'),
    'user.create': N_('Created the account {target}'),
    'user.update': N_('Changed the account {target}'),
    'user.update_profile': N_('Changed their own profile'),
    'user.enable': N_('Enabled the account {target}'),
    'user.disable': N_('Disabled the account {target}'),
    'user.reset_password': N_('Set a new password for {target}'),
    'user.change_password': N_('Changed their own password'),
    'user.placed': N_('Placed {target} in the company'),
    'department.created': N_('Created the department {target}'),
    'department.renamed': N_('Renamed the department "{from}" to "{to}"'),
    'department.moved': N_('Moved the department {target}'),
    'department.changed': N_('Changed the department {target}'),
    'department.heads': N_('Set the heads of {target}'),
    'department.merged': N_('Merged the department {target} into {into}'),
    'department.absorbed': N_('Merged {source} into the department {target}'),
    'department.closed': N_('Closed the department {target}'),
    '2fa.enable': N_('Turned on two-factor sign-in'),
    '2fa.disable': N_('Turned off two-factor sign-in for {target}'),
    'token.create': N_('Created an API token'),
    'token.revoke': N_('Revoked an API token'),
    'session.end': N_('Ended a sign-in session of {target}'),
    'login.success': N_('Signed in'),
    'login.failure': N_('Failed to sign in as {target}'),
    'logout': N_('Signed out'),
    'permission.denied': N_('Was refused access to {target}'),
    'settings.update': N_('Changed the organisation settings'),
    'settings.mail': N_('Changed the e-mail settings'),
    'settings.mail.test': N_('Sent a test e-mail to {to}'),
    'settings.mail.test_failed': N_('Could not send a test e-mail to {to}'),
}
FALLBACK = N_('Another action; see its details')


def texts() -> dict[str, str]:
    """Every described action: the core's and the contributions of the loaded modules."""
    contributed = {text.action: text.message for text in current_registry().contributions(AUDIT_TEXTS)}
    return {**contributed, **CORE_TEXTS}


def details_of(raw: str | None) -> dict[str, Any]:
    """The stored JSON details as a dict (anything else as an empty one)."""
    try:
        details = json.loads(raw or '{}')
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def describe(action: str, target: str, details: dict[str, Any], known: dict[str, str] | None = None) -> str:
    """The action as a sentence in the current language, filled from the target (without its `kind:` prefix) and
    the details; never raises on a missing or malformed placeholder."""
    message = (known if known is not None else texts()).get(action, FALLBACK)
    values = {key: _plain(value) for key, value in details.items() if isinstance(key, str)}
    values['target'] = target.split(':', 1)[1] if ':' in target else target
    return fill_leniently(message, values)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ', '.join(str(item) for item in value)
    return str(value)
