"""Schedules in words: the crontabs of backups, checks and drills as people read and set them.

A schedule is stored as a five-field crontab (minute hour day month weekday) in the box's time zone. The console
shows and sets the common ones with a picker and says them as a sentence ("每天 02:00", "Every Sunday at 03:00",
"On day 1 of every month at 04:00"); any other crontab stays possible as a custom schedule.

Weekdays are read the standard cron way (0 and 7 are Sunday, 1 is Monday). APScheduler 3's `from_crontab` counts
0 as Monday, which moved every numeric weekly schedule one day later: `apscheduler_crontab` writes the weekday
field with names before APScheduler reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel.dates import get_day_names

from appliance.errors import N_
from appliance.i18n import gettext, language

WEEKDAY_NAMES = ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')  # cron numbers 0..7
KINDS = ('daily', 'weekly', 'monthly', 'custom')
KIND_LABELS = {
    'daily': N_('Every day'),
    'weekly': N_('Every week'),
    'monthly': N_('Every month'),
    'custom': N_('Custom (crontab)'),
}
_WEEKDAY_NUMBERS = re.compile(r'[\d*,/-]+')


def apscheduler_crontab(cron: str) -> str:
    """The crontab with its weekday field as a list of day names (standard cron: 0 and 7 are Sunday), for
    APScheduler; a field with names is left as it is (names mean the same to both)."""
    fields = cron.split()
    if len(fields) != 5 or fields[4] == '*' or not _WEEKDAY_NUMBERS.fullmatch(fields[4]):
        return cron
    days: set[int] = set()
    for part in fields[4].split(','):
        span, _sep, step = part.partition('/')
        if span == '*':
            first, last = 0, 6
        else:
            first_text, _dash, last_text = span.partition('-')
            first = int(first_text)
            last = int(last_text) if last_text else (6 if step else first)
        if not (0 <= first <= 7 and 0 <= last <= 7) or first > last or (step and int(step) < 1):
            raise ValueError(f'"{part}" is not a weekday')
        days |= {day % 7 for day in range(first, last + 1, int(step) if step else 1)}
    return ' '.join([*fields[:4], ','.join(WEEKDAY_NAMES[day] for day in sorted(days))])


@dataclass(frozen=True)
class Simple:
    """A schedule the picker can show: daily, weekly on one day, or monthly on one day, at one time."""

    kind: str
    hour: int
    minute: int
    weekday: int = 0  # cron numbering: 0 = Sunday
    day: int = 1

    def crontab(self) -> str:
        """The crontab of this schedule."""
        if self.kind == 'weekly':
            return f'{self.minute} {self.hour} * * {self.weekday}'
        if self.kind == 'monthly':
            return f'{self.minute} {self.hour} {self.day} * *'
        return f'{self.minute} {self.hour} * * *'

    @property
    def time(self) -> str:
        """HH:MM."""
        return f'{self.hour:02d}:{self.minute:02d}'


def parse_simple(cron: str) -> Simple | None:
    """The simple schedule a crontab is, or None for anything else (a custom one)."""
    fields = cron.split()
    if len(fields) != 5 or not all(part.isdigit() for part in fields[:2]):
        return None
    minute, hour, day, month, weekday = fields
    if not (0 <= int(minute) <= 59 and 0 <= int(hour) <= 23) or month != '*':
        return None
    if day == '*' and weekday == '*':
        return Simple('daily', int(hour), int(minute))
    if day == '*' and weekday.isdigit() and int(weekday) <= 7:
        return Simple('weekly', int(hour), int(minute), weekday=int(weekday) % 7)
    if weekday == '*' and day.isdigit() and 1 <= int(day) <= 28:
        return Simple('monthly', int(hour), int(minute), day=int(day))
    return None


def weekday_names(lang: str | None = None) -> dict[int, str]:
    """Cron weekday number (0 = Sunday) -> its name in the reader's language, Monday first."""
    names = get_day_names('wide', locale=lang or language())  # babel: 0 = Monday
    return {(index + 1) % 7: names[index] for index in range(7)}


def describe_schedule(cron: str) -> str:
    """The schedule as a sentence in the reader's language."""
    simple = parse_simple(cron)
    if simple is None:
        return gettext(N_('Custom schedule: {cron}'), cron=cron)
    if simple.kind == 'weekly':
        return gettext(N_('Every {weekday} at {time}'), weekday=weekday_names()[simple.weekday], time=simple.time)
    if simple.kind == 'monthly':
        return gettext(N_('On day {day} of every month at {time}'), day=simple.day, time=simple.time)
    return gettext(N_('Every day at {time}'), time=simple.time)
