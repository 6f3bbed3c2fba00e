"""The tasks module's card on the home page: my open tasks that are overdue or due within a week."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from appliance.i18n import _, format_day
from appliance.models import User
from appliance.modules import CardContent, CardLine, DashboardCard
from modules.tasks.services import due_soon, task_url

SHOWN = 8


def my_due_tasks(session: Session, actor: User, today: date) -> CardContent:
    """Overdue first (oldest first), then today's and the next seven days', by due date."""
    found = due_soon(session=session, actor=actor, today=today, limit=SHOWN)
    lines = []
    for card in found.tasks:
        late = card.due_date < today
        if late:
            caption = _('Overdue since {date}', date=format_day(card.due_date))
        else:
            caption = _('Due today') if card.due_date == today else _('Due {date}', date=format_day(card.due_date))
        lines.append(CardLine(f'{card.ref} · {card.title}', task_url(card.id), caption, 'red' if late else ''))
    summary = _('Overdue: {overdue} · due within a week: {soon}', overdue=found.overdue, soon=found.soon)
    return CardContent(
        title=_('My tasks due soon'),
        lines=tuple(lines),
        summary=summary if lines else '',
        tone='red' if found.overdue else '',
        href='/tasks/mine',
        more=_('All my tasks'),
        empty=_('Nothing overdue and nothing due this week.'),
    )


CARDS = (DashboardCard('tasks.due_soon', 'tasks.use', my_due_tasks, order=10),)
