"""The time zones people choose from: canonical names, grouped by region, with the city in the reader's language.

`zoneinfo.available_timezones()` also holds legacy aliases (ROC, ROK, UCT, PRC, US/Pacific, Etc/GMT+8, ...) that
nobody should have to scroll past. The choice is the zones of `zone.tab` from the pinned `tzdata` package (one or
more per country, the cities people know), plus UTC; the label says the region, the city and the current offset,
with the IANA name for typing ("亚洲 · 上海 · UTC+08:00 · Asia/Shanghai"). A stored alias still validates and is
kept in the list of whoever has it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_location

from appliance.errors import N_
from appliance.i18n import current_language, gettext

REGIONS = {
    'Africa': N_('Africa'),
    'America': N_('Americas'),
    'Antarctica': N_('Antarctica'),
    'Arctic': N_('Arctic'),
    'Asia': N_('Asia'),
    'Atlantic': N_('Atlantic'),
    'Australia': N_('Australia'),
    'Europe': N_('Europe'),
    'Indian': N_('Indian Ocean'),
    'Pacific': N_('Pacific'),
}


@lru_cache(maxsize=1)
def canonical_zones() -> tuple[str, ...]:
    """The zones of tzdata's zone.tab, sorted, and UTC."""
    text = resources.files('tzdata').joinpath('zoneinfo/zone.tab').read_text('utf-8')
    zones = {line.split('\t')[2] for line in text.splitlines() if line and not line.startswith('#')}
    return ('UTC', *sorted(zones))


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = '+' if minutes >= 0 else '-'
    return f'UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}'


def label(zone: str, lang: str, now: datetime | None = None) -> str:
    """'亚洲 · 上海 · UTC+08:00 · Asia/Shanghai' (UTC alone as 'UTC')."""
    if zone == 'UTC':
        return 'UTC'
    now = now or datetime.now(UTC)
    region = zone.split('/', 1)[0]
    try:
        city = get_timezone_location(zone, locale=lang, return_city=True)
    except (LookupError, ValueError):
        city = zone.rsplit('/', 1)[-1].replace('_', ' ')
    token = current_language.set(lang)
    try:
        parts = [gettext(REGIONS[region])] if region in REGIONS else []
    finally:
        current_language.reset(token)
    return ' · '.join([*parts, city, _offset(zone, now), zone])


@lru_cache(maxsize=4)
def _options(lang: str, day: str) -> tuple[tuple[str, str], ...]:
    now = datetime.fromisoformat(day).replace(tzinfo=UTC)
    labelled = [(zone, label(zone, lang, now)) for zone in canonical_zones()]
    # UTC first, then by region and city in the reader's language.
    return tuple(labelled[:1] + sorted(labelled[1:], key=lambda item: item[1]))


def zone_options(lang: str, current: str = '') -> dict[str, str]:
    """zone -> label for a select, in the reader's language; `current` (an alias someone has) is kept first."""
    options = dict(_options(lang, datetime.now(UTC).strftime('%Y-%m-%dT12:00')))
    if current and current not in options:
        try:
            ZoneInfo(current)
        except (KeyError, ValueError):
            return options
        return {current: current, **options}
    return options
