"""What an upgrade from a checked bundle would do on this box, before anything changes.

Bundles wait in `<data>/upgrades/` (copied there by scp or USB). `plan` checks one (console/upgrade/services/
bundle.py) and adds what the console shows before "Upgrade": the changelog between the two versions, whether
database migrations will run (the bundle's schema heads against this database's revision), the estimated
downtime, the free space on the data volume (a snapshot) and where releases are installed, and the newest
successful backup to a target (an upgrade wants one younger than a day).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from appliance import __version__
from appliance.config import Settings
from appliance.db import get_database, utcnow
from appliance.diskspace import space
from appliance.errors import N_, NotFound
from appliance.fsutil import format_size
from appliance.i18n import gettext
from appliance.migrate import schema_state
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.backup import services as backups
from console.upgrade.services.bundle import BundleFacts, changes_between, check_bundle, release_key

UPGRADES = 'upgrades'
PERMISSION = 'console.manage'
FRESH_BACKUP = timedelta(hours=24)
# Measured on the bench box: stopping, switching and starting take about 20 s; migrations add to it.
DOWNTIME_SECONDS = 20
MIGRATION_SECONDS = 40


@dataclass
class UpgradePlan:
    """A checked bundle and what upgrading to it would take here."""

    bundle: Path
    facts: BundleFacts
    running: str
    changes: str
    migrations: bool
    downtime_seconds: int
    last_backup: datetime | None
    problems: list[str] = field(default_factory=list)

    @property
    def backup_fresh(self) -> bool:
        """A backup to a target succeeded in the last 24 hours."""
        return self.last_backup is not None and utcnow() - self.last_backup < FRESH_BACKUP


def upgrades_dir(settings: Settings) -> Path:
    """`<data>/upgrades`, where bundles wait (made on first use)."""
    folder = settings.data_dir / UPGRADES
    folder.mkdir(mode=0o750, exist_ok=True)
    return folder


def waiting_bundles(*, settings: Settings, actor: Actor) -> list[tuple[str, int]]:
    """The bundles in the upgrades folder: (file name, size), newest first."""
    require(actor, PERMISSION)
    found = [
        (entry.name, entry.stat().st_size, entry.stat().st_mtime)
        for entry in os.scandir(upgrades_dir(settings))
        if entry.is_file(follow_symlinks=False) and entry.name.endswith('.tar')
    ]
    return [(name, size) for name, size, _mtime in sorted(found, key=lambda item: item[2], reverse=True)]


def plan(*, settings: Settings, actor: Actor, name: str, public_key_pem: bytes | None = None) -> UpgradePlan:
    """Check the bundle `name` of the upgrades folder and say what upgrading to it would take; BundleRefused with
    the reason when it cannot be used. Blocking (reads and hashes the whole bundle): call it off the event loop."""
    require(actor, PERMISSION)
    folder = upgrades_dir(settings)
    if not name or '/' in name or name.startswith('.') or not (folder / name).is_file():
        raise NotFound(N_('There is no bundle "{name}" in the upgrades folder.'), name=name[:120])
    bundle = folder / name
    facts = check_bundle(bundle, running=__version__, public_key=release_key(public_key_pem))
    database = get_database()
    current = schema_state(database.engine).current or ''
    migrations = set(facts.schema_heads) != {current}
    with database.session(write=False) as session:
        last = backups.last_run(session, target_id=None, kind='backup', status='ok')
    problems = _space_problems(settings, facts)
    return UpgradePlan(
        bundle=bundle,
        facts=facts,
        running=__version__,
        changes=changes_between(facts.changelog, __version__, facts.version),
        migrations=migrations,
        downtime_seconds=DOWNTIME_SECONDS + (MIGRATION_SECONDS if migrations else 0),
        last_backup=last.finished_at if last is not None else None,
        problems=problems,
    )


def _space_problems(settings: Settings, facts: BundleFacts) -> list[str]:
    """What is short: room for the new release where releases go, and for a snapshot on the data volume."""
    problems = []
    releases = _releases_volume(settings)
    free = space(releases).free
    if free < facts.install_bytes:
        problems.append(
            gettext(
                N_('The new release needs about {need} in {where} and {free} is free.'),
                need=format_size(facts.install_bytes),
                where=str(releases),
                free=format_size(free),
            )
        )
    need = backups.needed_bytes(settings)
    room = space(settings.data_dir)
    if room.free - need < 2 * room.reserve:
        problems.append(
            gettext(
                N_('The snapshot taken before the upgrade needs {need} on the data volume and {free} is free.'),
                need=format_size(need),
                free=format_size(room.free),
            )
        )
    return problems


def _releases_volume(settings: Settings) -> Path:
    """/opt/enclave on an installed box; the data folder in a checkout."""
    parent = backups.RELEASES.parent
    return parent if parent.is_dir() else settings.data_dir
