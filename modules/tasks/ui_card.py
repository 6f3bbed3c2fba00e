"""The board card element: a small local Vue component, so that a card costs one NiceGUI element."""

from __future__ import annotations

from datetime import date
from typing import Any

from nicegui import ui

from appliance.i18n import _
from modules.tasks.access import task_url
from modules.tasks.ui_parts import initials, priority_labels, safe_color
from modules.tasks.views import TaskCard


def card_props(card: TaskCard, today: date) -> dict[str, Any]:
    """What the card component shows: plain strings and numbers (Vue escapes them)."""
    overdue = card.due_date is not None and card.due_date < today and not card.closed
    priority = '' if card.priority == 'normal' else priority_labels().get(card.priority, card.priority)
    return {
        'id': card.id,
        'ref': card.ref,
        'title': card.title,
        'url': task_url(card.id),
        'priority': priority,
        'priority_key': card.priority,
        'due': card.due_date.isoformat() if card.due_date else '',
        'due_title': _('Overdue') if overdue else _('Due date'),
        'overdue': overdue,
        'labels': [{'name': label.name, 'color': safe_color(label.color)} for label in card.labels],
        'people': [{'initials': initials(person), 'name': person.display_name} for person in card.assignees],
    }


class TaskCardElement(ui.element, component='static/task_card.js'):
    """One card on the board. Emits 'menu' when its menu button is pressed (the keyboard way to move it)."""

    def __init__(self, card: TaskCard, *, today: date, can_move: bool) -> None:
        super().__init__()
        self.task_id = card.id
        self._props['task'] = card_props(card, today)
        self._props['menu'] = can_move
        self._props['menu-label'] = _('Move {ref}', ref=card.ref)
        self.mark(f'card-{card.id}')

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        """What a reader sees on the card (for NiceGUI's test user: `should_see` matches these)."""
        task = self._props['task']
        return [task['ref'], task['title'], task['due'], task['priority']] + [label['name'] for label in task['labels']]
