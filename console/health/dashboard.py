"""The console's card on an admin's home page: the box's health in one line, from the checks' stored states."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from appliance.extensions import Status
from appliance.i18n import _, format_datetime
from appliance.models import User
from appliance.modules import CardContent, DashboardCard
from console.health.services import stored_states


def health_summary(session: Session, actor: User, today: date) -> CardContent:
    """One sentence for the worst state the scheduler's last evaluation found (no check runs here)."""
    states = stored_states(session)
    worst = Status.worst(state.status for state in states) if states else None
    red = sum(state.status == Status.RED for state in states)
    amber = sum(state.status == Status.AMBER for state in states)
    if worst is None:
        summary, tone = _('The health checks have not run yet.'), 'amber'
    elif worst == Status.RED:
        summary, tone = _('Needs action now. Failing: {red} · to look at soon: {amber}', red=red, amber=amber), 'red'
    elif worst == Status.AMBER:
        summary, tone = _('Everything works. To look at soon: {amber}', amber=amber), 'amber'
    else:
        summary, tone = _('Everything works; every check passes.'), 'green'
    checked = max((state.since for state in states), default=None)
    return CardContent(
        title=_('Health of this box'),
        summary=summary,
        tone=tone,
        href='/console',
        more=_('Open the console'),
        empty=_('Last change: {when}', when=format_datetime(checked)) if checked else '',
    )


CARDS = (DashboardCard('console.health', 'console.manage', health_summary, order=5),)
