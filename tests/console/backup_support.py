"""Shared arrangements for the backup tests: real data of every module, a target on a real restic repository,
a full export of the database and the blob store to compare a restore against, the repository of a target, its
locks, and the enclave command in a subprocess."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, select

from appliance.blobstore import get_blobstore
from appliance.config import get_settings, prepare_data_dir
from appliance.db import get_database
from appliance.models import User
from console.backup.services import targets
from console.models import Target
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from console.backup.services.restic import Repository

# Tables whose rows a restore changes on purpose: sessions end (everyone signs in again), the restore is recorded
# (history and audit: the tests check the old rows are all still there), and the health check run after it raises
# the license clock's high-water mark in console_state.
CHANGED_BY_RESTORE = {'core_sessions', 'core_login_tickets', 'console_runs', 'core_audit', 'console_state'}


def arrange(team: Team, *, tasks: int = 12) -> None:
    """Keys as at start-up, a project with tasks (Chinese titles), and two files in the blob store."""
    prepare_data_dir(get_settings())
    project = make_project(owner=team.bob, members={team.bob.id: 'manager'}, name='备份演练 Backup drill')
    for n in range(tasks):
        make_task(project=project, title=f'任务 {n} task')
    store = get_blobstore()
    with get_database().session() as session:
        for n, data in enumerate((b'minutes of the kick-off meeting', '会议纪要'.encode() * 5000)):
            store.add_ref(session=session, sha256=store.write_bytes(data)[0], owner='tests.file', owner_id=str(n))


def add_target(actor: User, repository: Path | str, *, name: str = 'usb', password: str = '') -> Target:
    """A saved target (creates the restic repository when there is none)."""
    with get_database().session() as session:
        target = targets.add_target(
            session=session,
            actor=actor,
            data_dir=get_settings().data_dir,
            name=name,
            repository=str(repository),
            password=password,
        )
        session.expunge(target)
    return target


def export() -> dict[str, Any]:
    """Every row of every table (as sorted tuples) and every blob file's sha256: the state a restore must bring back."""
    database = get_database()
    metadata = MetaData()
    metadata.reflect(database.engine)
    rows: dict[str, Any] = {}
    with database.engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name in CHANGED_BY_RESTORE or '_fts' in name:
                continue
            rows[name] = sorted(tuple(map(repr, row)) for row in connection.execute(select(table)))
    blobs = {}
    root = get_settings().data_dir / 'blobs'
    for path in sorted(root.rglob('*')):
        if path.is_file():
            blobs[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {'rows': rows, 'blobs': blobs}


def repository_of(name: str = 'usb') -> Repository:
    """The restic repository of the saved target `name`, opened as the console opens it."""
    from appliance.services.actors import Operator
    from console.backup.services.targets import get_target, open_repository

    with get_database().session() as session:
        target = get_target(session=session, actor=Operator(), name=name)
        session.expunge(target)
    return open_repository(get_settings().data_dir, target)


def locks(repository: Repository) -> list[str]:
    """The ids of the locks the repository holds (listed without taking one)."""
    return repository.uncached().run(['list', 'locks', '--no-lock']).split()


def run_cli(*args: str, env: dict[str, str], stdin: str = '') -> subprocess.CompletedProcess[str]:
    """`enclave <args>` in a subprocess with `env`."""
    return subprocess.run(
        [sys.executable, '-m', 'appliance.cli', *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
