"""Alerts: the health checks run every minute; a check that turns red (or stops being red) is said once.

Each check's last status is kept in `console_check_states`. On a change into red, or out of it, one line goes to
the log (logger `enclave.alerts`: WARNING for red, INFO for a recovery) and each admin gets a notification in the
same transaction as the new state. The notification is the core's: it shows in the bell and, when the admin has
turned on the intranet SMTP relay, is e-mailed by the core's outbox (with its retries) to admins who have an
address. Its dedup key names the change, so the same red state is never announced twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.db import Database, get_database, utcnow
from appliance.errors import N_
from appliance.i18n import gettext
from appliance.models import User, UserRole
from appliance.modules import Registry, current_registry
from appliance.services.notifications import notify, register_messages
from console.health.services.checks import GREEN, RED, Check, check_titles, run_checks
from console.models import CheckState

log = logging.getLogger('enclave.alerts')

MODULE = 'console'
KIND_RED, KIND_RECOVERED = 'health_red', 'health_recovered'
PERMISSION = 'console.manage'
register_messages(
    MODULE,
    {KIND_RED: N_('Health check {title} is red'), KIND_RECOVERED: N_('Health check {title} is no longer red')},
)

# The job and a dashboard view may evaluate at the same moment: one at a time, or both would see the same change.
_lock = threading.Lock()


@dataclass(frozen=True)
class Change:
    """A check that turned red (`after` == red) or stopped being red. `before` is '' for a check seen first."""

    name: str
    before: str
    after: str
    message: str
    since: datetime

    @property
    def is_red(self) -> bool:
        """The check went into red (rather than out of it)."""
        return self.after == RED


def record(session: Session, checks: list[Check], *, now: datetime) -> list[Change]:
    """Store each check's status and message; return the changes worth an alert (into or out of red).

    States of checks that no longer exist (a module was disabled) are dropped, so they cannot stay red.
    """
    # Row locks on PostgreSQL: two workers (or boxes) evaluating at once take turns and see each other's change,
    # so a change is announced once. SQLite's writers take turns already (BEGIN IMMEDIATE).
    states = {state.name: state for state in session.scalars(select(CheckState).with_for_update())}
    changes: list[Change] = []
    for check in checks:
        name = check.name[:64]
        state = states.pop(name, None)
        if state is None:
            state = CheckState(name=name, status=check.status, message=check.message, since=now)
            session.add(state)
            before = ''
        else:
            before = state.status
            state.message = check.message
            if state.status != check.status:
                state.status, state.since = check.status, now
        if (check.status == RED) != (before == RED):
            changes.append(Change(name, before, check.status, check.message, now))
            state.alerted_at = now
    if states:
        session.execute(delete(CheckState).where(CheckState.name.in_(list(states))))
    return changes


def admin_ids(session: Session, registry: Registry) -> list[int]:
    """Active users holding a role that grants the console (admin, and any role the permission names)."""
    roles = {'admin'} | {role for perm in registry.permissions() if perm.name == PERMISSION for role in perm.roles}
    stmt = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(sorted(roles)), User.is_active.is_(True))
        .distinct()
    )
    return list(session.scalars(stmt))


def check_title(registry: Registry, name: str) -> str:
    """A check's title in the current language ('Restore drill'), or its name when it has none."""
    title = check_titles(registry).get(name)
    return gettext(title) if title else name


def _announce(session: Session, change: Change, registry: Registry) -> None:
    notify(
        session,
        user_ids=admin_ids(session, registry),
        module=MODULE,
        kind=KIND_RED if change.is_red else KIND_RECOVERED,
        title=check_title(registry, change.name),
        body=change.message,
        url='/console',
        dedup_key=f'console.health:{change.name}:{change.after}:{change.since.isoformat()}',
    )


def _log(change: Change) -> None:
    if change.is_red:
        log.warning('health check %s is red: %s', change.name, change.message)
    else:
        log.info('health check %s recovered (%s): %s', change.name, change.after, change.message)


def evaluate(
    *, data_dir: Path, registry: Registry, database: Database | None = None
) -> tuple[list[Check], list[Change]]:
    """Run the checks, store their states, announce the changes; return the checks and the changes."""
    database = database or get_database()
    with _lock:
        checks = run_checks(data_dir=data_dir, registry=registry)
        with database.session(write=True) as session:
            changes = record(session, checks, now=utcnow())
            for change in changes:
                _announce(session, change, registry)
    for change in changes:
        _log(change)
    return checks, changes


def red_count(session: Session) -> int:
    """How many checks were red when last evaluated (cheap: no check runs)."""
    return session.scalar(select(func.count()).select_from(CheckState).where(CheckState.status == RED)) or 0


def stored_states(session: Session) -> list[CheckState]:
    """The last evaluated state of every check, by name."""
    return list(session.scalars(select(CheckState).order_by(CheckState.name)))


def run_alerts() -> None:
    """The scheduler's job: evaluate the checks once."""
    evaluate(data_dir=get_settings().data_dir, registry=current_registry())


__all__ = ['GREEN', 'RED', 'Change', 'evaluate', 'record', 'red_count', 'run_alerts', 'stored_states']
