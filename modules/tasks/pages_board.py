"""The kanban board of a project: columns in workflow order, cards that drag within and between columns.

Dragging uses SortableJS as bundled by NiceGUI (`make_sortable`, nothing downloaded) in its pointer-event mode
(`forceFallback`), which works with a mouse, a finger and browser automation alike. Every card also has a menu
(a keyboard-reachable button) to move it to another column or up and down. Columns load 50 cards at a time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.responses import Response
from nicegui import events, ui

from appliance.i18n import _
from appliance.ui.actions import act, attempt
from appliance.ui.guard import PageContext, protected_page
from modules.projects import members as project_members
from modules.projects.ui import open_project, project_frame
from modules.projects.views import ProjectView
from modules.tasks import services
from modules.tasks.ui_card import TaskCardElement
from modules.tasks.ui_parts import (
    add_board_css,
    filter_query,
    filters_from_query,
    path_int,
    priority_labels,
    read,
    today_for,
    with_query,
)
from modules.tasks.views import Board, Column, TaskFilter

PER_COLUMN = 50


def register() -> None:
    """Register the board page."""
    protected_page('/projects/{id}/board', permission='tasks.use')(board_page)


def board_page(ctx: PageContext) -> Response | None:
    """The board of one project, filtered by the query string."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    filters = filters_from_query(ctx.query, project.id)
    board, labels, people = read(
        ctx.user,
        lambda s, a: (
            services.board(session=s, actor=a, project_id=project.id, filters=filters, per_column=PER_COLUMN),
            services.list_labels(session=s, actor=a, project_id=project.id),
            project_members.list_members(session=s, actor=a, project_id=project.id),
        ),
    )
    add_board_css()
    with project_frame(ctx, project, 'board'):
        filter_bar(
            project,
            filters,
            {person.user_id: person.display_name for person in people},
            {label.id: label.name for label in labels},
        )
        BoardUI(project, board, filters, today_for(ctx.user)).build()
    return None


def filter_bar(project: ProjectView, filters: TaskFilter, people: dict[int, str], labels: dict[int, str]) -> None:
    """Assignee, label, priority and text filters; every change reloads the page with the new query string."""
    path = f'/projects/{project.id}/board'
    current = filter_query(filters)

    def go(key: str, value: Any) -> None:
        pairs = dict(current)
        pairs.pop(key, None)
        if value not in (None, ''):
            pairs[key] = str(value)
        ui.navigate.to(with_query(path, pairs))

    with ui.row().classes('items-center gap-2 w-full'):
        ui.select({0: _('Anyone'), **people}, label=_('Assignee'), value=filters.assignee_id or 0).props(
            'dense outlined options-dense'
        ).classes('w-44').on_value_change(lambda e: go('assignee', e.value or None)).mark('filter-assignee')
        ui.select({0: _('Any label'), **labels}, label=_('Label'), value=filters.label_id or 0).props(
            'dense outlined options-dense'
        ).classes('w-40').on_value_change(lambda e: go('label', e.value or None)).mark('filter-label')
        ui.select(
            {'': _('Any priority'), **priority_labels()}, label=_('Priority'), value=filters.priority or ''
        ).props('dense outlined options-dense').classes('w-40').on_value_change(lambda e: go('priority', e.value)).mark(
            'filter-priority'
        )
        text = ui.input(_('Find'), value=filters.text).props('dense outlined clearable').classes('w-52')
        text.on('keydown.enter', lambda: go('q', (text.value or '').strip()))
        text.on('clear', lambda: go('q', ''))
        text.mark('filter-text')
        if current:
            ui.button(_('Clear filters'), icon='filter_alt_off', on_click=lambda: ui.navigate.to(path)).props(
                'flat dense'
            ).mark('clear-filters')


class BoardUI:
    """The columns of one board and what happens when cards move."""

    def __init__(self, project: ProjectView, board: Board, filters: TaskFilter, today: date) -> None:
        self.project = project
        self.board = board
        self.filters = filters
        self.today = today
        self.can_edit = board.can_edit and project.can_edit
        self.statuses = [column.status for column in board.columns]
        self.containers: dict[int, ui.column] = {}  # status id -> the element holding its cards
        self.status_of_container: dict[int, int] = {}  # container element id -> status id
        self.totals: dict[int, int] = {}
        self.counts: dict[int, ui.label] = {}
        self.more: dict[int, ui.button] = {}
        self.dialog = ui.dialog()

    # --- building ---------------------------------------------------------------------------------------------

    def build(self) -> None:
        """Draw every column with its first cards."""
        board_classes = 'tk-board' + (' tk-draggable' if self.can_edit else '')
        with ui.element('div').classes(board_classes).mark('board'):
            for column in self.board.columns:
                self.build_column(column)

    def build_column(self, column: Column) -> None:
        """One column: its name and count, the quick-add field, the cards and a "show more" button."""
        status = column.status
        closed_label = _('Closed')
        with ui.element('div').classes('tk-column').props(f'id=column-{status.id}').mark(f'column-{status.id}'):
            with ui.row().classes('items-center gap-1 w-full no-wrap'):
                ui.label(status.name).classes('font-medium truncate')
                if status.is_closed:
                    ui.icon('check_circle', size='xs').classes('text-green-7').props(f'aria-label="{closed_label}"')
                self.counts[status.id] = ui.label().classes('text-xs text-grey-7 ml-auto').mark(f'count-{status.id}')
            if self.can_edit:
                self.quick_add(status.id)
            container = ui.column().classes('tk-cards w-full').mark(f'cards-{status.id}')
            self.containers[status.id] = container
            self.status_of_container[container.id] = status.id
            with container:
                for card in column.cards:
                    TaskCardElement(card, today=self.today, can_move=self.can_edit).on('menu', self.open_menu)
            if self.can_edit:
                container.make_sortable(
                    on_end=self.on_drop,
                    group=f'board-{self.project.id}',
                    ghost_class='tk-ghost',
                    options={'forceFallback': True, 'filter': '.tk-menu, input', 'preventOnFilter': False},
                )
            self.more[status.id] = (
                ui.button(_('Show more'), on_click=lambda sid=status.id: self.show_more(sid))
                .props('flat dense no-caps')
                .classes('w-full')
                .mark(f'more-{status.id}')
            )
        self.totals[status.id] = column.total
        self.update_count(status.id)

    def quick_add(self, status_id: int) -> None:
        """A title field at the top of the column: Enter adds the task at the bottom of this column."""
        field = (ui.input(placeholder=_('New task')).props('dense outlined maxlength=200').classes('w-full')).mark(
            f'quick-add-{status_id}'
        )

        def add() -> None:
            title = (field.value or '').strip()
            if not title:
                return
            created = act(
                lambda s, a: services.create_task(
                    session=s, actor=a, project_id=self.project.id, title=title, status_id=status_id
                ),
                success=_('Task added.'),
            )
            if created is not None:
                field.value = ''
                self.reload_column(status_id, extra=1)

        field.on('keydown.enter', add)

    def cards_in(self, status_id: int) -> list[TaskCardElement]:
        """The cards shown in a column, top to bottom."""
        return [
            child for child in self.containers[status_id].default_slot.children if isinstance(child, TaskCardElement)
        ]

    def update_count(self, status_id: int) -> None:
        """Refresh a column's count and whether it offers more cards."""
        shown, total = len(self.cards_in(status_id)), self.totals[status_id]
        self.counts[status_id].text = str(total)
        self.more[status_id].set_visibility(shown < total)

    def add_cards(self, status_id: int, column: Column) -> None:
        """Append the cards of a column page."""
        with self.containers[status_id]:
            for card in column.cards:
                TaskCardElement(card, today=self.today, can_move=self.can_edit).on('menu', self.open_menu)
        self.totals[status_id] = column.total
        self.update_count(status_id)

    def show_more(self, status_id: int) -> None:
        """Load the next page of a column."""
        offset = len(self.cards_in(status_id))
        column = act(
            lambda s, a: services.column_page(
                session=s,
                actor=a,
                project_id=self.project.id,
                status_id=status_id,
                filters=self.filters,
                offset=offset,
                limit=PER_COLUMN,
            )
        )
        if column is not None:
            self.add_cards(status_id, column)

    def reload_column(self, status_id: int, extra: int = 0) -> None:
        """Draw a column again from the server (after an add, or when a move was refused)."""
        limit = max(PER_COLUMN, len(self.cards_in(status_id)) + extra)
        column = act(
            lambda s, a: services.column_page(
                session=s,
                actor=a,
                project_id=self.project.id,
                status_id=status_id,
                filters=self.filters,
                offset=0,
                limit=limit,
            )
        )
        if column is not None:
            self.containers[status_id].clear()
            self.add_cards(status_id, column)

    # --- moving -----------------------------------------------------------------------------------------------

    def persist(self, card: TaskCardElement, source: int, target: int, after_id: int | None) -> bool:
        """Save a move; on refusal, draw the columns involved again as the server has them."""
        moved = attempt(
            lambda s, a: services.move_task(
                session=s, actor=a, task_id=card.task_id, status_id=target, after_id=after_id
            )
        )
        if not moved:
            for status_id in {source, target}:
                self.reload_column(status_id)
            return False
        if source != target:
            self.totals[source] -= 1
            self.totals[target] += 1
            self.update_count(source)
            self.update_count(target)
        return True

    def on_drop(self, event: events.SortableEventArguments) -> None:
        """A card was dropped: the card above its new place is the one it goes after."""
        card = event.item
        if not isinstance(card, TaskCardElement):
            return
        source = self.status_of_container.get(event.source.id)
        target = self.status_of_container.get(event.target.id)
        if source is None or target is None or (source == target and event.old_index == event.new_index):
            return
        others = [c for c in self.cards_in(target) if c is not card]
        after = others[event.new_index - 1].task_id if 0 < event.new_index <= len(others) else None
        self.persist(card, source, target, after)

    def move_card(self, card: TaskCardElement, target: int, index: int) -> None:
        """Move a card from its menu to position `index` of column `target`."""
        parent = card.parent_slot.parent if card.parent_slot else None
        source = self.status_of_container.get(parent.id) if parent is not None else None
        if source is None:
            return
        others = [c for c in self.cards_in(target) if c is not card]
        index = max(0, min(index, len(others)))
        after = others[index - 1].task_id if index > 0 else None
        if self.persist(card, source, target, after):
            card.move(target_container=self.containers[target], target_index=index)
            self.update_count(target)
        self.dialog.close()

    def open_menu(self, event: events.GenericEventArguments) -> None:
        """The move menu of one card: other columns, up, down."""
        card = event.sender
        if not isinstance(card, TaskCardElement) or card.parent_slot is None:
            return
        source = self.status_of_container[card.parent_slot.parent.id]
        siblings = self.cards_in(source)
        index = siblings.index(card)
        ref = card.props['task']['ref']
        self.dialog.clear()
        with self.dialog, ui.card().classes('min-w-64').mark('move-menu'):
            ui.label(_('Move {ref}', ref=ref)).classes('font-medium')
            with ui.row().classes('gap-1'):
                ui.button(
                    _('Move up'), icon='arrow_upward', on_click=lambda: self.move_card(card, source, index - 1)
                ).props('flat dense no-caps' + (' disable' if index == 0 else '')).mark('move-up')
                ui.button(
                    _('Move down'), icon='arrow_downward', on_click=lambda: self.move_card(card, source, index + 1)
                ).props('flat dense no-caps' + (' disable' if index >= len(siblings) - 1 else '')).mark('move-down')
            ui.label(_('Move to')).classes('text-sm text-grey-7')
            for status in self.statuses:
                if status.id != source:
                    ui.button(status.name, on_click=lambda sid=status.id: self.move_card(card, sid, 0)).props(
                        'flat dense no-caps align=left'
                    ).classes('w-full').mark(f'move-to-{status.id}')
            ui.button(_('Cancel'), on_click=self.dialog.close).props('flat dense')
        self.dialog.open()
