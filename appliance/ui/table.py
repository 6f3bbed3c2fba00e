"""The table-with-pager every list page uses: rows of one page of a service's list, and '1–25 of 120' with
previous / next buttons under it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nicegui import ui

from appliance.i18n import _
from appliance.services.paging import Page

PAGE_SIZE = 25


def pager(page: Page[Any], move: Callable[[int], None], size: int = PAGE_SIZE) -> None:
    """'1–50 of 120' with previous / next buttons calling `move(-size)` / `move(size)`; nothing for an empty list
    (the table says it is empty; "0–0 of 0" with two dead arrows says nothing more)."""
    if page.total == 0 and page.offset == 0:
        return
    with ui.row().classes('items-center gap-2'):
        first, last = min(page.total, page.offset + 1), page.offset + len(page.items)
        ui.label(_('{first}–{last} of {total}', first=first, last=last, total=page.total))
        ui.button(icon='chevron_left', on_click=lambda: move(-size)).props(
            'flat dense' + (' disable' if page.offset == 0 else '')
        ).mark('prev-page')
        ui.button(icon='chevron_right', on_click=lambda: move(size)).props(
            'flat dense' + (' disable' if page.offset + size >= page.total else '')
        ).mark('next-page')


def paged_table(
    page: Page[Any],
    *,
    columns: Sequence[dict[str, Any]],
    rows: list[dict[str, Any]],
    move: Callable[[int], None],
    size: int = PAGE_SIZE,
    marker: str = '',
    row_key: str = 'id',
) -> ui.table:
    """A full-width table of `rows` (one page of `page`) with the pager under it; returns the table."""
    grid = ui.table(columns=list(columns), rows=rows, row_key=row_key, pagination=0).classes('w-full')
    grid.props('hide-pagination')  # one pager: ours (Quasar's said "Records per page: All 1-25 of 25" above it)
    if marker:
        grid.mark(marker)
    pager(page, move, size)
    return grid
