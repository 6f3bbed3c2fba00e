"""The time-zone choice: canonical zones by region with the city in the reader's language, no legacy aliases."""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.timezones import canonical_zones, label, zone_options


def test_the_list_has_the_cities_people_know_and_none_of_the_legacy_aliases() -> None:
    zones = canonical_zones()
    assert zones[0] == 'UTC'
    assert {'Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Europe/London', 'America/New_York'} <= set(zones)
    assert not {'ROC', 'ROK', 'UCT', 'PRC', 'US/Pacific', 'Asia/Chongqing', 'Etc/GMT+8'} & set(zones)


def test_a_label_says_region_city_offset_and_the_iana_name_in_the_readers_language() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert label('Asia/Shanghai', 'zh_CN', winter) == '亚洲 · 上海 · UTC+08:00 · Asia/Shanghai'
    assert label('America/New_York', 'en', winter) == 'Americas · New York · UTC-05:00 · America/New_York'
    assert label('Asia/Kolkata', 'en', winter).endswith('UTC+05:30 · Asia/Kolkata')
    assert label('UTC', 'zh_CN', winter) == 'UTC'


def test_the_options_group_by_region_and_keep_an_alias_someone_already_has() -> None:
    options = zone_options('zh_CN')
    labels = list(options.values())
    assert labels[0] == 'UTC' and labels[1:] == sorted(labels[1:])
    asia = [zone for zone, text in options.items() if text.startswith('亚洲 · ')]
    assert 'Asia/Shanghai' in asia and all(zone.startswith('Asia/') for zone in asia)
    assert next(iter(zone_options('en', 'PRC'))) == 'PRC'  # stored before; still shown, so the form keeps it
    assert 'Not/AZone' not in zone_options('en', 'Not/AZone')
