"""How tasks look on every page: priority names and colours, avatar initials, label colours, the reader's today,
and the tasks stylesheet."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from appliance.i18n import _
from appliance.models import User
from modules.tasks.models import PRIORITIES
from modules.tasks.views import PersonRef

COLOR_RE = re.compile(r'^#[0-9a-fA-F]{6}$')
DEFAULT_COLOR = '#64748b'
# Quasar colours of the priority badges; 'normal' gets none (most cards are normal: keep them quiet).
PRIORITY_COLORS = {'low': 'grey-6', 'normal': 'blue-grey-4', 'high': 'orange-8', 'urgent': 'red-8'}


def priority_labels() -> dict[str, str]:
    """Priority names in the reader's language, in order."""
    names = {'low': _('Low'), 'normal': _('Normal'), 'high': _('High'), 'urgent': _('Urgent')}
    return {key: names.get(key, key) for key in PRIORITIES}


def today_for(user: User) -> date:
    """Today in the reader's time zone."""
    try:
        zone = ZoneInfo(user.timezone or 'UTC')
    except (KeyError, ValueError):
        zone = ZoneInfo('UTC')
    return datetime.now(zone).date()


def initials(person: PersonRef) -> str:
    """Two letters for an avatar: the first letters of the first two words of the name (or the username)."""
    words = (person.display_name or person.username).split()
    if not words:
        return '?'
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][:1] + words[1][:1]).upper()


def safe_color(color: str) -> str:
    """A label colour that is certainly a #rrggbb value (anything else: the default grey)."""
    return color if COLOR_RE.match(color or '') else DEFAULT_COLOR


def add_board_css() -> None:
    """The tasks pages' small stylesheet (served locally under /tasks-static)."""
    from nicegui import ui

    ui.add_head_html('<link rel="stylesheet" href="/tasks-static/board.css">')
