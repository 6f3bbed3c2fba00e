"""Buttons that look alike for actions that sit together: a download is an action (it makes a file), so it is a
button beside "Import CSV", not a text link; it is still a plain link underneath (no round trip, the browser
downloads it)."""

from __future__ import annotations

from nicegui import ui


def download_button(label: str, href: str, *, icon: str = 'download') -> ui.button:
    """A flat button that downloads `href` (a local path)."""
    button = ui.button(label, icon=icon).props('flat dense no-caps type=a download')
    button.props['href'] = href  # set as a value: the address may hold characters a props string would split
    return button
