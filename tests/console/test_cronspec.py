"""Schedules in words, set with a picker; weekdays the standard cron way (0 is Sunday), also for APScheduler."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger

from appliance import i18n
from console.backup.services.cronspec import Simple, apscheduler_crontab, describe_schedule, parse_simple

MONDAY = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ('cron', 'fires'),
    [
        ('0 3 * * 0', datetime(2026, 12, 13, 3, tzinfo=UTC)),  # Sunday (APScheduler alone said Monday the 7th)
        ('0 3 * * 7', datetime(2026, 12, 13, 3, tzinfo=UTC)),
        ('0 5 * * 6', datetime(2026, 12, 12, 5, tzinfo=UTC)),  # Saturday
        ('0 9 * * 1-5', datetime(2026, 12, 8, 9, tzinfo=UTC)),  # the next weekday morning
        ('0 9 * * 2,4', datetime(2026, 12, 8, 9, tzinfo=UTC)),
        ('0 9 * * */2', datetime(2026, 12, 8, 9, tzinfo=UTC)),  # every other day of the week from Sunday
    ],
)
def test_weekdays_are_read_the_cron_way(cron: str, fires: datetime) -> None:
    trigger = CronTrigger.from_crontab(apscheduler_crontab(cron), timezone='UTC')
    assert trigger.get_next_fire_time(None, MONDAY) == fires


def test_a_weekday_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        apscheduler_crontab('0 3 * * 8')


@pytest.mark.parametrize(
    ('cron', 'simple'),
    [
        ('0 2 * * *', Simple('daily', 2, 0)),
        ('30 3 * * 0', Simple('weekly', 3, 30, weekday=0)),
        ('30 3 * * 7', Simple('weekly', 3, 30, weekday=0)),
        ('0 4 1 * *', Simple('monthly', 4, 0, day=1)),
        ('*/15 * * * *', None),
        ('0 2 * * 1-5', None),
        ('0 4 31 * *', None),  # not every month has it: a custom schedule
        ('0 2 * 6 *', None),
    ],
)
def test_the_common_schedules_are_simple_and_the_rest_custom(cron: str, simple: Simple | None) -> None:
    assert parse_simple(cron) == simple
    if simple is not None:
        assert parse_simple(simple.crontab()) == simple


def test_a_schedule_reads_as_a_sentence_in_both_languages() -> None:
    assert describe_schedule('0 2 * * *') == 'Every day at 02:00'
    assert describe_schedule('30 3 * * 0') == 'Every Sunday at 03:30'
    assert describe_schedule('0 4 1 * *') == 'On day 1 of every month at 04:00'
    assert describe_schedule('*/15 * * * *') == 'Custom schedule: */15 * * * *'
    token = i18n.current_language.set('zh_CN')
    try:
        assert describe_schedule('0 2 * * *') == '每天 02:00'
        assert describe_schedule('30 3 * * 0') == '每星期日 03:30'
        assert describe_schedule('0 4 1 * *') == '每月 1 日 04:00'
    finally:
        i18n.current_language.reset(token)
