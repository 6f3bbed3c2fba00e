"""Project tabs about time and state: the timeline (Gantt), the activity feed and the settings."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.responses import Response
from nicegui import ui

from appliance import i18n
from appliance.i18n import _
from appliance.ui.actions import act, attempt, read
from appliance.ui.guard import PageContext, forbidden_response, path_int, protected_page
from appliance.ui.table import pager
from modules.projects import services
from modules.projects.extensions import TimelineItem
from modules.projects.pages.parts.frame import open_project, project_frame
from modules.projects.pages.parts.gantt import gantt_height, gantt_options
from modules.projects.pages.projects import activity_list, date_input, parse_date
from modules.projects.services import EDITABLE_STATUSES, STATUS_LABELS, UNSET, VISIBILITY_LABELS
from modules.projects.views import ProjectView

PAGE_SIZE = 50
MAX_TIMELINE_ITEMS = 200  # bars on the chart; the rest are in the list view


def register() -> None:
    """Register the timeline, activity and settings tabs."""
    protected_page('/projects/{id}/timeline', permission='projects.use')(timeline_page)
    protected_page('/projects/{id}/activity', permission='projects.use')(activity_page)
    protected_page('/projects/{id}/settings', permission='projects.use')(settings_page)


def timeline_page(ctx: PageContext) -> Response | None:
    """A Gantt chart of the dated items and milestones, with finish-to-start arrows, and the same as a list."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    data = read(ctx.user, lambda s, a: services.timeline(session=s, actor=a, project_id=project.id))
    with project_frame(ctx, data.project, 'timeline'):
        today = date.today()
        everything = [item for item in data.items if item.start or item.end]
        dated = around(everything, today, MAX_TIMELINE_ITEMS)
        if not dated and not any(m.due_date for m in data.milestones):
            ui.label(_('Nothing on the timeline yet: give items or milestones dates.')).classes('text-grey-7')
        else:
            if len(dated) < len(everything):
                ui.label(
                    _(
                        'Showing the {shown} dated items nearest to today, of {total}.',
                        shown=len(dated),
                        total=len(everything),
                    )
                ).classes('text-sm text-grey-7').mark('timeline-partial')
            options = gantt_options(data.milestones, dated, today)
            height = gantt_height(len(dated), len(data.milestones))
            ui.echart(options).classes('w-full').style(f'height: {height}px').mark('gantt')
        with ui.expansion(_('As a list'), icon='list').classes('w-full').mark('timeline-list'):
            names = {item.id: item.label for item in data.items}
            rows = [
                {
                    'item': item.label,
                    'dates': ' → '.join(d.isoformat() for d in (item.start, item.end) if d),
                    'after': ', '.join(names.get(b, b) for b in item.blocked_by),
                }
                for item in dated
            ]
            rows += [
                {'item': '◆ ' + m.name, 'dates': m.due_date.isoformat() if m.due_date else '', 'after': ''}
                for m in data.milestones
            ]
            columns = [
                {'name': 'item', 'label': _('Item'), 'field': 'item', 'align': 'left'},
                {'name': 'dates', 'label': _('Dates'), 'field': 'dates', 'align': 'left'},
                {'name': 'after', 'label': _('After'), 'field': 'after', 'align': 'left'},
            ]
            ui.table(rows=rows, columns=columns, pagination=50).props('flat dense').classes('w-full')
    return None


def around(items: list[TimelineItem], today: date, limit: int) -> list[TimelineItem]:
    """At most `limit` items, those nearest to today (a chart of thousands of bars helps nobody), in date order."""
    if len(items) <= limit:
        return items

    def distance(item: TimelineItem) -> int:
        start, end = item.start or item.end, item.end or item.start
        assert start is not None and end is not None
        return 0 if start <= today <= end else min(abs((start - today).days), abs((end - today).days))

    chosen = sorted(items, key=distance)[:limit]
    return sorted(chosen, key=lambda item: (item.start or item.end or date.max, item.label))


def activity_page(ctx: PageContext) -> Response | None:
    """The whole feed, newest first, a page at a time."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    state = {'offset': 0}
    with project_frame(ctx, project, 'activity'):

        @ui.refreshable
        def feed() -> None:
            page = read(
                ctx.user,
                lambda s, a: services.list_activity(
                    session=s, actor=a, project_id=project.id, offset=state['offset'], limit=PAGE_SIZE
                ),
            )
            activity_list(ctx, page.items)
            pager(page, move, PAGE_SIZE)

        def move(delta: int) -> None:
            state['offset'] = max(0, state['offset'] + delta)
            feed.refresh()

        feed()
    return None


def settings_page(ctx: PageContext) -> Response | None:
    """Managers edit the project, archive or restore it, and delete it after typing its key."""
    project = open_project(ctx, path_int())
    if isinstance(project, Response):
        return project
    if project.my_role != 'manager':
        return forbidden_response(i18n.language())
    with project_frame(ctx, project, 'settings'):
        if project.status == 'archived':
            ui.label(_('This project is archived. Restore it to change it.')).classes('text-grey-8')
        else:
            edit_form(ctx, project)
        danger_zone(project)
    return None


def edit_form(ctx: PageContext, project: ProjectView) -> None:
    """The project's fields and a save button."""
    members = read_members(ctx, project)
    with ui.card().classes('w-full max-w-2xl').props('flat bordered'):
        name = ui.input(_('Name'), value=project.name).classes('w-full').mark('edit-name')
        description = (
            ui.textarea(_('Description (Markdown)'), value=project.description)
            .classes('w-full')
            .mark('edit-description')
        )
        with ui.row().classes('w-full gap-4'):
            status = (
                ui.select(
                    {key: _(STATUS_LABELS[key]) for key in EDITABLE_STATUSES}, value=project.status, label=_('Status')
                )
                .classes('w-40')
                .mark('edit-status')
            )
            visibility = (
                ui.select(
                    {key: _(label) for key, label in VISIBILITY_LABELS.items()},
                    value=project.visibility,
                    label=_('Who can see it'),
                )
                .classes('grow')
                .mark('edit-visibility')
            )
        with ui.row().classes('w-full gap-4'):
            start = date_input(_('Start'), project.start_date, 'edit-start')
            end = date_input(_('End'), project.end_date, 'edit-end')
            owner = ui.select(members, value=project.owner_id, label=_('Owner')).classes('w-56').mark('edit-owner')

        def save() -> None:
            try:
                start_day, end_day = parse_date(start.value), parse_date(end.value)
            except ValueError:
                ui.notify(_('Write dates as YYYY-MM-DD.'), type='negative')
                return
            saved = act(
                lambda s, a: services.update_project(
                    session=s,
                    actor=a,
                    project_id=project.id,
                    name=name.value or '',
                    description=description.value or '',
                    status=status.value,
                    visibility=visibility.value,
                    start_date=start_day,
                    end_date=end_day,
                    owner_id=owner.value if owner.value else UNSET,
                ),
                success=_('Project saved.'),
            )
            if saved is not None:
                ui.navigate.to(f'/projects/{project.id}/settings')

        ui.button(_('Save'), on_click=save).mark('save-project')


def read_members(ctx: PageContext, project: ProjectView) -> dict[int, str]:
    """{user_id: display name} of the project's members, for the owner choice."""
    views = read(ctx.user, lambda s, a: services.list_members(session=s, actor=a, project_id=project.id))
    return {view.user_id: view.display_name for view in views}


def danger_zone(project: ProjectView) -> None:
    """Archive or restore, and delete behind a dialog that asks for the key."""
    with ui.card().classes('w-full max-w-2xl border-red-300').props('flat bordered'):
        ui.label(_('Archive or delete')).classes('font-medium')
        with ui.row().classes('gap-2'):
            if project.status == 'archived':
                ui.button(_('Restore'), icon='unarchive', on_click=lambda: change('restore')).mark('restore-project')
            else:
                ui.button(_('Archive'), icon='archive', on_click=lambda: change('archive')).props('outline').mark(
                    'archive-project'
                )
            ui.button(_('Delete…'), icon='delete_forever', on_click=lambda: confirm_delete()).props(
                'color=negative outline'
            ).mark('delete-project')

    def change(what: str) -> None:
        fn: Any = services.archive_project if what == 'archive' else services.restore_project
        message = _('Project archived.') if what == 'archive' else _('Project restored.')
        if act(lambda s, a: fn(session=s, actor=a, project_id=project.id), success=message) is not None:
            ui.navigate.to(f'/projects/{project.id}/settings')

    def confirm_delete() -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('Delete this project for good?')).classes('text-lg font-medium')
            warning = _(
                'Everything in it goes too. Only an archived or empty project can be deleted. Type its key, {key}, '
                'to confirm.',
                key=project.key,
            )
            ui.label(warning)
            typed = ui.input(_('Project key')).mark('confirm-key')

            def delete() -> None:
                if attempt(
                    lambda s, a: services.delete_project(
                        session=s, actor=a, project_id=project.id, confirm_key=typed.value or ''
                    ),
                    success=_('Project deleted.'),
                ):
                    dialog.close()
                    ui.navigate.to('/projects')

            with ui.row().classes('justify-end w-full'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')
                ui.button(_('Delete'), on_click=delete).props('color=negative').mark('confirm-delete')
        dialog.open()
