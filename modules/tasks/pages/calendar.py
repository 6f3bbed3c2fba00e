"""Month calendars of due dates: everyone's visible tasks (/tasks/calendar) and one project's."""

from __future__ import annotations

import calendar as pycalendar
from datetime import date, timedelta

from babel.dates import format_skeleton, get_day_names
from fastapi.responses import Response
from nicegui import ui

from appliance.i18n import _, language
from appliance.ui.actions import read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, path_int, protected_page
from modules.projects.extensions import open_project, project_frame
from modules.tasks import services
from modules.tasks.pages.parts.calendar_feed import feed_panel
from modules.tasks.pages.parts.display import add_board_css, today_for
from modules.tasks.pages.parts.filters import with_query
from modules.tasks.services import task_url
from modules.tasks.views import TaskCard

PER_DAY = 6


def register() -> None:
    """Register both calendars."""
    protected_page('/tasks/calendar', permission='tasks.use')(calendar_page)
    protected_page('/projects/{id}/calendar', permission='tasks.use')(project_calendar_page)


def month_of(query: dict[str, str], today: date) -> date:
    """The first day of the month the query asks for (?month=2026-11), else of this month."""
    text = query.get('month', '')
    try:
        year, month = (int(part) for part in text.split('-'))
        if 1 <= month <= 12 and 1900 < year < 3000:
            return date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def shift(first: date, months: int) -> date:
    """The first day of the month `months` away."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def calendar_page(ctx: PageContext) -> None:
    """Due dates of every task the reader can see (or only theirs), and the iCalendar feed panel."""
    today = today_for(ctx.user)
    first = month_of(ctx.query, today)
    mine = ctx.query.get('mine') == '1'
    days, feed = await read(
        ctx.user,
        lambda s, a: (
            services.calendar(session=s, actor=a, year=first.year, month=first.month, mine_only=mine),
            services.feed_status(session=s, actor=a),
        ),
    )
    add_board_css()
    with frame(ctx, _('Calendar')):
        extra = {'mine': '1'} if mine else {}
        month_grid('/tasks/calendar', first, today, days, extra)
        ui.switch(
            _('Only my tasks'),
            value=mine,
            on_change=lambda e: ui.navigate.to(
                with_query('/tasks/calendar', {'month': first.strftime('%Y-%m'), **({'mine': '1'} if e.value else {})})
            ),
        ).mark('only-mine')
        feed_panel(ctx.user, feed)


async def project_calendar_page(ctx: PageContext) -> Response | None:
    """One project's due dates."""
    project = await open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    today = today_for(ctx.user)
    first = month_of(ctx.query, today)
    days = await read(
        ctx.user,
        lambda s, a: services.calendar(session=s, actor=a, year=first.year, month=first.month, project_id=project.id),
    )
    add_board_css()
    with project_frame(ctx, project, 'calendar'):
        month_grid(f'/projects/{project.id}/calendar', first, today, days, {})
    return None


def month_grid(path: str, first: date, today: date, days: dict[date, list[TaskCard]], extra: dict[str, str]) -> None:
    """Weeks from Monday, the month's tasks as small links in their due day, today outlined; on a phone the same
    month as an agenda (the days that have tasks, in a list), since seven columns of 50 px hold no title."""
    lang = language()
    with ui.row().classes('items-center gap-2 no-wrap'):
        ui.button(icon='chevron_left', on_click=lambda: ui.navigate.to(month_url(path, shift(first, -1), extra))).props(
            'flat dense round'
        ).mark('previous-month')
        ui.label(format_skeleton('yMMMM', first, locale=lang)).classes('text-lg font-medium w-40 text-center').mark(
            'month-title'
        )
        ui.button(icon='chevron_right', on_click=lambda: ui.navigate.to(month_url(path, shift(first, 1), extra))).props(
            'flat dense round'
        ).mark('next-month')
        ui.button(_('Today'), on_click=lambda: ui.navigate.to(month_url(path, today.replace(day=1), extra))).props(
            'flat dense no-caps'
        )
    names = get_day_names('abbreviated', locale=lang)  # 0 = Monday
    start = first - timedelta(days=first.weekday())
    weeks = len(pycalendar.Calendar(firstweekday=0).monthdayscalendar(first.year, first.month))
    with ui.element('div').classes('tk-cal-grid gap-px w-full bg-slate-200 border').mark('calendar'):
        for weekday in range(7):
            ui.label(names[weekday]).classes('bg-white text-center text-xs text-grey-7 py-1')
        for offset in range(weeks * 7):
            day = start + timedelta(days=offset)
            day_cell(day, day.month == first.month, day == today, days.get(day, []))
    agenda(first, today, days)


def day_cell(day: date, in_month: bool, is_today: bool, cards: list[TaskCard]) -> None:
    """One day of the grid."""
    classes = 'bg-white p-1 min-h-24 flex flex-col gap-0.5 min-w-0 overflow-hidden' + (
        '' if in_month else ' opacity-50'
    )
    if is_today:
        classes += ' tk-cal-today'
    with ui.element('div').classes(classes).mark(f'day-{day.isoformat()}' + (' today' if is_today else '')):
        ui.label(str(day.day)).classes('text-xs' + (' font-bold text-primary' if is_today else ' text-grey-7'))
        for card in cards[:PER_DAY]:
            link = ui.link(f'{card.ref} {card.title}', task_url(card.id)).classes('text-xs truncate block max-w-full')
            link.mark(f'cal-task-{card.id}')
            if card.closed:
                link.classes('line-through text-grey-6')
        if len(cards) > PER_DAY:
            ui.label(_('+{count} more', count=len(cards) - PER_DAY)).classes('text-xs text-grey-7')


def agenda(first: date, today: date, days: dict[date, list[TaskCard]]) -> None:
    """The month's days with tasks due, one under the other, every task of the day (shown at phone width)."""
    lang = language()
    dated = sorted((day, cards) for day, cards in days.items() if day.year == first.year and day.month == first.month)
    with ui.element('div').classes('tk-cal-agenda w-full flex-col gap-3').mark('agenda'):
        if not dated:
            ui.label(_('Nothing is due this month.')).classes('text-grey-7')
        for day, cards in dated:
            with ui.column().classes('w-full gap-1').mark(f'agenda-{day.isoformat()}'):
                heading = format_skeleton('MMMEd', day, locale=lang)
                if day == today:
                    heading = _('{day} (today)', day=heading)
                ui.label(heading).classes('text-sm font-medium' + (' text-primary' if day == today else ''))
                for card in cards:
                    link = ui.link(f'{card.ref} {card.title}', task_url(card.id)).classes('text-sm break-words')
                    if card.closed:
                        link.classes('line-through text-grey-6')


def month_url(path: str, first: date, extra: dict[str, str]) -> str:
    """The calendar of another month."""
    return with_query(path, {'month': first.strftime('%Y-%m'), **extra})
