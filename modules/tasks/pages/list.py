"""The list view of a project's tasks: filters in the query string, sortable columns, 50 rows a page, CSV."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from nicegui import events, ui
from sqlalchemy.orm import Session

from appliance.errors import ServiceError
from appliance.i18n import _, translate_error
from appliance.services.paging import Page
from appliance.ui.actions import act
from appliance.ui.buttons import download_button
from appliance.ui.guard import PageContext, path_int, protected_page
from modules.projects import services as project_services
from modules.projects.extensions import open_project_with, project_frame
from modules.projects.views import MemberView, ProjectView
from modules.tasks import services
from modules.tasks.pages.parts.csv_import import import_dialog
from modules.tasks.pages.parts.display import priority_labels
from modules.tasks.pages.parts.filters import filter_query, filters_from_query, with_query
from modules.tasks.services import task_url
from modules.tasks.views import LabelView, StatusView, TaskCard, TaskFilter

PAGE_SIZE = 50
# Table column -> the services' sort key.
SORT_KEYS = {'ref': 'ref', 'title': 'title', 'status': 'position', 'priority': 'priority', 'due': 'due'}


def register() -> None:
    """Register the list page."""
    protected_page('/projects/{id}/tasks', permission='tasks.use')(list_page)


async def list_page(ctx: PageContext) -> Response | None:
    """A project's tasks as a table."""
    filters = filters_from_query(ctx.query, path_int())

    def load(
        s: Session, project: ProjectView
    ) -> tuple[list[StatusView], list[LabelView], list[MemberView], Page[TaskCard] | ServiceError]:
        statuses = services.list_statuses(session=s, actor=ctx.user, project_id=project.id)
        labels = services.list_labels(session=s, actor=ctx.user, project_id=project.id)
        people = project_services.list_members(session=s, actor=ctx.user, project_id=project.id)
        try:
            first: Page[TaskCard] | ServiceError = services.list_tasks(
                session=s, actor=ctx.user, filters=filters, offset=0, limit=PAGE_SIZE
            )
        except ServiceError as error:  # filters the services refuse (say, "due from" after "due to"): said below
            first = error
        return statuses, labels, people, first

    # One read-only snapshot with the project for everything the page shows first (the columns of a project nobody
    # opened yet are made in a short write of their own, ensure_workflow); the table asks for its later pages.
    opened = await open_project_with(ctx, path_int(), load)
    if isinstance(opened, Response):
        return opened
    project, (statuses, labels, people, first) = opened
    if isinstance(first, ServiceError):
        ui.notify(translate_error(first), type='negative')
    with project_frame(ctx, project, 'list'):
        list_filters(
            project,
            filters,
            {s.id: s.name for s in statuses},
            {p.user_id: p.display_name for p in people},
            {label.id: label.name for label in labels},
        )
        task_table(filters, None if isinstance(first, ServiceError) else first)
    return None


def list_filters(
    project: ProjectView, filters: TaskFilter, statuses: dict[int, str], people: dict[int, str], labels: dict[int, str]
) -> None:
    """Every filter of the list; Apply reloads the page with them in the query string (so a reload keeps them)."""
    path = f'/projects/{project.id}/tasks'
    with ui.row().classes('items-end gap-2 w-full'):
        status = ui.select({0: _('Any status'), **statuses}, label=_('Status'), value=(filters.status_ids or (0,))[0])
        assignee = ui.select({0: _('Anyone'), **people}, label=_('Assignee'), value=filters.assignee_id or 0)
        label = ui.select({0: _('Any label'), **labels}, label=_('Label'), value=filters.label_id or 0)
        priority = ui.select(
            {'': _('Any priority'), **priority_labels()}, label=_('Priority'), value=filters.priority or ''
        )
        for element, marker in ((status, 'status'), (assignee, 'assignee'), (label, 'label'), (priority, 'priority')):
            element.props('dense outlined options-dense').classes('w-40').mark(f'filter-{marker}')
        due_from = ui.input(_('Due from'), value=filters.due_from.isoformat() if filters.due_from else '')
        due_to = ui.input(_('Due to'), value=filters.due_to.isoformat() if filters.due_to else '')
        for field, marker in ((due_from, 'due-from'), (due_to, 'due-to')):
            field.props('type=date dense outlined stack-label').classes('w-40').mark(f'filter-{marker}')
        text = ui.input(_('Find'), value=filters.text).props('dense outlined clearable').classes('w-48')
        text.mark('filter-text')

        def apply() -> None:
            pairs: dict[str, Any] = {
                'status': status.value or '',
                'assignee': assignee.value or '',
                'label': label.value or '',
                'priority': priority.value or '',
                'due_from': due_from.value or '',
                'due_to': due_to.value or '',
                'q': (text.value or '').strip(),
            }
            if filters.sort != 'position':
                pairs['sort'] = filters.sort
            if filters.descending:
                pairs['desc'] = '1'
            ui.navigate.to(with_query(path, {key: str(value) for key, value in pairs.items() if value}))

        text.on('keydown.enter', apply)
        ui.button(_('Apply'), icon='filter_alt', on_click=apply).props('unelevated dense').mark('apply-filters')
        ui.button(_('Clear'), on_click=lambda: ui.navigate.to(path)).props('flat dense').mark('clear-filters')
        ui.space()
        export = with_query('/api/v1/tasks/export.csv', {'project_id': str(project.id), **filter_query(filters)})
        download_button(_('Export CSV'), export).mark('export-csv')
        if project.can_edit:
            ui.button(_('Import CSV'), icon='upload_file', on_click=lambda: import_dialog(project.id)).props(
                'flat dense no-caps'
            ).mark('import-csv')


def row_of(card: TaskCard, priorities: dict[str, str]) -> dict[str, Any]:
    """A table row for a task (`priorities`: their names in the reader's language)."""
    return {
        'id': card.id,
        'ref': card.ref,
        'title': card.title,
        'status': card.status_name,
        'priority': priorities.get(card.priority, card.priority),
        'due': card.due_date.isoformat() if card.due_date else '',
        'assignees': ', '.join(person.display_name for person in card.assignees),
        'labels': ', '.join(label.name for label in card.labels),
        'url': task_url(card.id),
    }


async def fetch_page(filters: TaskFilter, page: int) -> Page[TaskCard] | None:
    """One page of the table (None when refused: the reason is shown)."""
    offset = (page - 1) * PAGE_SIZE
    return await act(
        lambda s, a: services.list_tasks(session=s, actor=a, filters=filters, offset=offset, limit=PAGE_SIZE)
    )


def task_table(filters: TaskFilter, first: Page[TaskCard] | None) -> None:
    """The table, showing `first` (page 1): the server sorts and pages (Quasar asks through the 'request' event)."""
    columns: list[dict[str, Any]] = [
        {'name': 'ref', 'label': _('Id'), 'field': 'ref', 'align': 'left', 'sortable': True},
        {'name': 'title', 'label': _('Title'), 'field': 'title', 'align': 'left', 'sortable': True},
        {'name': 'status', 'label': _('Status'), 'field': 'status', 'align': 'left', 'sortable': True},
        {'name': 'priority', 'label': _('Priority'), 'field': 'priority', 'align': 'left', 'sortable': True},
        {'name': 'due', 'label': _('Due'), 'field': 'due', 'align': 'left', 'sortable': True},
        {'name': 'assignees', 'label': _('Assignees'), 'field': 'assignees', 'align': 'left'},
        {'name': 'labels', 'label': _('Labels'), 'field': 'labels', 'align': 'left'},
    ]
    sort_by = next((name for name, key in SORT_KEYS.items() if key == filters.sort and name != 'status'), None)
    state: dict[str, Any] = {'page': 1, 'sort': filters.sort, 'descending': filters.descending, 'sort_by': sort_by}
    table = ui.table(columns=columns, rows=[], row_key='id', pagination={'rowsPerPage': PAGE_SIZE, 'page': 1})
    table.classes('w-full').props('flat bordered binary-state-sort').mark('task-table')
    table.add_slot(
        'body-cell-title',
        '<q-td :props="props"><a :href="props.row.url" class="text-primary">{{ props.value }}</a></q-td>',
    )

    def show(page: Page[TaskCard] | None) -> None:
        if page is None:
            return
        priorities = priority_labels()
        # A tuple: NiceGUI keeps lists and dicts of props as observables (several objects per row), not tuples;
        # nothing here changes the rows in place, every page replaces them.
        table.rows = tuple(row_of(card, priorities) for card in page.items)  # type: ignore[assignment]
        table.pagination = {
            'rowsPerPage': PAGE_SIZE,
            'page': state['page'],
            'rowsNumber': page.total,
            'sortBy': state['sort_by'],
            'descending': state['descending'],
        }

    async def on_request(event: events.GenericEventArguments) -> None:
        pagination = (event.args or {}).get('pagination', {})
        sort_by = pagination.get('sortBy')
        state['page'] = max(1, int(pagination.get('page') or 1))
        state['sort_by'] = sort_by if sort_by in SORT_KEYS else None
        state['sort'] = SORT_KEYS.get(sort_by or '', 'position')
        state['descending'] = bool(pagination.get('descending'))
        asked = dict(state)
        current = TaskFilter(**{**filters.__dict__, 'sort': state['sort'], 'descending': state['descending']})
        page = await fetch_page(current, state['page'])
        if state == asked:  # else the reader asked for another page meanwhile: that answer is shown instead
            show(page)

    table.on('request', on_request)
    show(first)
