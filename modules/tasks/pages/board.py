"""The kanban board of a project: columns in workflow order, cards that drag within and between columns.

The whole board is one element (parts.card.BoardElement, a local Vue component fed with plain JSON), so a board of
150 cards costs about what one card element did. Dragging uses SortableJS as bundled by NiceGUI (nothing
downloaded) in its pointer-event mode (`forceFallback`), which works with a mouse, a finger and browser automation
alike. Every card also has a menu (a keyboard-reachable button) to move it to another column or up and down.
Columns load 50 cards at a time.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from fastapi.responses import Response
from nicegui import events, ui
from sqlalchemy.orm import Session

from appliance.i18n import _
from appliance.ui.actions import act, attempt
from appliance.ui.guard import PageContext, path_int, protected_page
from modules.projects import services as project_services
from modules.projects.extensions import open_project_with, project_frame
from modules.projects.views import MemberView, ProjectView
from modules.tasks import services
from modules.tasks.pages.parts.card import BoardElement, CardData, CardMaker, ColumnData
from modules.tasks.pages.parts.display import add_board_css, priority_labels, today_for
from modules.tasks.pages.parts.filter_bar import FilterBar, select_field, text_field
from modules.tasks.pages.parts.filters import filter_query, filters_from_query
from modules.tasks.views import Board, Column, LabelView, TaskFilter

PER_COLUMN = 50
People = list[MemberView]


def register() -> None:
    """Register the board page."""
    protected_page('/projects/{id}/board', permission='tasks.use')(board_page)


async def board_page(ctx: PageContext) -> Response | None:
    """The board of one project, filtered by the query string."""
    filters = filters_from_query(ctx.query, path_int())
    today = today_for(ctx.user)

    def load(s: Session, project: ProjectView) -> tuple[Board, dict[int, list[CardData]], list[LabelView], People]:
        board = services.board(session=s, actor=ctx.user, project_id=project.id, filters=filters, per_column=PER_COLUMN)
        # The cards' JSON is made here too, on the database thread: the event loop only builds the page.
        maker = CardMaker(today, can_move=board.can_edit and project.can_edit)
        cards = {column.status.id: [maker(card) for card in column.cards] for column in board.columns}
        labels = services.list_labels(session=s, actor=ctx.user, project_id=project.id)
        return board, cards, labels, project_services.list_members(session=s, actor=ctx.user, project_id=project.id)

    # One read-only snapshot with the project (the columns of a project nobody opened yet are made in a short write
    # of their own, ensure_workflow).
    opened = await open_project_with(ctx, path_int(), load)
    if isinstance(opened, Response):
        return opened
    project, (board, cards, labels, people) = opened
    add_board_css()
    with project_frame(ctx, project, 'board'):
        filter_bar(
            project,
            filters,
            {person.user_id: person.display_name for person in people},
            {label.id: label.name for label in labels},
        )
        BoardUI(project, board, filters, today).build(board, cards)
    return None


def filter_bar(project: ProjectView, filters: TaskFilter, people: dict[int, str], labels: dict[int, str]) -> None:
    """Assignee, label, priority and text filters; every change reloads the page with the new query string."""
    current = filter_query(filters)
    fields = [
        select_field('assignee', _('Assignee'), {0: _('Anyone'), **people}, filters.assignee_id or 0, 'w-44'),
        select_field('label', _('Label'), {0: _('Any label'), **labels}, filters.label_id or 0, 'w-40'),
        select_field(
            'priority', _('Priority'), {'': _('Any priority'), **priority_labels()}, filters.priority or '', 'w-40'
        ),
        text_field('q', _('Find'), filters.text, 'w-52'),
    ]
    FilterBar(f'/projects/{project.id}/board', current, fields, clear=_('Clear filters') if current else '').mark(
        'board-filters'
    )


def int_arg(args: Any, key: str) -> int | None:
    """An integer from an event's arguments; None when it is missing or not an integer."""
    value = args.get(key) if isinstance(args, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class BoardUI:
    """The board element of one project and what happens when its cards move.

    The server keeps the cards each column shows (`cards`, plain dicts as the component gets them) and sends the
    columns again after every change, so the client always ends up with the server's order. The handlers that
    change `cards` take turns (`changing`): each works from the columns the previous one left. The board read
    itself (its task cards) is not kept: an open page holds only the plain dicts it shows.
    """

    def __init__(self, project: ProjectView, board: Board, filters: TaskFilter, today: date) -> None:
        self.project = project
        self.filters = filters
        self.today = today
        self.can_edit = board.can_edit and project.can_edit
        self.statuses = [column.status for column in board.columns]
        self.cards: dict[int, list[CardData]] = {}  # status id -> the cards its column shows, top to bottom
        self.totals: dict[int, int] = {}  # status id -> how many tasks match in the column
        self.dialog = ui.dialog()
        self.element: BoardElement | None = None
        self.card_data = CardMaker(today, can_move=self.can_edit)
        self.changing = asyncio.Lock()

    # --- building ---------------------------------------------------------------------------------------------

    def build(self, board: Board, cards: dict[int, list[CardData]] | None = None) -> None:
        """Draw every column of `board` with its first cards (their JSON as `load` made it, or made here): one
        element for the whole board."""
        for column in board.columns:
            if cards is None:
                self.set_cards(column.status.id, column)
            else:
                self.cards[column.status.id] = cards[column.status.id]
                self.totals[column.status.id] = column.total
        element = BoardElement(self.column_data(), editable=self.can_edit, group=f'board-{self.project.id}')
        element.mark('board')
        element.on('more', self.on_more)
        if self.can_edit:
            element.on('move', self.on_move)
            element.on('menu', self.open_menu)
            element.on('add', self.on_add)
        self.element = element

    def set_cards(self, status_id: int, column: Column, *, append: bool = False) -> None:
        """Take a column (page) from the server: its cards replace or extend the shown ones."""
        cards = [self.card_data(card) for card in column.cards]
        self.cards[status_id] = self.cards.get(status_id, []) + cards if append else cards
        self.totals[status_id] = column.total

    def column_data(self) -> list[ColumnData]:
        """The `columns` prop: every column with its name, count and shown cards."""
        return [
            {
                'id': status.id,
                'name': status.name,
                'closed': status.is_closed,
                'total': self.totals[status.id],
                'cards': self.cards[status.id],
            }
            for status in self.statuses
        ]

    def publish(self) -> None:
        """Send the columns to the client."""
        if self.element is not None:
            self.element.set_columns(self.column_data())

    def locate(self, task_id: int) -> tuple[int, int] | None:
        """The column (status id) and index of a shown card."""
        for status_id, cards in self.cards.items():
            for index, card in enumerate(cards):
                if card['id'] == task_id:
                    return status_id, index
        return None

    # --- loading ----------------------------------------------------------------------------------------------

    async def fetch(self, status_id: int, offset: int, limit: int) -> Column | None:
        """A page of one column, filtered like the board."""
        return await act(
            lambda s, a: services.column_page(
                session=s,
                actor=a,
                project_id=self.project.id,
                status_id=status_id,
                filters=self.filters,
                offset=offset,
                limit=limit,
            )
        )

    async def reload_column(self, status_id: int, extra: int = 0) -> None:
        """Take a column again from the server (after an add, or when a move was refused); publish separately."""
        column = await self.fetch(status_id, 0, max(PER_COLUMN, len(self.cards[status_id]) + extra))
        if column is not None:
            self.set_cards(status_id, column)

    async def on_more(self, event: events.GenericEventArguments) -> None:
        """The "Show more" button of a column: load its next page."""
        status_id = int_arg(event.args, 'status_id')
        if status_id not in self.cards:
            return
        async with self.changing:
            column = await self.fetch(status_id, len(self.cards[status_id]), PER_COLUMN)
            if column is not None:
                self.set_cards(status_id, column, append=True)
                self.publish()

    async def on_add(self, event: events.GenericEventArguments) -> None:
        """A title typed at the top of a column: add the task at the bottom of that column."""
        status_id = int_arg(event.args, 'status_id')
        title = event.args.get('title') if isinstance(event.args, dict) else None
        if status_id not in self.cards or not isinstance(title, str) or not title.strip():
            return
        async with self.changing:
            created = await act(
                lambda s, a: services.create_task(
                    session=s, actor=a, project_id=self.project.id, title=title.strip(), status_id=status_id
                ),
                success=_('Task added.'),
            )
            if created is not None and self.element is not None:
                await self.reload_column(status_id, extra=1)
                self.publish()
                self.element.clear_draft(status_id)

    # --- moving -----------------------------------------------------------------------------------------------

    async def persist(self, task_id: int, target: int, after_id: int | None) -> bool:
        """Save a move and show the result; on refusal, take the columns involved again from the server.
        Called holding `changing`."""
        found = self.locate(task_id)
        moved = await attempt(
            lambda s, a: services.move_task(session=s, actor=a, task_id=task_id, status_id=target, after_id=after_id)
        )
        if not moved or found is None:
            for status_id in {target} | ({found[0]} if found else set()):
                await self.reload_column(status_id)
            self.publish()
            return moved
        source, index = found
        card = self.cards[source].pop(index)
        cards = self.cards[target]
        place = 0 if after_id is None else next((i + 1 for i, c in enumerate(cards) if c['id'] == after_id), None)
        if place is None:  # the card above is not shown here: let the server say where the card went
            await self.reload_column(target)
        else:
            cards.insert(place, card)
        if source != target:
            self.totals[source] -= 1
            self.totals[target] += 1
        self.publish()
        return True

    async def on_move(self, event: events.GenericEventArguments) -> None:
        """A card was dropped: the client says where, as the card above its new place (None at the top)."""
        task_id = int_arg(event.args, 'task_id')
        status_id = int_arg(event.args, 'status_id')
        after_id = int_arg(event.args, 'after_id')
        raw_after = event.args.get('after_id') if isinstance(event.args, dict) else None
        if task_id is None or status_id not in self.cards or (raw_after is not None and after_id is None):
            return
        async with self.changing:
            await self.persist(task_id, status_id, after_id)

    async def move_card(self, task_id: int, target: int, index: int) -> None:
        """Move a card from its menu to position `index` of column `target`."""
        async with self.changing:
            others = [card for card in self.cards[target] if card['id'] != task_id]
            index = max(0, min(index, len(others)))
            after = others[index - 1]['id'] if index > 0 else None
            await self.persist(task_id, target, after)
        self.dialog.close()

    def open_menu(self, event: events.GenericEventArguments) -> None:
        """The move menu of one card: other columns, up, down."""
        task_id = int_arg(event.args, 'task_id')
        found = self.locate(task_id) if task_id is not None else None
        if task_id is None or found is None:
            return
        source, index = found
        siblings = self.cards[source]
        ref = siblings[index]['ref']
        self.dialog.clear()
        with self.dialog, ui.card().classes('min-w-64').mark('move-menu'):
            ui.label(_('Move {ref}', ref=ref)).classes('font-medium')
            with ui.row().classes('gap-1'):
                ui.button(
                    _('Move up'), icon='arrow_upward', on_click=lambda: self.move_card(task_id, source, index - 1)
                ).props('flat dense no-caps' + (' disable' if index == 0 else '')).mark('move-up')
                ui.button(
                    _('Move down'), icon='arrow_downward', on_click=lambda: self.move_card(task_id, source, index + 1)
                ).props('flat dense no-caps' + (' disable' if index >= len(siblings) - 1 else '')).mark('move-down')
            ui.label(_('Move to')).classes('text-sm text-grey-7')
            for status in self.statuses:
                if status.id != source:
                    ui.button(status.name, on_click=lambda sid=status.id: self.move_card(task_id, sid, 0)).props(
                        'flat dense no-caps align=left'
                    ).classes('w-full').mark(f'move-to-{status.id}')
            ui.button(_('Cancel'), on_click=self.dialog.close).props('flat dense')
        self.dialog.open()
