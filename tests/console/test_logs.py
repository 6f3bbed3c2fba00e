"""The app's structured log: JSON lines, rotation, 0640 files, one set of handlers however often it is set up."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance import logs
from appliance.config import Settings, get_settings
from console.logs.services import logview

LOGGERS = (*logs.APP_LOGGERS, logs.UVICORN_LOGGER)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the loggers back as they were: later tests must not write into this test's data dir."""
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level) for name in LOGGERS}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)


def own_handlers(name: str) -> list[logging.Handler]:
    return [handler for handler in logging.getLogger(name).handlers if getattr(handler, 'enclave_log', False)]


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines()]


def test_it_writes_json_lines_with_time_level_logger_and_message(data_dir: Path) -> None:
    logs.configure(get_settings())
    before = datetime.now(UTC)
    logging.getLogger('enclave.backup').warning('Backup of %s took %d s', '张伟的项目', 12)
    [entry] = lines(logs.log_file(data_dir))
    assert set(entry) == {'time', 'level', 'logger', 'message'}
    assert (entry['level'], entry['logger'], entry['message']) == (
        'WARNING',
        'enclave.backup',
        'Backup of 张伟的项目 took 12 s',
    )
    written = datetime.fromisoformat(entry['time'])
    assert written.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= written <= datetime.now(UTC)


def test_it_writes_the_exception_text_of_a_failure(data_dir: Path) -> None:
    logs.configure(get_settings())
    try:
        {}['missing']
    except KeyError:
        logging.getLogger('enclave').exception('The sampler failed')
    [entry] = lines(logs.log_file(data_dir))
    assert entry['level'] == 'ERROR'
    assert entry['exc'].startswith('Traceback (most recent call last):')
    assert "KeyError: 'missing'" in entry['exc']


def test_it_keeps_the_folder_0750_and_every_file_0640_across_rotation(data_dir: Path) -> None:
    old_umask = os.umask(0o077)  # a strict umask must not make the files unreadable to the backup group
    try:
        handler = logs.configure(get_settings())
        handler.maxBytes = 2000
        log = logging.getLogger('enclave.rotation')
        for number in range(200):
            log.info('record %03d %s', number, 'x' * 40)
    finally:
        os.umask(old_umask)
    folder = logs.log_dir(data_dir)
    names = sorted(path.name for path in folder.iterdir())
    assert names == ['enclave.log', *(f'enclave.log.{n}' for n in range(1, logs.BACKUP_COUNT + 1))]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert {stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()} == {0o640}
    assert all(path.stat().st_size <= 2000 for path in folder.iterdir())
    # The viewer reads them as one log, newest first, with nothing lost inside the kept window.
    messages = [record.message for record in logview.records_backwards(folder)]
    assert messages[0] == f'record 199 {"x" * 40}'
    numbers = [int(message.split()[1]) for message in messages]
    assert numbers == list(range(199, 199 - len(numbers), -1))


def test_it_adds_its_handlers_once_however_often_it_is_set_up(data_dir: Path) -> None:
    for _ in range(3):
        logs.configure(get_settings())
    assert [len(own_handlers(name)) for name in LOGGERS] == [2, 2, 1]
    logging.getLogger('enclave.once').warning('only once')
    assert [entry['message'] for entry in lines(logs.log_file(data_dir))] == ['only once']


def test_it_follows_a_new_data_dir_when_set_up_again(data_dir: Path, tmp_path: Path) -> None:
    logs.configure(get_settings())
    other = tmp_path / 'other'
    logs.configure(Settings(data_dir=other))
    logging.getLogger('enclave').warning('to the new place')
    assert [entry['message'] for entry in lines(logs.log_file(other))] == ['to the new place']
    assert not logs.log_file(data_dir).read_text()


def test_it_writes_the_app_loggers_and_uvicorns_errors_to_the_file(data_dir: Path) -> None:
    logs.configure(get_settings())
    logging.getLogger('nicegui').warning('handler failed')
    logging.getLogger('uvicorn.error').warning('Invalid HTTP request received.')
    entries = lines(logs.log_file(data_dir))
    assert [(entry['logger'], entry['message']) for entry in entries] == [
        ('nicegui', 'handler failed'),
        ('uvicorn.error', 'Invalid HTTP request received.'),
    ]


def test_it_puts_the_file_back_on_uvicorns_logger_after_uvicorn_configured_it(data_dir: Path) -> None:
    from uvicorn.config import LOGGING_CONFIG

    handler = logs.configure(get_settings())
    logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn does when its server is created, after build()
    assert own_handlers('uvicorn.error') == []
    logs.attach_uvicorn(handler)  # what the start-up hook does
    logging.getLogger('uvicorn.error').error('Exception in ASGI application')
    assert [entry['logger'] for entry in lines(logs.log_file(data_dir))] == ['uvicorn.error']


def test_it_logs_at_the_configured_level(data_dir: Path) -> None:
    logs.configure(Settings(data_dir=data_dir, log_level='warning'))
    log = logging.getLogger('enclave.level')
    log.info('not written')
    log.warning('written')
    assert [entry['message'] for entry in lines(logs.log_file(data_dir))] == ['written']


def test_it_keeps_logging_to_stderr_for_the_journal(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(get_settings())
    logging.getLogger('enclave.journal').warning('Disk almost full, token=abc123')
    err = capsys.readouterr().err
    assert 'WARNING enclave.journal: Disk almost full, token=***' in err
    assert 'abc123' not in err


SECRETS = [
    ('Connecting with password=hunter2 now', 'hunter2', 'password=***'),
    ('env RESTIC_PASSWORD=Kx9-secret-pw', 'Kx9-secret-pw', 'RESTIC_PASSWORD=***'),
    ('{"password": "two words", "user": "bob"}', 'two words', '"password": ***'),
    ('headers: Authorization: Bearer abcdef1234567890', 'abcdef1234567890', 'Authorization: ***'),
    ("{'authorization': 'Basic dXNlcjpwYXNz', 'host': 'x'}", 'dXNlcjpwYXNz', "'authorization': '***'"),
    ('Cookie: enclave_session=s3ss10n; theme=dark', 's3ss10n', 'Cookie: ***'),
    ('GET /auth/session?ticket=T1ck3tValue&next=/ 303', 'T1ck3tValue', 'ticket=***&next=/'),
    ('repository s3:https://AKIA:wJalrXUtnFEMI@minio.local/bucket', 'wJalrXUtnFEMI', 'https://AKIA:***@minio.local'),
    ('token enc_AbCdEfGhIjKlMnOpQrStUv012345 was used', 'enc_AbCdEfGhIjKlMnOpQrStUv012345', 'enc_***'),
    ('X-Api-Key: k-123456 and aws_secret_access_key=wJalr', 'k-123456', 'X-Api-Key: ***'),
]


@pytest.mark.parametrize(('message', 'secret', 'shown'), SECRETS)
def test_it_masks_secrets_in_messages(data_dir: Path, message: str, secret: str, shown: str) -> None:
    logs.configure(get_settings())
    logging.getLogger('enclave.secrets').info(message)
    text = logs.log_file(data_dir).read_text()
    assert secret not in text
    assert shown in json.loads(text)['message']


def test_it_masks_secrets_in_exception_text(data_dir: Path) -> None:
    logs.configure(get_settings())
    try:
        raise RuntimeError('restic failed: RESTIC_PASSWORD=Very-Secret-1 was refused')
    except RuntimeError:
        logging.getLogger('enclave').exception('Backup failed')
    text = logs.log_file(data_dir).read_text()
    assert 'Very-Secret-1' not in text
    assert 'RESTIC_PASSWORD=***' in json.loads(text)['exc']


def test_it_leaves_ordinary_messages_alone() -> None:
    message = 'Backup of 1,204 files (3 tokens revoked) to /srv/backup finished in 12 s for bob'
    assert logs.mask_secrets(message) == message
