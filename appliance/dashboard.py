"""The core's card on everyone's home page: unread notifications."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from appliance.i18n import _, format_ago
from appliance.models import User
from appliance.modules import CardContent, CardLine, DashboardCard
from appliance.services.notifications import list_views, safe_local_url

SHOWN = 5


def unread_notifications(session: Session, actor: User, today: date) -> CardContent:
    """The newest unread notifications, each leading to what it is about."""
    page = list_views(session, user=actor, unread_only=True, limit=SHOWN)
    lines = tuple(CardLine(view.text, safe_local_url(view.url), format_ago(view.created_at)) for view in page.items)
    return CardContent(
        title=_('Unread notifications'),
        lines=lines,
        summary=_('Unread: {count}', count=page.total) if page.total > SHOWN else '',
        href='/notifications',
        more=_('All notifications'),
        empty=_('You have read everything.'),
    )


CARDS = (DashboardCard('core.notifications', '', unread_notifications, order=20),)
