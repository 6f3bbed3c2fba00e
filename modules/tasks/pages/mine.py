"""My tasks: the reader's open assigned tasks across every project they can see, by due date."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import read
from appliance.ui.buttons import download_button
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page
from modules.tasks import services
from modules.tasks.pages.parts.display import priority_labels, today_for
from modules.tasks.services import task_url
from modules.tasks.views import TaskCard

SHOWN = 20  # rows drawn per section at first; the rest on request


def register() -> None:
    """Register /tasks/mine."""
    protected_page('/tasks/mine', permission='tasks.use')(mine_page)


def bucket_titles() -> list[tuple[str, str]]:
    """The sections in order: (service key, heading)."""
    return [
        ('overdue', _('Overdue')),
        ('today', _('Today')),
        ('week', _('Next 7 days')),
        ('later', _('Later')),
        ('undated', _('No due date')),
    ]


def task_row(card: TaskCard, *, overdue: bool = False) -> None:
    """One line: id and title (a link to the task), status, priority, due date."""
    with ui.row().classes('items-center gap-3 w-full no-wrap').mark(f'mine-{card.id}'):
        ui.link(f'{card.ref} {card.title}', task_url(card.id)).classes('grow truncate')
        ui.label(card.status_name).classes('text-xs text-grey-7')
        if card.priority in ('high', 'urgent'):
            ui.badge(priority_labels()[card.priority], color='orange-8' if card.priority == 'high' else 'red-8')
        if card.due_date:
            ui.label(card.due_date.isoformat()).classes('text-sm' + (' text-negative font-medium' if overdue else ''))


def show_rest(rows: ui.column, rest: list[TaskCard], *, overdue: bool) -> ui.button:
    """A button that draws the rest of a long section when asked (a busy person's page stays light)."""

    def draw() -> None:
        with rows:
            for card in rest:
                task_row(card, overdue=overdue)
        button.delete()

    button = ui.button(_('Show {n} more', n=len(rest)), on_click=draw).props('flat dense no-caps')
    return button


async def mine_page(ctx: PageContext) -> None:
    """The five sections; empty ones say so briefly."""
    today = today_for(ctx.user)
    buckets = await read(ctx.user, lambda s, a: services.my_tasks(session=s, actor=a, today=today))
    with frame(ctx, _('My tasks')):
        download_button(_('Export CSV'), '/api/v1/tasks.csv?assignee=me&open_only=true&sort=due').mark('export-csv')
        if not any(buckets.values()):
            ui.label(_('Nothing is assigned to you. Enjoy the calm.')).classes('text-grey-7').mark('mine-empty')
        for key, title in bucket_titles():
            cards = buckets.get(key, [])
            with ui.card().classes('w-full gap-1').mark(f'bucket-{key}'):
                with ui.row().classes('items-center gap-2'):
                    ui.label(title).classes('font-medium' + (' text-negative' if key == 'overdue' and cards else ''))
                    ui.badge(str(len(cards)), color='grey-6').mark(f'bucket-count-{key}')
                rows = ui.column().classes('w-full gap-1')
                with rows:
                    for card in cards[:SHOWN]:
                        task_row(card, overdue=key == 'overdue')
                if len(cards) > SHOWN:
                    show_rest(rows, cards[SHOWN:], overdue=key == 'overdue').mark(f'bucket-more-{key}')
                if not cards:
                    ui.label(_('None.')).classes('text-sm text-grey-7')
