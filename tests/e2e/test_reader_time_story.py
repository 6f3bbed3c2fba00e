"""A reader in Shanghai whose browser keeps New York time reads the dashboard's chart in Shanghai time.

ECharts formats a time axis in the browser's zone unless told otherwise; the table beside it is in the reader's
profile zone. The chart's tooltip, drawn by ECharts in the browser, must show the table's time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update

from tests.e2e.conftest import Page
from tests.e2e.test_console_story import sign_in
from tests.livesrv import LiveServer, complete_setup, server_database

ADMIN = 'alice'
PASSWORD = 'Correct-Horse-Battery-42'
SHANGHAI = ZoneInfo('Asia/Shanghai')

story: dict[str, datetime] = {}


def test_alice_lives_in_shanghai_and_the_box_has_a_sample(live_server: LiveServer) -> None:
    complete_setup(live_server.data_dir, org_name='Acme', username=ADMIN, display_name='Alice', password=PASSWORD)
    from appliance.db import get_database, utcnow
    from appliance.models import User
    from console.models import HealthSample

    taken = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    taken -= timedelta(minutes=taken.minute % 5)  # the start of a 5-minute point of the 24-hour history
    with server_database(live_server.data_dir), get_database().session() as session:
        session.execute(update(User).where(User.username == ADMIN).values(timezone='Asia/Shanghai'))
        row = {
            'taken_at': taken,
            'span': 60,
            'cpu_percent': 12.0,
            'memory_percent': 40.0,
            'disk_free_bytes': 50 * 2**30,
            'disk_total_bytes': 100 * 2**30,
            'app_rss_bytes': 150 * 2**20,
            'active_sessions': 1,
        }
        session.execute(insert(HealthSample), [row])
    story['taken'] = taken


def test_the_charts_tooltip_shows_the_time_of_the_table_not_of_the_browser(page: Page) -> None:
    page.driver.execute_cdp_cmd('Emulation.setTimezoneOverride', {'timezoneId': 'America/New_York'})
    assert page.driver.execute_script('return Intl.DateTimeFormat().resolvedOptions().timeZone') == 'America/New_York'
    sign_in(page, ADMIN)
    page.open('/console')
    page.wait(lambda _d: page.visible('.q-page .q-table tbody tr'), 'no history table on the dashboard')
    local = story['taken'].astimezone(SHANGHAI)
    cell = page.driver.execute_script('return document.querySelector(".q-page .q-table tbody tr td").textContent')
    assert f'{local:%-I:%M:%S}' in cell, cell
    # Ask ECharts itself (in the browser) to show the tooltip of the first chart's only point, and read it.
    script = """
        const box = document.querySelector('.q-page [_echarts_instance_]');
        const chart = box && getElement(box).chart;
        if (!chart) return null;
        chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});
        const tip = box.querySelector('div[style*="z-index"]');
        return tip ? tip.textContent : '';
    """

    def tooltip(_d: object) -> str | None:
        text = page.driver.execute_script(script)
        return text if isinstance(text, str) and ':' in text else None

    text = page.wait(tooltip, 'the chart shows no tooltip')
    assert isinstance(text, str)
    assert f'{local:%Y-%m-%d %H:%M}' in text, f'tooltip {text!r}, Shanghai time {local:%Y-%m-%d %H:%M}'
