"""An 8 MiB tmpfs as the data dir (needs root: the tests skip elsewhere, saying why), and a way to fill it."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import diskspace
from appliance.config import get_settings
from appliance.db import get_database, init_database
from tests.conftest import POSTGRES_URL

SIZE = 8 * 2**20
RESERVE = SIZE // 32


@pytest.fixture(name='small_disk')
def small_disk_fixture(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An 8 MiB tmpfs as the data dir, holding a copy of the migrated test database."""
    if POSTGRES_URL:
        pytest.skip('the database must live on the small disk: SQLite only')
    mount = tmp_path / 'small'
    mount.mkdir()
    command = ['mount', '-t', 'tmpfs', '-o', f'size={SIZE},mode=0700', 'tmpfs', str(mount)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        pytest.skip('no mount command here')
    if result.returncode != 0:
        pytest.skip(f'cannot mount a small tmpfs here (needs root): {result.stderr.strip()}')
    try:
        get_database().dispose()  # the last connection closed: the WAL is merged into the file copied next
        shutil.copy(data_dir / 'enclave.db', mount / 'enclave.db')
        monkeypatch.setenv('ENCLAVE_DATA_DIR', str(mount))
        get_settings.cache_clear()
        database = init_database(get_settings().sqlalchemy_url)
        diskspace.watch_database(database.engine, mount)  # as the app does at start
        yield mount
    finally:
        get_database().dispose()
        subprocess.run(['umount', '--lazy', str(mount)], capture_output=True, timeout=30, check=False)


def fill(mount: Path) -> Path:
    """Write a file until the disk refuses another byte (another program filling the disk)."""
    filler = mount / 'filler'
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (2**16, 2**12, 2**9):
            try:
                while True:
                    os.write(fd, b'\0' * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert os.statvfs(mount).f_bavail == 0
    return filler
