"""The board's filter bar as one element: a local Vue component (static/filters.js) draws Quasar's selects and text
field from plain JSON, where one NiceGUI element per field cost about a tenth of the board page's CPU.

Every change reloads the page with the new query string (`go`), as the fields did one by one; what the browser
sends is checked here first, and the next page reads the query string again (filters_from_query).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nicegui import events, ui

from modules.tasks.pages.parts.filters import with_query

Option = str | int
FILTERS_JS = Path(__file__).resolve().parent.parent.parent / 'static' / 'filters.js'


def select_field(key: str, label: str, options: Mapping[Any, str], value: Option, width: str) -> dict[str, Any]:
    """A select of the bar: its query key, label, options ({value: name}) and current value."""
    return {
        'key': key,
        'label': label,
        'value': value,
        'options': tuple({'value': option, 'label': name} for option, name in options.items()),
        'width': width,
    }


def text_field(key: str, label: str, value: str, width: str) -> dict[str, Any]:
    """A text field of the bar (Enter applies it, its clear button empties it)."""
    return {'key': key, 'label': label, 'value': value, 'width': width}


class FilterBar(ui.element, component=FILTERS_JS):
    """Filter fields that reload `path` with their query string (`current`, the page's) changed; `clear`, when
    given, is the label of a button that drops every filter."""

    def __init__(self, path: str, current: dict[str, str], fields: list[dict[str, Any]], *, clear: str = '') -> None:
        super().__init__()
        self.path = path
        self.current = current
        self.choices = {field['key']: {option['value'] for option in field.get('options', ())} for field in fields}
        # Tuples: NiceGUI keeps lists and dicts in props as observables, not tuples (nothing changes them).
        self._props['fields'] = tuple(fields)
        self._props['clear'] = clear
        self.classes('nicegui-row wrap items-center gap-2 w-full')
        self.on('go', self.on_go)
        self.on('clear', lambda: ui.navigate.to(self.path))

    def target(self, key: str, value: Any) -> str | None:
        """The URL for `key` set to `value` (a select's value must be one of its options), or None when refused."""
        if key not in self.choices or isinstance(value, bool) or not isinstance(value, str | int):
            return None
        allowed = self.choices[key]
        if allowed and value not in allowed:
            return None
        pairs = dict(self.current)
        pairs.pop(key, None)
        text = str(value).strip()[:200]
        if value not in (0, '') and text:
            pairs[key] = text
        return with_query(self.path, pairs)

    def on_go(self, event: events.GenericEventArguments) -> None:
        """A field changed: load the page with it."""
        args = event.args if isinstance(event.args, dict) else {}
        target = self.target(str(args.get('key', '')), args.get('value'))
        if target is not None:
            ui.navigate.to(target)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        """What a reader sees (for NiceGUI's test user): the fields' labels and the names of their values."""
        contents: list[Any] = []
        for field in self._props['fields']:
            contents.append(field['label'])
            names = {option['value']: option['label'] for option in field.get('options', ())}
            contents.append(names.get(field['value'], field['value']) if names else field['value'])
        return contents
