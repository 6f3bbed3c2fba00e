"""Asking the root side for an upgrade or a rollback, and reading what it did.

The app runs as an unprivileged user and cannot install a release. It checks the request the way the root helper
will (the bundle, the required stop, the space, a fresh backup or the admin's audited word to go without one),
then writes `<data>/upgrade-request/request` (a temporary file renamed into place: the path unit sees it whole).
`enclave-upgrade-request.path` starts the helper (console/upgrade/root_helper.py), which checks everything again,
trusts nothing here, and writes its progress (`status.json`) and each finished upgrade or rollback
(`history/<id>.json`, with its log) back into that folder. The app records each finished one in the audit log
once (`record_finished`, every minute and whenever the page is opened), in the database that is current then: after
a rollback that is the restored one, so its audit trail says that an upgrade happened and was rolled back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from appliance import __version__
from appliance.config import Settings
from appliance.db import get_database
from appliance.errors import N_, Conflict, ValidationError
from appliance.fsutil import fsync_dir
from appliance.models import AuditEvent
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.upgrade.services.planning import PERMISSION, plan

FOLDER = 'upgrade-request'
REQUEST = 'request'
RUNNING = ('running', 'rolling_back')
UPGRADE_ID = re.compile(r'\d{8}-\d{6}-[0-9a-f]{6}')
# The root side is installed (the appliance, or install.sh on a server): its request watcher is enabled.
PATH_UNIT = Path('/etc/systemd/system/enclave-upgrade-request.path')
# What the audit log says about each way an upgrade or rollback can end (console/__init__.py has the sentences).
FINISHED_ACTIONS = {
    ('upgrade', 'done'): 'console.upgraded',
    ('upgrade', 'rolled_back'): 'console.upgrade_rolled_back',
    ('upgrade', 'failed'): 'console.upgrade_failed',
    ('upgrade', 'refused'): 'console.upgrade_refused',
    ('rollback', 'rolled_back'): 'console.rollback_done',
    ('rollback', 'refused'): 'console.upgrade_refused',
    ('request', 'refused'): 'console.upgrade_refused',
}


@dataclass(frozen=True)
class Finished:
    """One upgrade, rollback or refused request, as the root helper recorded it."""

    id: str
    action: str
    state: str
    by: str
    from_version: str
    to_version: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    downtime_seconds: float | None
    rollback_seconds: float | None
    reason: str
    snapshot: str
    without_fresh_backup: bool
    log: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Finished:
        def when(key: str) -> datetime | None:
            try:
                return datetime.fromisoformat(str(record[key]))
            except (KeyError, ValueError):
                return None

        def seconds(key: str) -> float | None:
            value = record.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            id=str(record.get('id', '')),
            action=str(record.get('action', '')),
            state=str(record.get('state', '')),
            by=str(record.get('by', '')),
            from_version=str(record.get('from_version', '')),
            to_version=str(record.get('to_version', '')),
            started_at=when('started_at'),
            finished_at=when('finished_at'),
            duration_seconds=seconds('duration_seconds'),
            downtime_seconds=seconds('downtime_seconds'),
            rollback_seconds=seconds('rollback_seconds'),
            reason=str(record.get('reason', '')),
            snapshot=str(record.get('snapshot', '')),
            without_fresh_backup=record.get('without_fresh_backup') is True,
            log=[str(line) for line in record.get('log', [])],
            steps=[str(step.get('step', '')) for step in record.get('steps', []) if isinstance(step, dict)],
        )


def request_folder(settings: Settings) -> Path:
    folder = settings.data_dir / FOLDER
    folder.mkdir(mode=0o750, exist_ok=True)
    return folder


def helper_installed() -> bool:
    """Whether this box has the root side that carries out requests (not a development checkout)."""
    return PATH_UNIT.exists()


def pending(settings: Settings) -> Finished | None:
    """The request not yet picked up, or the upgrade or rollback running now; None when the helper is idle."""
    folder = request_folder(settings)
    if (folder / REQUEST).exists():
        return Finished.from_record({'state': 'requested'})
    status = _read(folder / 'status.json')
    if status is not None and status.get('state') in RUNNING:
        return Finished.from_record(status)
    return None


def history(settings: Settings) -> list[Finished]:
    """Every finished upgrade, rollback and refused request, newest first."""
    folder = request_folder(settings) / 'history'
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and UPGRADE_ID.fullmatch(entry.name.removesuffix('.json')):
            record = _read(Path(entry.path))
            if record is not None:
                found.append(Finished.from_record(record))
    return sorted(found, key=lambda item: item.id, reverse=True)


def rollback_offer(settings: Settings) -> Finished | None:
    """The upgrade that installed the running release, while it can still be rolled back (the helper checks again
    that the old release and the snapshot are still there)."""
    for item in history(settings):
        if item.action == 'rollback' and item.state == 'rolled_back':
            return None  # rolled back already
        if item.action != 'upgrade' or item.state != 'done':
            continue  # refused, or failed and undone: the running release is still the one the last upgrade made
        if item.to_version != __version__:
            return None
        snapshot = settings.data_dir / 'snapshots' / item.snapshot
        return item if item.snapshot and (snapshot / 'snapshot.json').is_file() else None
    return None


def request_upgrade(
    *,
    settings: Settings,
    actor: Actor,
    name: str,
    without_fresh_backup: bool = False,
    public_key_pem: bytes | None = None,
) -> Finished:
    """Ask the root side to upgrade to the bundle `name`, after the same checks it makes (blocking: it reads the
    whole bundle). Refused with the reason, and nothing written, when the bundle cannot be used, the box is short of
    space, an upgrade is already under way, or the last backup is over a day old and the admin did not say to go
    on without one."""
    require(actor, PERMISSION)
    _refuse_while_busy(settings)
    upgrade = plan(settings=settings, actor=actor, name=name, public_key_pem=public_key_pem)
    if upgrade.problems:
        raise ValidationError(N_('The upgrade cannot start: {problems}'), problems=' '.join(upgrade.problems))
    if not upgrade.backup_fresh and not without_fresh_backup:
        raise ValidationError(
            N_(
                'There is no backup from the last 24 hours. Back up first, or tick "Upgrade without a fresh backup" '
                '(the snapshot taken before the upgrade stays on this disk only).'
            )
        )
    body = {
        'action': 'upgrade',
        'bundle': name,
        'by': _who(actor),
        'without_fresh_backup': not upgrade.backup_fresh,
        'to': upgrade.facts.version,
    }
    _ask(settings, actor, body)
    return Finished.from_record({'state': 'requested', **body})


def request_rollback(*, settings: Settings, actor: Actor, upgrade_id: str) -> Finished:
    """Ask the root side to roll back the upgrade `upgrade_id` (the one that installed the running release)."""
    require(actor, PERMISSION)
    _refuse_while_busy(settings)
    offered = rollback_offer(settings)
    if offered is None or offered.id != upgrade_id:
        raise ValidationError(
            N_('Only the upgrade that installed the running release can be rolled back, while its snapshot is kept.')
        )
    body = {'action': 'rollback', 'upgrade': upgrade_id, 'by': _who(actor)}
    _ask(settings, actor, body, target=offered.from_version)
    return Finished.from_record({'state': 'requested', **body})


def record_finished(settings: Settings) -> int:
    """Put each finished upgrade, rollback and refused request in the audit log once; how many were added."""
    done = [item for item in history(settings) if (item.action, item.state) in FINISHED_ACTIONS]
    if not done:
        return 0
    with get_database().session(write=True) as session:
        recorded = set(
            session.scalars(
                select(AuditEvent.details).where(AuditEvent.action.in_(set(FINISHED_ACTIONS.values())))
            ).all()
        )
        seen = {json.loads(details).get('upgrade_id') for details in recorded}
        added = 0
        for item in sorted(done, key=lambda item: item.id):
            if item.id in seen:
                continue
            audit.record(
                session=session,
                actor=None,
                actor_name=item.by[:64] or 'enclave-upgrade',
                action=FINISHED_ACTIONS[(item.action, item.state)],
                target=item.to_version if item.action == 'upgrade' else item.from_version,
                details={
                    'upgrade_id': item.id,
                    'from': item.from_version,
                    'to': item.to_version,
                    'reason': item.reason,
                    'duration_seconds': item.duration_seconds,
                    'downtime_seconds': item.downtime_seconds,
                    'without_fresh_backup': item.without_fresh_backup,
                },
            )
            added += 1
    return added


def _refuse_while_busy(settings: Settings) -> None:
    if pending(settings) is not None:
        raise Conflict(N_('An upgrade or rollback is already under way. Wait for it to finish.'))


def _who(actor: Actor) -> str:
    return f'{actor.username} (id {actor.id})' if actor.id else actor.username


def _ask(settings: Settings, actor: Actor, body: dict[str, Any], target: str = '') -> None:
    """Write the request for the root side and record it in the audit log."""
    _write_request(settings, body)
    details = {key: value for key, value in body.items() if key not in ('action', 'by')}
    with get_database().session(write=True) as session:
        audit.record(
            session=session,
            actor=actor,
            action='console.upgrade_requested' if body['action'] == 'upgrade' else 'console.rollback_requested',
            target=target or str(body.get('to', '')),
            details={**details, 'from': __version__},
        )


def _write_request(settings: Settings, body: dict[str, Any]) -> None:
    folder = request_folder(settings)
    temporary = folder / f'.request-{secrets.token_hex(6)}'
    with temporary.open('w', encoding='utf-8') as handle:
        json.dump(body, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / REQUEST)
    fsync_dir(folder)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_symlink() or path.stat().st_size > 4 * 2**20:
            return None
        value = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
