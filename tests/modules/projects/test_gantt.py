"""The timeline chart's data: bars for spans, points for due dates and milestones, arrows for dependencies."""

from __future__ import annotations

from datetime import date

from modules.projects.extensions import TimelineItem
from modules.projects.pages.parts.gantt import DAY_MS, gantt_height, gantt_options, ms
from modules.projects.views import MilestoneView


def test_it_draws_bars_points_and_finish_to_start_arrows() -> None:
    items = [
        TimelineItem('t1', 'WEB-1 Design', date(2030, 1, 2), date(2030, 1, 10), done=True),
        TimelineItem('t2', 'WEB-2 Build', date(2030, 1, 11), date(2030, 1, 25), blocked_by=('t1', 'gone')),
        TimelineItem('t3', 'WEB-3 Copy', None, date(2030, 1, 20)),
    ]
    milestones = [MilestoneView(1, 1, 'Beta 测试版', '', date(2030, 1, 26), 'open', 1, 3)]
    options = gantt_options(milestones, items, date(2030, 1, 15))
    bars, points, arrows = (options['series'][n]['data'] for n in range(3))
    assert options['yAxis']['data'] == ['WEB-1 Design', 'WEB-2 Build', 'WEB-3 Copy', '◆ Beta 测试版']
    assert [bar['value'] for bar in bars] == [
        [ms(date(2030, 1, 2)), ms(date(2030, 1, 10)) + DAY_MS, 0],
        [ms(date(2030, 1, 11)), ms(date(2030, 1, 25)) + DAY_MS, 1],
    ]
    assert [(p['symbol'], p['value'][1]) for p in points] == [('circle', 2), ('diamond', 3)]
    assert arrows == [{'coords': [[ms(date(2030, 1, 10)) + DAY_MS, 0], [ms(date(2030, 1, 11)), 1]]}]
    assert options['xAxis']['min'] < ms(date(2030, 1, 2)) and options['xAxis']['max'] > ms(date(2030, 1, 26))
    assert gantt_height(3, 1) >= 4 * 30


def test_it_draws_an_empty_timeline_around_today() -> None:
    options = gantt_options([], [], date(2030, 1, 15))
    assert options['yAxis']['data'] == [] and options['xAxis']['min'] < ms(date(2030, 1, 15))


def test_it_keeps_the_items_nearest_to_today_when_a_timeline_is_huge() -> None:
    from datetime import date, timedelta

    from modules.projects.extensions import TimelineItem
    from modules.projects.pages.timeline import around

    today = date(2026, 11, 29)
    items = [
        TimelineItem(id=f't{n}', label=f'WEB-{n}', start=today + timedelta(days=n), end=today + timedelta(days=n + 2))
        for n in range(-500, 500, 5)
    ]
    chosen = around(items, today, 10)
    assert len(chosen) == 10
    assert all(abs((item.start - today).days) <= 30 for item in chosen if item.start)
    assert [item.start for item in chosen] == sorted(item.start for item in chosen if item.start)
    assert around(items[:5], today, 10) == items[:5]


def test_it_gives_tooltips_as_plain_text_that_the_chart_shows_as_text() -> None:
    payload = '<img src=x onerror="window.__xss=1">'
    items = [
        TimelineItem('t1', f'WEB-1 {payload}', date(2030, 1, 2), date(2030, 1, 10)),
        TimelineItem('t2', f'WEB-2 {payload}', None, date(2030, 1, 20)),
    ]
    milestones = [MilestoneView(1, 1, payload, '', date(2030, 1, 26), 'open', 0, 0)]
    options = gantt_options(milestones, items, date(2030, 1, 15))
    tips = [item['tip'] for series in options['series'][:2] for item in series['data']]
    # The text as typed, lines apart; the formatter makes an element and sets its textContent (tests/e2e hovers it).
    assert tips == [
        f'WEB-1 {payload}\n2030-01-02 → 2030-01-10',
        f'WEB-2 {payload}\nDue: 2030-01-20',
        f'{payload}\nDue: 2030-01-26',
    ]
    formatter = options['tooltip'][':formatter']
    assert 'textContent' in formatter and 'innerHTML' not in formatter
