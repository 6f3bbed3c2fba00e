"""The log viewer's reading: newest first across rotated files, filters, pages, broken lines; the error-rate check."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User as UIUser

from appliance.errors import ValidationError
from appliance.logs import log_dir
from appliance.modules import current_registry
from console.health.services import checks as health
from console.logs import services as logs_services
from console.logs.services import error_rate, logview
from console.logs.services.logview import LogFilter, read_page
from tests.appliance.support import audit_rows, sign_in_url
from tests.conftest import People

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def line(time: datetime, level: str, message: str, *, logger: str = 'enclave', exc: str = '') -> str:
    entry = {'time': time.isoformat(timespec='milliseconds'), 'level': level, 'logger': logger, 'message': message}
    if exc:
        entry['exc'] = exc
    return json.dumps(entry, ensure_ascii=False)


def write(folder: Path, lines: list[str], name: str = 'enclave.log', *, end: str = '\n') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('\n'.join(lines) + end, encoding='utf-8')
    return path


def minute_records(count: int, *, start: datetime = T0, level: str = 'INFO') -> list[str]:
    return [line(start + timedelta(minutes=n), level, f'event {n}') for n in range(count)]


def messages(page: logview.LogPage) -> list[str]:
    return [record.message for record in page.records]


def test_it_reads_newest_first_a_page_at_a_time(tmp_path: Path) -> None:
    write(tmp_path, minute_records(120))
    first = read_page(tmp_path, limit=50)
    assert messages(first) == [f'event {n}' for n in range(119, 69, -1)]
    assert first.has_more
    second = read_page(tmp_path, offset=50, limit=50)
    assert messages(second)[0] == 'event 69' and second.has_more
    last = read_page(tmp_path, offset=100, limit=50)
    assert messages(last) == [f'event {n}' for n in range(19, -1, -1)]
    assert not last.has_more


def test_it_reads_across_rotated_files_newest_first(tmp_path: Path) -> None:
    records = minute_records(30)
    write(tmp_path, records[0:10], 'enclave.log.2')
    write(tmp_path, records[10:20], 'enclave.log.1')
    write(tmp_path, records[20:30])
    write(tmp_path, [line(T0 + timedelta(days=9), 'INFO', 'not part of the log')], 'enclave.log.bak')
    assert [path.name for path in logview.log_files(tmp_path)] == ['enclave.log', 'enclave.log.1', 'enclave.log.2']
    page = read_page(tmp_path, limit=25)
    assert messages(page) == [f'event {n}' for n in range(29, 4, -1)]
    assert messages(read_page(tmp_path, offset=25, limit=25)) == [f'event {n}' for n in range(4, -1, -1)]


def test_it_reads_an_empty_or_missing_log_as_no_records(tmp_path: Path) -> None:
    assert read_page(tmp_path / 'nowhere') == logview.LogPage(records=[], offset=0, has_more=False)
    write(tmp_path, [], end='')
    assert read_page(tmp_path).records == []


def test_it_filters_by_level_at_least(tmp_path: Path) -> None:
    levels = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'INFO']
    write(tmp_path, [line(T0 + timedelta(seconds=n), level, level.lower()) for n, level in enumerate(levels)])
    page = read_page(tmp_path, LogFilter(level='WARNING'))
    assert messages(page) == ['critical', 'error', 'warning']
    assert messages(read_page(tmp_path, LogFilter(level='CRITICAL'))) == ['critical']
    assert len(read_page(tmp_path, LogFilter()).records) == 6


def test_it_filters_by_time_range(tmp_path: Path) -> None:
    write(tmp_path, minute_records(60))
    wanted = LogFilter(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=15))
    assert messages(read_page(tmp_path, wanted)) == ['event 14', 'event 13', 'event 12', 'event 11', 'event 10']
    china = T0.astimezone(__import__('zoneinfo').ZoneInfo('Asia/Shanghai'))
    assert messages(read_page(tmp_path, LogFilter(since=china + timedelta(minutes=58)))) == ['event 59', 'event 58']


def test_it_filters_by_text_in_message_logger_and_exception_ignoring_case(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            line(T0, 'INFO', 'Backup of 项目 finished', logger='enclave.backup'),
            line(T0 + timedelta(seconds=1), 'ERROR', 'Drill failed', exc='Traceback ...\nIntegrityError: row count'),
            line(T0 + timedelta(seconds=2), 'INFO', 'Signed in', logger='enclave.auth'),
        ],
    )
    assert messages(read_page(tmp_path, LogFilter(text='BACKUP'))) == ['Backup of 项目 finished']
    assert messages(read_page(tmp_path, LogFilter(text='integrityerror'))) == ['Drill failed']
    assert messages(read_page(tmp_path, LogFilter(text='项目'))) == ['Backup of 项目 finished']
    assert messages(read_page(tmp_path, LogFilter(text='enclave.auth'))) == ['Signed in']


def test_it_combines_filters_and_pages_through_the_matches(tmp_path: Path) -> None:
    records = [line(T0 + timedelta(minutes=n), 'ERROR' if n % 3 == 0 else 'INFO', f'event {n}') for n in range(300)]
    write(tmp_path, records)
    wanted = LogFilter(level='ERROR', since=T0 + timedelta(minutes=150))
    first = read_page(tmp_path, wanted, limit=20)
    assert messages(first) == [f'event {n}' for n in range(297, 237, -3)]
    rest = read_page(tmp_path, wanted, offset=20, limit=40)
    assert messages(rest) == [f'event {n}' for n in range(237, 149, -3)]
    assert first.has_more and not rest.has_more


def test_it_shows_a_half_written_last_line_and_a_broken_line_as_raw_text(tmp_path: Path) -> None:
    path = write(
        tmp_path, [line(T0, 'INFO', 'first'), 'Fatal Python error: Segmentation fault', line(T0, 'INFO', 'third')]
    )
    with path.open('ab') as handle:
        handle.write(b'\xff\xfe not utf-8\n')
        handle.write(b'{"time": "2026-03-01T08:00:01.000+00:00", "level": "ERR')  # the writer died here
    records = read_page(tmp_path).records
    assert [(record.raw, record.message) for record in records] == [
        (True, '{"time": "2026-03-01T08:00:01.000+00:00", "level": "ERR'),
        (True, '\ufffd\ufffd not utf-8'),
        (False, 'third'),
        (True, 'Fatal Python error: Segmentation fault'),
        (False, 'first'),
    ]
    # Raw lines have no level or time: only the text filter can hide them.
    assert messages(read_page(tmp_path, LogFilter(level='ERROR'))) == [
        records[0].message,
        records[1].message,
        records[3].message,
    ]
    assert messages(read_page(tmp_path, LogFilter(text='segmentation'))) == ['Fatal Python error: Segmentation fault']


@pytest.mark.parametrize('block', [1, 7, 64, 4096])
def test_it_reads_lines_backwards_whatever_the_block_size(tmp_path: Path, block: int) -> None:
    lines = [f'line {n} {"é" * (n % 13)} 张伟' for n in range(200)]
    path = write(tmp_path, lines)
    assert list(logview.lines_backwards(path, block=block)) == lines[::-1]


def test_it_reads_a_page_of_a_large_log_in_little_memory(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    record = line(T0, 'INFO', 'x' * 180) + '\n'
    with (tmp_path / 'enclave.log').open('w') as handle:
        handle.write(record * 120_000)  # ~25 MB
    tracemalloc.start()
    try:
        page = read_page(tmp_path, limit=50)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(page.records) == 50 and page.has_more
    assert peak < 2 * 2**20


def test_it_refuses_a_bad_filter() -> None:
    with pytest.raises(ValidationError, match='Unknown log level'):
        LogFilter(level='LOUD')
    with pytest.raises(ValidationError, match='must come before'):
        LogFilter(since=T0, until=T0)
    with pytest.raises(ValidationError, match='time zone'):
        LogFilter(since=datetime(2026, 3, 1))
    with pytest.raises(ValidationError):
        read_page(Path('.'), limit=0)


def test_it_counts_recent_errors_and_stops_at_older_records(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = [line(now - timedelta(hours=2, minutes=n), 'ERROR', 'old') for n in range(30, 0, -1)]
    recent = [
        line(now - timedelta(minutes=n), level, 'new') for n, level in enumerate(['ERROR', 'CRITICAL', 'WARNING'])
    ]
    write(tmp_path, old[:20], 'enclave.log.1')
    write(tmp_path, old[20:] + recent[::-1])
    counted = logview.count_since(tmp_path, now - timedelta(hours=1), levels=('ERROR', 'CRITICAL'))
    assert counted == logview.Count(2, complete=True)
    assert logview.count_since(tmp_path, now - timedelta(hours=1), levels=('ERROR',), max_bytes=100).complete is False


def write_errors(data_dir: Path, count: int, *, age: timedelta = timedelta(minutes=5)) -> None:
    now = datetime.now(UTC)
    write(log_dir(data_dir), [line(now - age, 'ERROR', f'failure {n}') for n in range(count)])


@pytest.mark.parametrize(('errors', 'status'), [(0, 'green'), (4, 'green'), (5, 'amber'), (49, 'amber'), (50, 'red')])
def test_it_rates_the_errors_of_the_last_hour(data_dir: Path, errors: int, status: str) -> None:
    write_errors(data_dir, errors)
    found, message = error_rate(data_dir)
    assert found == status
    assert message.startswith(f'{errors} errors in the app log in the last hour')
    assert ('Maintenance → Logs' in message) == (status != 'green')


def test_it_leaves_errors_older_than_an_hour_out_of_the_rate(data_dir: Path) -> None:
    write_errors(data_dir, 80, age=timedelta(minutes=61))
    assert error_rate(data_dir)[0] == 'green'


def test_it_joins_the_health_checks_with_the_error_rate(data_dir: Path) -> None:
    write_errors(data_dir, 7)
    checks = {check.name: check for check in health.run_checks(data_dir=data_dir, registry=current_registry())}
    assert checks['console.log_errors'].status == 'amber'
    assert 'Maintenance → Logs' in checks['console.log_errors'].message


# ---- the page ---------------------------------------------------------------------------------------------------


def table_rows(user: UIUser) -> list[dict[str, object]]:
    tables = user.find(marker='log-table').elements
    assert len(tables) == 1, f'{len(tables)} log tables on the page'
    table = tables.pop()
    assert isinstance(table, ui.table)
    return table.rows


def shown(user: UIUser, prefix: str) -> list[str]:
    """The messages on the page that start with `prefix` (the app logs its own lines into the same file)."""
    return [str(row['message']) for row in table_rows(user) if str(row['message']).startswith(prefix)]


async def should_show(user: UIUser, prefix: str, expected: list[str]) -> None:
    """Wait for the table to show `expected` (a click refreshes it in a task of its own, reading off the loop)."""
    for _attempt in range(300):  # up to 15 s: the machine may be busy
        try:
            if shown(user, prefix) == expected:
                return
        except AssertionError:  # no table while it is being rebuilt
            pass
        await asyncio.sleep(0.05)
    assert shown(user, prefix) == expected


async def test_it_shows_the_log_to_an_admin_newest_first(user: UIUser, people: People, data_dir: Path) -> None:
    now = datetime.now(UTC)
    write(
        log_dir(data_dir),
        [
            line(now - timedelta(minutes=10), 'INFO', 'Story: signed in'),
            line(now - timedelta(minutes=5), 'ERROR', 'Story: drill failed', exc='Traceback ...\nIntegrityError'),
            line(now - timedelta(minutes=1), 'WARNING', 'Story: disk almost full'),
            'Story: a line that is not JSON',
        ],
    )
    await user.open(sign_in_url('alice', next_path='/console/logs'))
    await user.should_see(marker='nav:/console/logs')
    await user.should_see(marker='nav:/console/support')
    # The page reads the log off the event loop: wait for the table rather than assert at once.
    await should_show(
        user,
        'Story',
        [
            'Story: a line that is not JSON',
            'Story: disk almost full',
            'Story: drill failed\nTraceback ...\nIntegrityError',
            'Story: signed in',
        ],
    )
    levels = [row['level'] for row in table_rows(user) if str(row['message']).startswith('Story')]
    assert levels == ['(not a record)', 'WARNING', 'ERROR', 'INFO']

    level = user.find(marker='log-level').elements.pop()
    assert isinstance(level, ui.select)
    level.value = 'WARNING'
    user.find(marker='log-text').type('story')
    user.find(marker='log-filter').click()
    await should_show(
        user,
        'Story',
        [
            'Story: a line that is not JSON',
            'Story: disk almost full',
            'Story: drill failed\nTraceback ...\nIntegrityError',
        ],
    )
    user.find(marker='log-text').clear().type('integrityerror')
    user.find(marker='log-filter').click()
    await should_show(user, 'Story', ['Story: drill failed\nTraceback ...\nIntegrityError'])


async def test_it_filters_by_time_and_explains_a_bad_time(user: UIUser, people: People, data_dir: Path) -> None:
    write(log_dir(data_dir), [line(T0, 'INFO', 'Old: March'), line(T0 + timedelta(days=2), 'INFO', 'Old: later')])
    await user.open(sign_in_url('alice', next_path='/console/logs'))
    user.find(marker='log-since').type('2026-03-01')
    user.find(marker='log-until').type('2026-03-02 00:00')
    user.find(marker='log-filter').click()
    await should_show(user, 'Old:', ['Old: March'])
    user.find(marker='log-since').clear().type('yesterday')
    user.find(marker='log-filter').click()
    await user.should_see('Enter times as YYYY-MM-DD or YYYY-MM-DD HH:MM.')
    user.find(marker='log-since').clear().type('2026-03-05')
    user.find(marker='log-filter').click()
    await user.should_see('The start of the time range must come before its end.')


async def test_it_pages_through_the_log(user: UIUser, people: People, data_dir: Path) -> None:
    write(log_dir(data_dir), [line(T0 + timedelta(seconds=n), 'INFO', f'Page: {n:03d}') for n in range(70)])
    await user.open(sign_in_url('alice', next_path='/console/logs'))
    user.find(marker='log-text').type('Page:')
    user.find(marker='log-filter').click()
    await should_show(user, 'Page:', [f'Page: {n:03d}' for n in range(69, 19, -1)])
    await user.should_see('Records 1–50')
    user.find(marker='log-older').click()
    await should_show(user, 'Page:', [f'Page: {n:03d}' for n in range(19, -1, -1)])
    await user.should_see('Records 51–70')
    user.find(marker='log-newer').click()
    await should_show(user, 'Page:', [f'Page: {n:03d}' for n in range(69, 19, -1)])


@pytest.mark.parametrize('who', ['bob', 'charlie'])
async def test_it_refuses_the_log_pages_to_non_admins(user: UIUser, people: People, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    for path in ('/console/logs', '/console/support'):
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert 'You do not have permission to open this page.' in response.text
    assert [event.target for event in audit_rows('permission.denied')] == ['/console/logs', '/console/support']


async def test_it_keeps_the_filtered_rows_when_the_earlier_read_lands_late(
    user: UIUser, people: People, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's first, unfiltered read is held until the reader has typed a filter; it then completes in the
    # same turn of the event loop in which the Filter click starts the filtered read. Once the click happened,
    # the earlier read must draw nothing, whatever order the loop runs them in.
    write(log_dir(data_dir), [line(T0, 'INFO', 'Old: March'), line(T0 + timedelta(days=2), 'INFO', 'Old: later')])
    started, gate, returned = threading.Event(), threading.Event(), threading.Event()
    real = logview.read_page

    def read_page(folder: Path, wanted: LogFilter | None = None, **kwargs: int) -> logview.LogPage:
        unfiltered = wanted is None or wanted.since is None
        if unfiltered:
            started.set()
            assert gate.wait(30), 'the test never released the first read'
        try:
            return real(folder, wanted, **kwargs)
        finally:
            if unfiltered:
                returned.set()

    monkeypatch.setattr(logs_services, 'read_page', read_page)
    await user.open(sign_in_url('alice', next_path='/console/logs'))
    # The first read starts once the page has re-checked the reader's session (off the event loop).
    deadline = time.monotonic() + 30
    while not started.is_set():
        assert time.monotonic() < deadline, 'the first read never started'
        await asyncio.sleep(0.01)
    user.find(marker='log-since').type('2026-03-01')
    user.find(marker='log-until').type('2026-03-02 00:00')
    gate.set()
    assert returned.wait(30)
    # Block the loop a moment so that the first read's completion is queued before the click's refresh.
    time.sleep(0.3)
    user.find(marker='log-filter').click()
    await should_show(user, 'Old:', ['Old: March'])
    await asyncio.sleep(0.3)  # anything still to draw has drawn by now
    assert len(user.find(marker='log-table').elements) == 1
    assert shown(user, 'Old:') == ['Old: March']
    assert user.find(marker='log-table').elements.pop().props['hide-pagination'] is True  # one pager: ours
