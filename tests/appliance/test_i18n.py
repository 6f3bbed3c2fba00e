"""Catalogs, negotiation and dates: every marked string has a Chinese translation, and the helpers use it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from appliance import i18n
from appliance.errors import N_, NP_, NotFound, TooManyAttempts, ValidationError

ROOT = Path(__file__).resolve().parents[2]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location('enclave_i18n_script', ROOT / 'scripts' / 'i18n.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _load_script()


@pytest.fixture
def zh() -> Iterator[None]:
    """Serve the test in Simplified Chinese."""
    token = i18n.current_language.set('zh_CN')
    yield
    i18n.current_language.reset(token)


@pytest.fixture
def en() -> Iterator[None]:
    token = i18n.current_language.set('en')
    yield
    i18n.current_language.reset(token)


def _translations() -> Catalog:
    with script.po_path('zh_CN').open('rb') as handle:
        return read_po(handle, locale='zh_CN')


# (a) the catalogs


def test_it_translates_every_extracted_message_into_chinese(tmp_path: Path) -> None:
    pot = tmp_path / 'messages.pot'
    pot.write_bytes(script.render(script.extract_template(ROOT)))
    with pot.open('rb') as handle:
        template = read_po(handle)
    assert len(template) > 100, 'extraction found (almost) nothing: is babel.cfg still read from the repo root?'

    found = script.problems(template, _translations())

    assert not found, (
        f'{len(found)} zh_CN catalog problem(s); run `make i18n`, translate in '
        'appliance/locale/zh_CN/LC_MESSAGES/messages.po, then `python scripts/i18n.py check`:\n' + '\n'.join(found)
    )


def test_it_reports_missing_fuzzy_and_mismatched_translations() -> None:
    template = Catalog()
    for msgid in ('Saved.', 'Welcome, {name}.', 'Wait {seconds} s.', 'Sign in', 'Odd {n}'):
        template.add(msgid)
    translations = Catalog(locale='zh_CN')
    translations.add('Welcome, {name}.', '欢迎，{user}。')
    translations.add('Wait {seconds} s.', '请等待 {seconds} 秒。', flags=['fuzzy'])
    translations.add('Sign in', '登录')
    translations.add('Odd {n}', '奇数 {n')

    found = script.problems(template, translations)

    assert len(found) == 4
    assert found[0].startswith('malformed braces') and "'Odd {n}'" in found[0]
    assert found[1] == "untranslated: 'Saved.'"
    assert found[2].startswith('fuzzy:') and "'Wait {seconds} s.'" in found[2]
    assert found[3].startswith("placeholders ['name'] != ['user']")


def test_it_leaves_the_english_catalog_as_identity() -> None:
    with script.po_path('en').open('rb') as handle:
        catalog = read_po(handle, locale='en')
    # (a plural message has a tuple of empty forms)
    assert [message.id for message in catalog if message.id and any(_forms(message.string))] == []


def test_it_keeps_placeholders_in_messages_with_them() -> None:
    translations = _translations()
    assert translations.get('Too many failed sign-in attempts. Try again in {seconds} second.').string == (
        '登录失败次数过多，请在 {seconds} 秒后重试。',
    )


# (b) gettext


@pytest.mark.usefixtures('zh')
def test_it_translates_into_chinese_and_fills_placeholders() -> None:
    assert i18n.language() == 'zh_CN'
    assert i18n.gettext('Sign out') == '退出登录'
    assert i18n._('Audit log') == '审计日志'
    assert i18n.gettext('Welcome, {name}.', name='张伟') == '欢迎，张伟。'
    assert i18n.gettext('{first}–{last} of {total}', first=1, last=20, total=57) == '第 1–20 条，共 57 条'


@pytest.mark.usefixtures('zh')
def test_it_falls_back_to_the_english_msgid_when_a_message_is_unknown() -> None:
    assert i18n.gettext('Not a marked string {x}', x=3) == 'Not a marked string 3'


@pytest.mark.usefixtures('en')
def test_it_serves_english_as_written() -> None:
    assert i18n.gettext('Sign out') == 'Sign out'
    assert i18n.gettext('Welcome, {name}.', name='Ada') == 'Welcome, Ada.'


def test_it_ignores_an_unsupported_language_in_the_context() -> None:
    token = i18n.current_language.set('fr')
    try:
        assert i18n.language() == i18n.DEFAULT_LANGUAGE
        assert i18n.gettext('Sign out') == 'Sign out'
    finally:
        i18n.current_language.reset(token)


# (c) negotiate


@pytest.mark.parametrize(
    ('header', 'expected'),
    [
        ('zh-CN,zh;q=0.9,en;q=0.8', 'zh_CN'),
        ('zh', 'zh_CN'),
        ('zh-Hans', 'zh_CN'),
        ('ZH-cn', 'zh_CN'),
        ('en-US', 'en'),
        ('en-GB,en;q=0.9', 'en'),
        ('en;q=0.5, zh;q=0.9', 'zh_CN'),
        ('zh;q=0.4, en;q=0.6', 'en'),
        ('fr-FR, fr;q=0.9, zh;q=0.1', 'zh_CN'),
        ('fr', i18n.DEFAULT_LANGUAGE),
        ('*', i18n.DEFAULT_LANGUAGE),
        ('', i18n.DEFAULT_LANGUAGE),
        (None, i18n.DEFAULT_LANGUAGE),
        ('   ', i18n.DEFAULT_LANGUAGE),
        (';;;,,,q=', i18n.DEFAULT_LANGUAGE),
        ('\x00garbage;q=banana', i18n.DEFAULT_LANGUAGE),
        ('en;q=banana, zh;q=0.3', 'zh_CN'),
    ],
)
def test_it_negotiates_the_language_from_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


# (d) dates


WHEN = datetime(2026, 11, 29, 9, 49, 5, tzinfo=UTC)


def test_it_formats_a_utc_time_in_the_readers_time_zone_in_chinese() -> None:
    text = i18n.format_datetime(WHEN, timezone='Asia/Shanghai', lang='zh_CN')
    assert text.startswith('2026年11月29日')
    assert '17:49' in text


def test_it_formats_a_utc_time_in_the_readers_time_zone_in_english() -> None:
    text = i18n.format_datetime(WHEN, timezone='Asia/Shanghai', lang='en')
    assert 'Nov 29, 2026' in text
    assert '5:49' in text and 'PM' in text


@pytest.mark.usefixtures('zh')
def test_it_formats_in_the_current_language_by_default() -> None:
    assert i18n.format_datetime(WHEN, timezone='Asia/Shanghai').startswith('2026年11月29日')


@pytest.mark.parametrize('zone', ['Mars/Olympus_Mons', '', '../../etc/passwd', 'Not a zone'])
def test_it_falls_back_to_utc_for_an_invalid_time_zone(zone: str) -> None:
    text = i18n.format_datetime(WHEN, timezone=zone, lang='zh_CN')
    assert text.startswith('2026年11月29日')
    assert '09:49' in text


def test_it_renders_nothing_for_no_time() -> None:
    assert i18n.format_datetime(None, timezone='Asia/Shanghai', lang='zh_CN') == ''


# (e) service errors


@pytest.mark.usefixtures('zh')
def test_it_translates_a_service_error_with_params() -> None:
    error = ValidationError(N_('The display name must be at most {n} characters.'), field='display_name', n=128)
    assert i18n.translate_error(error) == '显示名称最多 128 个字符。'
    throttled = TooManyAttempts(TRY_AGAIN, retry_after=30, seconds=30)
    assert i18n.translate_error(throttled) == '登录失败次数过多，请在 30 秒后重试。'
    assert i18n.translate_error(NotFound(N_('No such user.'))) == '用户不存在。'


@pytest.mark.usefixtures('en')
def test_it_gives_a_service_error_in_english_with_params_filled() -> None:
    error = ValidationError(N_('The display name must be at most {n} characters.'), field='display_name', n=128)
    assert i18n.translate_error(error) == 'The display name must be at most 128 characters.'
    assert i18n.translate_error(error) == str(error)


@pytest.mark.usefixtures('zh')
def test_it_passes_other_errors_through() -> None:
    assert i18n.translate_error(ValueError('boom')) == 'boom'


def test_it_extracts_into_the_catalogs_keeping_translations_and_never_guessing(tmp_path: Path) -> None:
    (tmp_path / 'babel.cfg').write_text('[python: appliance/**.py]\n', encoding='utf-8')
    (tmp_path / 'appliance').mkdir()
    (tmp_path / 'appliance' / 'pages.py').write_text(
        "_('Hello')\nN_('Hello there, {name}')\ngettext('Bye')\nprint('not marked')\n", encoding='utf-8'
    )
    (tmp_path / 'tests').mkdir()
    (tmp_path / 'tests' / 'test_x.py').write_text("_('Outside the source trees')\n", encoding='utf-8')
    po = script.po_path('zh_CN', tmp_path / 'appliance' / 'locale')
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Hello"\nmsgstr "你好"\n\nmsgid "Gone"\nmsgstr "已删除"\n', encoding='utf-8')

    assert script.extract(tmp_path) == 0

    with (tmp_path / 'appliance' / 'locale' / 'messages.pot').open('rb') as handle:
        assert sorted(str(message.id) for message in read_po(handle) if message.id) == [
            'Bye',
            'Hello',
            'Hello there, {name}',
        ]
    with po.open('rb') as handle:
        catalog = read_po(handle, locale='zh_CN')
    assert catalog.get('Hello').string == '你好'
    new = catalog.get('Hello there, {name}')
    assert new.string == '' and not new.fuzzy
    assert catalog.get('Gone') is None
    assert script.po_path('en', tmp_path / 'appliance' / 'locale').is_file()
    assert script.check(tmp_path) == 1

    before = {path: path.read_bytes() for path in (tmp_path / 'appliance' / 'locale').rglob('*.po*')}
    script.extract(tmp_path)
    assert {path: path.read_bytes() for path in (tmp_path / 'appliance' / 'locale').rglob('*.po*')} == before


def test_the_week_starts_on_monday_in_chinese_pickers_and_on_sunday_for_us_english() -> None:
    assert i18n.first_day_of_week('zh_CN') == 1 and i18n.first_day_of_week('en_US') == 0


def _forms(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


TRY_AGAIN = NP_(
    'Too many failed sign-in attempts. Try again in {seconds} second.',
    'Too many failed sign-in attempts. Try again in {seconds} seconds.',
    'seconds',
)


def test_a_plural_message_takes_the_form_for_its_number_in_english_and_the_one_form_in_chinese() -> None:
    assert i18n.gettext(TRY_AGAIN, seconds=1) == 'Too many failed sign-in attempts. Try again in 1 second.'
    assert i18n.gettext(TRY_AGAIN, seconds=30) == 'Too many failed sign-in attempts. Try again in 30 seconds.'
    assert str(TooManyAttempts(TRY_AGAIN, retry_after=1, seconds=1)).endswith('Try again in 1 second.')
    token = i18n.current_language.set('zh_CN')
    try:
        assert i18n.gettext(TRY_AGAIN, seconds=1) == '登录失败次数过多，请在 1 秒后重试。'
        assert i18n.gettext(TRY_AGAIN, seconds=30) == '登录失败次数过多，请在 30 秒后重试。'
    finally:
        i18n.current_language.reset(token)


def test_the_chinese_ui_addresses_people_one_way() -> None:
    """你 everywhere (a workspace among colleagues), never 您 on one page and 你 on the next."""
    formal = [message.id for message in _translations() if message.id and '您' in ''.join(_forms(message.string))]
    assert formal == []


def test_recent_things_say_how_long_ago_and_older_ones_their_day() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert i18n.format_ago(now - timedelta(seconds=20), now=now) == 'just now'
    assert i18n.format_ago(now + timedelta(seconds=5), now=now) == 'just now'  # a clock a little ahead
    assert i18n.format_ago(now - timedelta(minutes=5), now=now) == '5 minutes ago'
    assert i18n.format_ago(now - timedelta(days=2), now=now, lang='zh_CN') == '2天前'
    assert i18n.format_ago(now - timedelta(days=20), now=now, lang='zh_CN') == '2026年11月17日'
