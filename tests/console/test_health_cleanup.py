"""The Maintenance page says what the hourly file cleanup would free, and whether the disk reserve is held."""

from __future__ import annotations

import os
import time

from nicegui.testing import User as UIUser

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team

HOUR = 3600


def _age(path: os.PathLike[str], seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_the_dashboard_shows_what_the_cleanup_would_free(user: UIUser, team: Team) -> None:
    store = get_blobstore()
    unused, _ = store.write_bytes(b'u' * 1024)  # an attachment deleted a while ago: no reference left
    _age(store.path(unused), 2 * HOUR)
    store.write_bytes(b'just uploaded, reference being committed')  # inside its grace period: not counted
    part = store.tmp_dir / 'blob-interrupted.part'
    part.write_bytes(b'p' * 2048)
    _age(part, 30 * HOUR)

    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see(marker='cleanup')
    await user.should_see(
        'The next cleanup frees 3.0 KiB: 1 unused files (1.0 KiB) and 1 interrupted uploads (2.0 KiB). '
        'It runs every hour; "enclave blobs gc" runs it now.'
    )
    await user.should_see('64.0 MiB are held in reserve so that deletes keep working if the disk fills.')
    assert store.exists(unused) and part.exists()  # looking removes nothing


async def test_the_dashboard_says_when_the_reserve_was_released(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see('Nothing to clean up now.')
    (get_settings().data_dir / 'reserve').unlink()
    await user.open('/console')
    await user.should_see(
        'The disk reserve is released: the disk was nearly full. It is made again when there is room.'
    )
