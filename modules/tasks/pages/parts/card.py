"""The board element: one local Vue component draws every column and card of a board, from plain JSON props.

A board of 150 cards is one NiceGUI element instead of several hundred, which keeps building the page cheap. The
component (static/board.js) renders text with Vue's escaping `{{ }}` only; colours arrive already checked to be
#rrggbb. It emits 'move' {task_id, status_id, after_id}, 'menu' {task_id}, 'more' {status_id} and
'add' {status_id, title}; the page answers by changing `columns` (see pages_board.BoardUI).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from nicegui import ui

from appliance.i18n import _
from modules.tasks.pages.parts.display import initials, priority_labels, safe_color
from modules.tasks.services import task_url
from modules.tasks.views import TaskCard

CardData = dict[str, Any]
ColumnData = dict[str, Any]


class CardMaker:
    """Turns task cards into what the component shows: plain strings and numbers (Vue escapes them).

    The translated words every card shares are looked up once per board, not once per card.
    """

    def __init__(self, today: date, *, can_move: bool) -> None:
        self.today = today
        self.can_move = can_move
        self.priorities = priority_labels()
        self.overdue_title = _('Overdue')
        self.due_title = _('Due date')
        self.menu_label = _('Move {ref}')

    def __call__(self, card: TaskCard) -> CardData:
        """One card."""
        overdue = card.due_date is not None and card.due_date < self.today and not card.closed
        data: CardData = {
            'id': card.id,
            'ref': card.ref,
            'title': card.title,
            'url': task_url(card.id),
            'priority': '' if card.priority == 'normal' else self.priorities.get(card.priority, card.priority),
            'priority_key': card.priority,
            'due': card.due_date.isoformat() if card.due_date else '',
            'due_title': self.overdue_title if overdue else self.due_title,
            'overdue': overdue,
            # Tuples, not lists: a card that holds only strings, numbers and tuples of such dicts is untracked by the
            # garbage collector at its first full collection, so later ones do not walk the cards of every open
            # board again (with many boards open, full collections were a large part of a board's CPU).
            'labels': tuple({'name': label.name, 'color': safe_color(label.color)} for label in card.labels),
            'people': tuple({'initials': initials(person), 'name': person.display_name} for person in card.assignees),
        }
        if self.can_move:
            data['menu_label'] = self.menu_label.format(ref=card.ref)
        return data


# The component lives in the module's static/ folder, two levels up from this file.
BOARD_JS = Path(__file__).resolve().parent.parent.parent / 'static' / 'board.js'


class BoardElement(ui.element, component=BOARD_JS):
    """Every column of a board with its cards, drawn on the client from the `columns` prop.

    `columns` is a list of {id, name, closed, total, cards}; `editable` turns on dragging (SortableJS as bundled
    by NiceGUI, pointer mode), the card menus and the quick-add fields.
    """

    def __init__(self, columns: list[ColumnData], *, editable: bool, group: str) -> None:
        super().__init__()
        self._props['columns'] = tuple(columns)
        self._props['editable'] = editable
        self._props['group'] = group
        self._props['texts'] = {'new_task': _('New task'), 'show_more': _('Show more'), 'closed': _('Closed')}

    @property
    def columns(self) -> tuple[ColumnData, ...]:
        """The columns as the client has them (after the last update)."""
        columns: tuple[ColumnData, ...] = self._props['columns']
        return columns

    def set_columns(self, columns: list[ColumnData]) -> None:
        """Replace the columns and send them to the client.

        They are held as a tuple of plain dicts: NiceGUI wraps lists and dicts in props into observables (slow for
        hundreds of cards), not tuples. Nothing changes them in place; every change comes through here.
        """
        self._props['columns'] = tuple(columns)  # assigning a prop sends the element

    def clear_draft(self, status_id: int) -> None:
        """Empty a column's quick-add field (after its task was added)."""
        self.run_method('clearDraft', status_id)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        """What a reader sees (for NiceGUI's test user: `should_see` matches these)."""
        contents: list[Any] = []
        for column in self.columns:
            contents += [column['name'], str(column['total'])]
            for card in column['cards']:
                contents += [card['ref'], card['title'], card['due'], card['priority']]
                contents += [label['name'] for label in card['labels']]
        return contents
