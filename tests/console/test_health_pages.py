"""The console dashboard and the admins' red banner, as alice, bob and charlie meet them in the browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User as UIUser
from sqlalchemy import insert

from appliance.db import get_database, utcnow
from console.health.pages.health import CHARTS
from console.health.services import sampler
from console.models import CheckState, HealthSample
from tests.appliance.support import sign_in_url
from tests.modules.conftest import Team


def _states(**statuses: str) -> None:
    with get_database().session() as session:
        for name, status in statuses.items():
            session.add(CheckState(name=name, status=status, message=f'{name} says {status}'))


def _month_of_samples() -> None:
    """31 days of raw samples (one a minute), then downsampled as the job does."""
    now = utcnow().replace(second=0, microsecond=0)
    rows = [
        {
            'taken_at': now - timedelta(minutes=k),
            'span': 60,
            'cpu_percent': 20.0 + k % 7,
            'memory_percent': 40.0,
            'disk_free_bytes': 50 * 2**30,
            'disk_total_bytes': 100 * 2**30,
            'app_rss_bytes': 150 * 2**20,
            'active_sessions': 3,
        }
        for k in range(31 * 24 * 60)
    ]
    with get_database().session() as session:
        session.execute(insert(HealthSample), rows)
    sampler.downsample(get_database(), now=now)


async def test_it_shows_admins_a_red_banner_while_checks_are_red(user: UIUser, team: Team) -> None:
    _states(disk='red', database='green', **{'console.backup_age': 'red'})
    await user.open(sign_in_url('alice'))
    await user.should_see(marker='banner-red')
    await user.should_see('2 health checks are red')
    link = user.find(marker='banner-red').elements.pop().default_slot.children[1]
    assert isinstance(link, ui.link) and link.props['href'] == '/console'


async def test_it_shows_no_banner_to_members(user: UIUser, team: Team) -> None:
    _states(disk='red')
    await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    await user.should_not_see(marker='banner-red')
    await user.should_not_see('health check')


async def test_it_shows_no_banner_when_nothing_is_red(user: UIUser, team: Team) -> None:
    _states(disk='amber', database='green')
    await user.open(sign_in_url('alice'))
    await user.should_see(marker='welcome')
    await user.should_not_see(marker='banner-red')


async def test_the_dashboard_shows_the_checks_links_and_a_month_of_charts(user: UIUser, team: Team) -> None:
    _month_of_samples()
    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see('Health checks')
    await user.should_see(marker='status:database:green')
    await user.should_see(marker='status:console.scheduler:amber')  # the tests run without the scheduler
    await user.should_see('The scheduler is turned off')
    for path in ('/console/backups', '/console/license', '/console/logs'):
        await user.should_see(marker=f'link:{path}')
    for chart in CHARTS:
        await user.should_see(marker=f'chart:{chart.key}')
    cpu = user.find(marker='chart:cpu').elements.pop()
    assert isinstance(cpu, ui.echart)
    day = cpu.options['series'][0]['data']
    assert 280 <= len(day) <= 290 and all(20.0 <= value <= 26.0 for _, value in day)
    await user.should_see(marker='history-table')

    await user.should_see(marker='history:24h')
    user.find(marker='range').elements.pop().set_value('30d')
    await user.should_see(marker='history:30d')
    cpu = user.find(marker='chart:cpu').elements.pop()
    month = cpu.options['series'][0]['data']
    assert 235 <= len(month) <= 245
    rss = user.find(marker='chart:rss').elements.pop()
    assert all(value == 150 for _, value in rss.options['series'][0]['data'])


async def test_the_checks_read_as_names_and_words_not_ids_and_colours(user: UIUser, team: Team) -> None:
    from tests.console.backup_page_support import label_texts

    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see(marker='status:console.restore_drill:amber')  # no drill has proven a restore yet
    drill = label_texts(user, 'check:console.restore_drill')
    assert drill[0] == 'Restore drill' and 'console.restore_drill' not in ' '.join(drill)
    for check, title in (
        ('console.backups', 'Backups'),
        ('console.license_seats', 'License seats'),
        ('disk', 'Disk space'),
    ):
        assert label_texts(user, f'check:{check}')[0] == title
    [chip] = user.find(marker='status:console.restore_drill:amber').elements
    assert chip.text == 'Needs a look'  # type: ignore[attr-defined]
    [chip] = user.find(marker='status:database:green').elements
    assert chip.text == 'Fine'  # type: ignore[attr-defined]
    await user.should_see('Everything works; something should be looked at.')


async def test_the_dashboard_stores_what_it_checked_for_the_banner(user: UIUser, team: Team) -> None:
    _states(**{'gone.check': 'red'})
    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see(marker='status:database:green')
    with get_database().session() as session:
        from console.health.services.alerts import red_count, stored_states

        assert red_count(session) == 0
        assert {'database', 'disk', 'console.scheduler'} <= {state.name for state in stored_states(session)}
    await user.open('/')
    await user.should_not_see(marker='banner-red')


async def test_the_dashboard_says_when_there_are_no_samples_yet(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('alice', next_path='/console'))
    await user.should_see(marker='no-samples')


@pytest.mark.parametrize('who', ['bob', 'erin'])
async def test_it_refuses_the_dashboard_to_non_admins(user: UIUser, team: Team, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    response = await user.http_client.get('/console', follow_redirects=False)
    assert response.status_code == 403
    assert 'You do not have permission to open this page.' in response.text


async def test_it_shows_the_maintenance_entry_only_to_admins(user: UIUser, team: Team) -> None:
    await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    await user.should_not_see(marker='nav:/console')
    await user.open(sign_in_url('alice'))
    await user.should_see(marker='nav:/console')
