"""Times a person reads in the console are in their own time zone (their profile's), the same on every page:
the Backups page's "last proven restore" and its history, the restore dialog, the dashboard's checks, its
history table and its charts. Alice lives in Asia/Shanghai (UTC+8, no summer time), the server keeps UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from nicegui.testing import User as UIUser
from sqlalchemy import insert, select, update

from appliance import i18n
from appliance.config import get_settings
from appliance.db import get_database, utcnow
from appliance.i18n import format_datetime
from appliance.models import User
from appliance.modules import current_registry
from console.backup.services import runs, targets
from console.backup.services.backup import TAG
from console.health.pages.health import wall_clock_ms
from console.models import HealthSample, Run
from tests.appliance.support import sign_in_url
from tests.console.backup_page_support import DEADLINE, history_rows, label_texts, wait_for
from tests.console.backup_support import add_target, arrange
from tests.modules.conftest import Team

SHANGHAI = ZoneInfo('Asia/Shanghai')


def in_shanghai(moment: datetime) -> str:
    """What alice must read for `moment`: checked to carry Shanghai's wall clock, not the server's UTC."""
    text = format_datetime(moment, timezone='Asia/Shanghai', lang='en')
    local = moment.astimezone(SHANGHAI)
    assert f'{local:%-I:%M:%S}' in text and f'{local.day},' in text, text
    return text


def live_in_shanghai(name: str) -> None:
    with get_database().session() as session:
        session.execute(update(User).where(User.username == name).values(timezone='Asia/Shanghai'))


def runs_of(kind: str) -> list[Run]:
    with get_database().session() as session:
        found = list(session.scalars(select(Run).where(Run.kind == kind, Run.status == 'ok').order_by(Run.id)))
        session.expunge_all()
        return found


def sample_at(moment: datetime) -> None:
    row: dict[str, Any] = {
        'taken_at': moment,
        'span': 60,
        'cpu_percent': 12.0,
        'memory_percent': 40.0,
        'disk_free_bytes': 50 * 2**30,
        'disk_total_bytes': 100 * 2**30,
        'app_rss_bytes': 150 * 2**20,
        'active_sessions': 1,
    }
    with get_database().session() as session:
        session.execute(insert(HealthSample), [row])


async def test_it_shows_a_reader_in_shanghai_the_same_local_times_on_every_console_page(
    user: UIUser, team: Team, tmp_path: Path
) -> None:
    arrange(team, tasks=1)
    add_target(team.alice, tmp_path / 'usb')
    assert runs.back_up(actor=team.alice, registry=current_registry(), target='usb').status == 'ok'
    assert runs.drill(actor=team.alice, target='usb').status == 'ok'
    live_in_shanghai('alice')
    drill = runs_of('drill')[-1]
    assert drill.finished_at is not None
    proven = in_shanghai(drill.finished_at)

    # Backups: the last proven restore and the history, then the restore dialog's snapshot.
    await user.open(sign_in_url('alice', next_path='/console/backups'))
    texts = await wait_for(
        lambda: [t for t in label_texts(user, 'last-proven') if t.startswith('Last proven restore: ')],
        lambda: f'the page does not say "Last proven restore": {label_texts(user, "last-proven")}',
        timeout=10,
    )
    assert texts == [f'Last proven restore: {proven}.']
    await user.should_see(marker='history-table')
    shown = {row['kind']: row['when'] for row in history_rows(user)}
    assert shown['Restore drill'] == in_shanghai(drill.started_at)
    assert shown['Backup'] == in_shanghai(runs_of('backup')[-1].started_at)

    with get_database().session() as session:
        target = targets.get_target(session=session, actor=team.alice, name='usb')
        session.expunge(target)
    (snapshot,) = targets.open_repository(get_settings().data_dir, target).snapshots(tag=TAG)
    user.find(marker='restore-usb').click()
    await user.should_see(marker='restore-snapshot', retries=int(DEADLINE * 10))
    choice = user.find(marker='restore-snapshot').elements.pop()
    assert isinstance(choice, ui.select)
    made = datetime.fromisoformat(snapshot.time)
    assert choice.options == {snapshot.short_id: f'{in_shanghai(made)} · {snapshot.short_id}'}
    assert 'UTC' not in str(choice.options)

    # The dashboard: the drill check says the same time; the history table and the charts read alike.
    taken = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    taken -= timedelta(minutes=taken.minute % 5)  # the start of a 5-minute point of the 24-hour history
    sample_at(taken)
    await user.open('/console')
    await user.should_see(marker='check:console.restore_drill')
    check = label_texts(user, 'check:console.restore_drill')
    assert f'Last proven restore: {proven}.' in check
    table = user.find(marker='history-table').elements.pop()
    assert isinstance(table, ui.table)
    assert [row['time'] for row in table.rows] == [in_shanghai(taken)]
    cpu = user.find(marker='chart:cpu').elements.pop()
    assert isinstance(cpu, ui.echart)
    # The chart formats its axis and tooltip in UTC, and is given Shanghai's wall clock (8 hours ahead of UTC).
    assert cpu.options['useUTC'] is True
    assert cpu.options['series'][0]['data'] == [[int((taken + timedelta(hours=8)).timestamp() * 1000), 12.0]]


def test_it_gives_the_chart_the_wall_clock_across_a_change_of_summer_time() -> None:
    # Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026: the wall clock jumps from 02:00 to 03:00.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    after = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    as_utc = [datetime.fromtimestamp(wall_clock_ms(moment, 'Europe/Berlin') / 1000, UTC) for moment in (before, after)]
    assert [f'{moment:%H:%M}' for moment in as_utc] == ['01:30', '03:30']
    assert wall_clock_ms(before, 'No/Such_Zone') == int(before.timestamp() * 1000)  # an unknown zone reads as UTC


def test_it_formats_in_the_readers_zone_unless_told_otherwise() -> None:
    when = datetime(2026, 11, 29, 9, 49, 5, tzinfo=UTC)
    assert '9:49:05' in format_datetime(when, lang='en')  # nobody reading (scheduler, command line): UTC
    token = i18n.current_timezone.set('Asia/Shanghai')
    try:
        assert '5:49:05' in format_datetime(when, lang='en')
        assert '9:49:05' in format_datetime(when, timezone='UTC', lang='en')
    finally:
        i18n.current_timezone.reset(token)
    token = i18n.current_timezone.set('Mars/Olympus_Mons')  # a profile zone this machine does not know
    try:
        assert '9:49:05' in format_datetime(when, lang='en')
    finally:
        i18n.current_timezone.reset(token)
