"""Translation (gettext catalogs read with Babel) and locale-aware dates in the reader's time zone.

Catalogs live in `appliance/locale/<lang>/LC_MESSAGES/messages.po`; msgids are English. The language of
the current reader comes from a context variable, or from a resolver the UI installs (NiceGUI event
handlers run outside the page's context).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.pofile import read_po

LANGUAGES = {'en': 'English', 'zh_CN': '简体中文'}
DEFAULT_LANGUAGE = 'en'

current_language: ContextVar[str | None] = ContextVar('current_language', default=None)
language_resolver: Callable[[], str | None] | None = None


@lru_cache(maxsize=8)
def catalog(language: str) -> dict[str, str]:
    """msgid -> translation for one language (empty translations are left out)."""
    path = resources.files('appliance').joinpath(f'locale/{language}/LC_MESSAGES/messages.po')
    if not path.is_file():
        return {}
    with path.open('rb') as handle:
        po = read_po(handle, locale=language)
    return {str(msg.id): str(msg.string) for msg in po if msg.id and msg.string and not msg.fuzzy}


def language() -> str:
    """The language of whoever is being served now."""
    lang = current_language.get()
    if lang is None and language_resolver is not None:
        lang = language_resolver()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def gettext(message: str, **params: Any) -> str:
    """Translate `message` into the current language and fill `{name}` placeholders."""
    text = catalog(language()).get(message, message) if language() != 'en' else message
    return text.format(**params) if params else text


_ = gettext


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


def format_datetime(value: datetime | None, *, timezone: str = 'UTC', lang: str | None = None) -> str:
    """A date and time in the reader's time zone and language, e.g. '2026年11月29日 17:49'."""
    if value is None:
        return ''
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo('UTC')
    locale = Locale.parse(lang or language())
    return babel_format_datetime(value.astimezone(zone), 'medium', locale=locale)
