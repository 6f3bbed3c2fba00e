"""A full data disk, on a real 8 MiB filesystem: deletes still work (the reserve), uploads answer 507, the disk check
turns red and alerts once, /healthz says 503, and logging to the full disk never raises.

Needs root to mount a tmpfs; elsewhere the tests skip and say why.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from appliance import diskspace, logs
from appliance.api.health import healthz
from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.core_module import CORE
from appliance.db import get_database
from appliance.errors import DiskFull
from appliance.models import Notification
from appliance.modules import Registry
from console.health.services import alerts
from console.health.services.checks import AMBER, GREEN, RED, disk_space
from tests.appliance.small_disk import RESERVE, fill, small_disk_fixture  # noqa: F401 - fixture
from tests.conftest import make_user

OWNER = 'tasks.attachment'


def attachment(content: bytes, owner_id: str = '1') -> str:
    store = get_blobstore()
    digest, _ = store.write_bytes(content)
    with get_database().session() as session:
        store.add_ref(session=session, sha256=digest, owner=OWNER, owner_id=owner_id)
    return digest


def delete_attachment(digest: str, owner_id: str = '1') -> None:
    with get_database().session() as session:
        assert get_blobstore().remove_ref(session=session, sha256=digest, owner=OWNER, owner_id=owner_id)


def test_it_makes_a_reserve_of_real_blocks(small_disk: Path) -> None:
    assert diskspace.create_reserve(small_disk)
    reserve = small_disk / 'reserve'
    assert reserve.stat().st_size == RESERVE
    assert reserve.stat().st_blocks * 512 == RESERVE  # allocated, not sparse: deleting it frees space
    assert diskspace.maintain(small_disk) == 'held'


def test_it_keeps_deletes_working_when_the_disk_fills(small_disk: Path) -> None:
    assert diskspace.create_reserve(small_disk)
    store = get_blobstore()
    digest = attachment(os.urandom(300_000))
    filler = fill(small_disk)

    # Uploads stop with a sentence (507 at the edge), and leave nothing behind.
    with pytest.raises(DiskFull) as refused:
        store.write_bytes(b'one more file')
    assert refused.value.status == 507
    assert str(refused.value).startswith('The data disk is full, so this was not saved.')
    assert list(store.tmp_dir.iterdir()) == []

    # The database cannot commit on a full disk; that failure releases the reserve, and the delete then works.
    with pytest.raises(OperationalError, match='database or disk is full'):
        delete_attachment(digest)
    assert not (small_disk / 'reserve').exists()
    delete_attachment(digest)

    # Collection frees the file (its grace has passed), the disk recovers, the reserve comes back.
    report = store.collect(get_database(), grace_seconds=0)
    assert (report.blobs_removed, report.blob_bytes_freed) == (1, 300_000)
    assert not store.exists(digest)
    filler.unlink()
    assert diskspace.maintain(small_disk) == 'held'
    assert (small_disk / 'reserve').stat().st_blocks * 512 == RESERVE
    assert attachment(b'uploads work again', owner_id='2')


def test_the_minute_job_releases_the_reserve_before_a_write_fails(small_disk: Path) -> None:
    assert diskspace.create_reserve(small_disk)
    digest = attachment(b'a file to delete')
    fill(small_disk)
    assert diskspace.maintain(small_disk) == 'released'
    assert os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize >= RESERVE
    delete_attachment(digest)  # at the first try
    assert diskspace.maintain(small_disk) == 'short'  # no room to make it again yet


def test_the_disk_check_turns_red_and_alerts_once(small_disk: Path) -> None:
    registry = Registry()
    registry.register(CORE)
    admin = make_user(username='alice', roles=['admin'])
    assert diskspace.create_reserve(small_disk)
    assert disk_space(small_disk).status == GREEN
    alerts.evaluate(data_dir=small_disk, registry=registry)

    fill(small_disk)
    check = disk_space(small_disk)
    assert check.status == RED
    assert check.message.startswith('Only 0.0 GiB (0%) free on the data volume: free space now')
    diskspace.run_reserve_job()  # every minute: the space the alert needs to be recorded
    changes = [alerts.evaluate(data_dir=small_disk, registry=registry)[1] for _ in range(3)]
    assert [[(change.name, change.after) for change in batch] for batch in changes] == [[('disk', RED)], [], []]
    with get_database().session() as session:
        sent = session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == admin.id))
    assert sent == 1


def fill_to(mount: Path, share: float) -> None:
    """Grow a filler until about `share` of the volume is free."""
    stats = os.statvfs(mount)
    target = int(stats.f_blocks * stats.f_frsize * share)
    grow = stats.f_bavail * stats.f_frsize - target
    with open(mount / 'filler', 'ab') as filler:
        filler.write(b'\0' * grow)


@pytest.mark.parametrize(('free', 'status', 'health'), [(0.12, GREEN, 'ok'), (0.08, AMBER, 'low'), (0.04, RED, 'full')])
def test_the_disk_check_is_amber_at_90_and_red_at_95_percent_used(
    small_disk: Path, free: float, status: str, health: str
) -> None:
    fill_to(small_disk, free)
    assert disk_space(small_disk).status == status
    response = healthz()
    assert json.loads(bytes(response.body))['checks']['disk'] == health
    assert response.status_code == (503 if status == RED else 200)


def test_healthz_answers_503_while_the_data_disk_is_full(small_disk: Path) -> None:
    assert healthz().status_code == 200
    filler = fill(small_disk)
    response = healthz()
    body = json.loads(bytes(response.body))
    assert response.status_code == 503
    assert (body['status'], body['checks']['disk'], body['checks']['database']) == ('error', 'full', 'ok')
    filler.unlink()
    assert healthz().status_code == 200


@pytest.fixture
def app_log(small_disk: Path) -> Iterator[Path]:
    """The app's log set up on the small disk; the handlers are closed before the disk is unmounted."""
    names = (*logs.APP_LOGGERS, logs.UVICORN_LOGGER)
    saved = {name: list(logging.getLogger(name).handlers) for name in names}
    level = logging.getLogger('enclave').level
    logs.configure(get_settings())
    yield logs.log_file(small_disk)
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in saved[name]:
                logger.removeHandler(handler)
                handler.close()
    logging.getLogger('enclave').setLevel(level)


def test_logging_to_a_full_disk_never_raises_and_says_so_once(
    small_disk: Path, app_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger('enclave.test')
    log.warning('before the disk filled')
    filler = fill(small_disk)
    for number in range(50):
        log.warning('while the disk is full %d', number)
    err = capsys.readouterr().err
    assert 'Logging error' not in err and 'Traceback' not in err
    assert err.count('cannot write the log file') == 1
    assert 'No space left on device' in err

    filler.unlink()
    log.warning('after space came back')
    # Every line whole (a write the disk cut short is taken back), and every record either written or counted.
    messages = [json.loads(line)['message'] for line in app_log.read_text(encoding='utf-8').splitlines()]
    assert (messages[0], messages[-1]) == ('before the disk filled', 'after space came back')
    written = [m for m in messages if m.startswith('while the disk is full')]
    dropped = [int(m.split()[0]) for m in messages if m.endswith('dropped while the log file could not be written')]
    assert dropped and len(written) + sum(dropped) == 50
