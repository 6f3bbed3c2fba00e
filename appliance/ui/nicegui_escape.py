"""A fix to NiceGUI carried in our tree until a NiceGUI release has it (issue 13): the escaping of a page's elements.

`Client.build_response` puts every element of a new page into the HTML as one JSON string, escaped for HTML with
`elements.translate(HTML_ESCAPE_TABLE)`. `str.translate` is fast only for an ASCII string; one Chinese character
anywhere (a task title, a name, the Chinese interface) sends it down CPython's slow path, a dictionary lookup per
character: 9 ms for the 75 kB of a 150-card board, a sixth of that page's CPU. Five `str.replace` calls give the
same string (`&` first, so the entities it makes are not touched again) in 0.4 ms, at any size and in any script.

NiceGUI builds that JSON with `nicegui.json.dumps` in the same function; the module `nicegui.client` sees (its
`json`) is swapped for one whose `dumps` returns a string that knows the quick way to apply exactly that table.
Anything else is left to `str.translate`. The patch is upstream-shaped: NiceGUI's own fix would be the five
replaces in `build_response`. Remove this module when the locked NiceGUI escapes without `str.translate`.
"""

from __future__ import annotations

import types
from typing import Any

from nicegui import client, json

_TABLE = client.HTML_ESCAPE_TABLE
_REPLACEMENTS = (('&', '&amp;'), ('<', '&lt;'), ('>', '&gt;'), ('`', '&#96;'), ('$', '&#36;'))
if {ord(char): entity for char, entity in _REPLACEMENTS} != _TABLE:  # pragma: no cover - a NiceGUI upgrade
    raise ImportError('NiceGUI changed HTML_ESCAPE_TABLE: update appliance/ui/nicegui_escape.py (or remove it)')


def escape_html(text: str) -> str:
    """`text.translate(HTML_ESCAPE_TABLE)`, the same string, quick for any text."""
    for char, entity in _REPLACEMENTS:
        text = text.replace(char, entity)
    return text


class _PageJson(str):
    """A JSON text from `nicegui.client`'s `dumps`: translating it with NiceGUI's escape table takes the quick way."""

    __slots__ = ()

    def translate(self, table: Any, /) -> str:
        if table is _TABLE:
            return escape_html(str(self))
        return str(self).translate(table)


def _dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    return _PageJson(json.dumps(obj, *args, **kwargs))


_CLIENT_JSON = types.SimpleNamespace(dumps=_dumps, loads=json.loads)


def apply() -> None:
    """Give `nicegui.client` the quick escaping (idempotent; only that module's `json` is changed)."""
    setattr(client, 'json', _CLIENT_JSON)  # noqa: B010 - a module attribute mypy does not see as exported


def applied() -> bool:
    """Whether `apply` has been called in this process."""
    return getattr(client, 'json', None) is _CLIENT_JSON
