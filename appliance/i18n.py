"""Translation (gettext catalogs read with Babel) and locale-aware dates in the reader's time zone.

Catalogs live in `appliance/locale/<lang>/LC_MESSAGES/messages.po`; msgids are English. The language of
the current reader comes from a context variable, or from a resolver the UI installs (NiceGUI event
handlers run outside the page's context).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_timedelta as babel_format_timedelta
from babel.messages.pofile import read_po

from appliance.errors import N_, Plural

LANGUAGES = {'en': 'English', 'zh_CN': '简体中文'}
DEFAULT_LANGUAGE = 'en'

current_language: ContextVar[str | None] = ContextVar('current_language', default=None)
language_resolver: Callable[[], str | None] | None = None
# The reader's time zone (their profile's), found like the language: a context variable, else the UI's resolver.
current_timezone: ContextVar[str | None] = ContextVar('current_timezone', default=None)
timezone_resolver: Callable[[], str | None] | None = None


@lru_cache(maxsize=8)
def _messages(language: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The language's .po file, read once: its singular messages and its plural ones."""
    path = resources.files('appliance').joinpath(f'locale/{language}/LC_MESSAGES/messages.po')
    if not path.is_file():
        return {}, {}
    with path.open('rb') as handle:
        po = read_po(handle, locale=language)
    singular = {str(msg.id): str(msg.string) for msg in po if isinstance(msg.id, str) and msg.string and not msg.fuzzy}
    plural = {
        str(msg.id[0]): tuple(str(form) for form in msg.string)
        for msg in po
        if isinstance(msg.id, tuple) and isinstance(msg.string, tuple) and all(msg.string) and not msg.fuzzy
    }
    return singular, plural


def catalog(language: str) -> dict[str, str]:
    """msgid -> translation for one language (empty translations are left out)."""
    return _messages(language)[0]


def plural_catalog(language: str) -> dict[str, tuple[str, ...]]:
    """singular msgid -> the translated forms, for the messages with a plural (NP_)."""
    return _messages(language)[1]


def language() -> str:
    """The language of whoever is being served now."""
    lang = current_language.get()
    if lang is None and language_resolver is not None:
        lang = language_resolver()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def gettext(message: str, **params: Any) -> str:
    """Translate `message` into the current language and fill `{name}` placeholders; a `Plural` (NP_) takes the
    form for the number in its placeholder (one form in Chinese; "1 second" and "2 seconds" in English)."""
    text = translated(message, params)
    return text.format(**params) if params else text


def translated(message: str, params: Mapping[str, Any]) -> str:
    """`message` in the current language, its placeholders not yet filled (a plural: the form for the number in
    `params`)."""
    lang = language()
    if not isinstance(message, Plural):
        return catalog(lang).get(message, message) if lang != 'en' else message
    number = params.get(message.number)
    forms = (plural_catalog(lang).get(str(message)) if lang != 'en' else None) or (str(message), message.plural)
    one = isinstance(number, int) and Locale.parse(lang).plural_form(number) == 'one'
    return forms[0] if len(forms) == 1 or one else forms[1]


_ = gettext


class _Lenient(dict[str, Any]):
    """format_map values where a missing placeholder shows as nothing instead of raising."""

    def __missing__(self, key: str) -> str:
        return ''


def fill_leniently(message: str, values: Mapping[str, Any]) -> str:
    """`message` translated and filled from `values`, for sentences made from stored records (audit, activity),
    whose details may lack a placeholder or hold odd values: a missing placeholder shows as nothing, and a message
    that cannot be filled at all is shown as written. Never raises."""
    lenient = _Lenient(values)
    text = translated(message, lenient)
    try:
        return string.Formatter().vformat(text, (), lenient)
    except (IndexError, KeyError, ValueError, AttributeError, TypeError):
        return text


def translate_error(error: Exception) -> str:
    """The message of a ServiceError in the current language (other errors: their text)."""
    message = getattr(error, 'message', None)
    if message is None:
        return str(error)
    params = dict(getattr(error, 'params', {}))
    # Parameters that are themselves messages (e.g. the name of the maintenance task holding a lock).
    for name in getattr(error, 'translated_params', ()):
        if isinstance(params.get(name), str):
            params[name] = gettext(params[name])
    return gettext(message, **params)


def negotiate(accept_language: str | None) -> str:
    """Pick a supported language from an Accept-Language header (zh, zh-CN, zh-Hans → zh_CN)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(','):
        tag, _sep, params = part.strip().partition(';')
        quality = 1.0
        for param in params.split(';'):
            name, _eq, value = param.strip().partition('=')
            if name.strip() == 'q':
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:  # q=0 means "not acceptable"
            ranked.append((quality, tag.strip().lower()))
    for _quality, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith('zh'):
            return 'zh_CN'
        if tag.startswith('en'):
            return 'en'
    return DEFAULT_LANGUAGE


def reader_timezone() -> str:
    """The time zone of whoever is being served now; UTC when nobody is (the scheduler, the command line)."""
    zone = current_timezone.get()
    if zone is None and timezone_resolver is not None:
        zone = timezone_resolver()
    return zone or 'UTC'


def zone_info(timezone: str | None = None) -> ZoneInfo:
    """The zone named `timezone` (default: the reader's); UTC for a name this machine does not know."""
    try:
        return ZoneInfo(timezone or reader_timezone())
    except (KeyError, ValueError):
        return ZoneInfo('UTC')


def format_datetime(value: datetime | None, *, timezone: str | None = None, lang: str | None = None) -> str:
    """A date and time in the reader's time zone and language, e.g. '2026年11月29日 17:49'.

    Every time a person reads goes through here; `timezone` defaults to the reader's (see `reader_timezone`).
    """
    if value is None:
        return ''
    locale = Locale.parse(lang or language())
    return babel_format_datetime(value.astimezone(zone_info(timezone)), 'medium', locale=locale)


def format_ago(value: datetime | None, *, now: datetime | None = None, lang: str | None = None) -> str:
    """How long ago, for lists of recent things: '5 minutes ago' / '5分钟前' within a week, else the day
    ('2026年11月29日')."""
    if value is None:
        return ''
    now = now or datetime.now(UTC)
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    delta = moment - now
    if -delta > timedelta(days=7):
        return format_day(moment.astimezone(zone_info(None)).date(), lang=lang)
    if -delta < timedelta(minutes=1):  # (or a clock a little ahead)
        return gettext(N_('just now'))
    locale = Locale.parse(lang or language())
    return babel_format_timedelta(delta, add_direction=True, threshold=1.0, locale=locale)


def first_day_of_week(lang: str | None = None) -> int:
    """The first day of the week in the reader's language, as Quasar's date picker counts (0 = Sunday): Monday for
    Chinese (CLDR), as in the month calendars."""
    return (Locale.parse(lang or language()).first_week_day + 1) % 7


def format_day(value: date | None, *, lang: str | None = None) -> str:
    """A calendar day in the reader's language, e.g. '2026年12月9日' or 'Dec 9, 2026' (no time zone: a day is a day)."""
    if value is None:
        return ''
    return babel_format_date(value, 'medium', locale=Locale.parse(lang or language()))
