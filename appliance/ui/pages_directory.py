"""The directory every member sees (colleagues, the org chart) and the departments admin."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.i18n import _, format_datetime
from appliance.services import directory
from appliance.services.directory import DepartmentNode
from appliance.ui.actions import act, attempt, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, protected_page
from appliance.ui.table import paged_table

PAGE_SIZE = 25


def register() -> None:
    """Register /directory, /directory/org and /admin/departments."""
    protected_page('/directory', permission=directory.READ)(directory_page)
    protected_page('/directory/org', permission=directory.READ)(org_chart_page)
    protected_page('/admin/departments', permission=directory.MANAGE)(departments_page)


def department_options(roots: list[DepartmentNode], *, blank: str = '') -> dict[int | None, str]:
    """Every open department as a select offers it, indented by its depth ('Sales', '· East')."""
    options: dict[int | None, str] = {None: blank} if blank else {}

    def add(node: DepartmentNode, depth: int) -> None:
        options[node.id] = f'{"· " * depth}{node.name}'
        for child in node.children:
            add(child, depth + 1)

    for root in roots:
        add(root, 0)
    return options


def tabs(current: str) -> None:
    """People / Org chart, as links (each is a page of its own)."""
    with ui.row().classes('gap-4 items-center'):
        for path, label in (('/directory', _('People')), ('/directory/org', _('Org chart'))):
            link = ui.link(label, path).classes('text-sm')
            if path == current:
                link.classes('font-bold no-underline')


async def directory_page(ctx: PageContext) -> None:
    """Colleagues: name, departments, position, work phone and e-mail, found by any of them."""
    await DirectoryPage(ctx).build()


class DirectoryPage:
    """The colleague list with a search box and a department filter (which includes sub-departments)."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.offset = 0
        self.query = ctx.query.get('q', '')[:200]
        self.department: int | None = None

    async def build(self) -> None:
        roots = await read(self.ctx.user, lambda s, a: directory.tree(s, a))
        with frame(self.ctx, _('Directory')):
            tabs('/directory')
            with ui.row().classes('items-center gap-2 w-full'):
                self.search = ui.input(_('Find a colleague'), value=self.query).props('clearable dense')
                self.search.classes('min-w-64').mark('directory-search')
                self.filter = (
                    ui.select(
                        department_options(roots, blank=_('All departments')),
                        value=None,
                        label=_('Department'),
                        on_change=self.apply_filter,
                    )
                    .props('dense options-dense')
                    .classes('min-w-48')
                    .mark('directory-department')
                )
            self.search.on('keydown.enter', self.apply_filter)
            self.search.on('clear', self.apply_filter)
            await self.table()

    @ui.refreshable_method
    async def table(self) -> None:
        query, department, offset = self.query, self.department, self.offset
        page = await read(
            self.ctx.user,
            lambda s, a: directory.colleagues(
                s, a, query=query, department_id=department, offset=offset, limit=PAGE_SIZE
            ),
        )
        columns: list[dict[str, Any]] = [
            {'name': 'name', 'label': _('Name'), 'field': 'name', 'align': 'left'},
            {'name': 'departments', 'label': _('Department'), 'field': 'departments', 'align': 'left'},
            {'name': 'position', 'label': _('Position'), 'field': 'position', 'align': 'left'},
            {'name': 'phone', 'label': _('Work phone'), 'field': 'phone', 'align': 'left'},
            {'name': 'email', 'label': _('E-mail'), 'field': 'email', 'align': 'left'},
            {'name': 'manager', 'label': _('Reports to'), 'field': 'manager', 'align': 'left'},
        ]
        rows = [
            {
                'id': c.id,
                'name': c.name,
                'departments': ', '.join(c.departments),
                'position': c.position,
                'phone': c.work_phone,
                'email': c.email,
                'manager': c.manager,
            }
            for c in page.items
        ]
        paged_table(page, columns=columns, rows=rows, move=self.move, size=PAGE_SIZE, marker='directory-table')
        if not rows:
            ui.label(_('Nobody matches.')).classes('text-sm text-grey-7').mark('directory-empty')

    def move(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        self.table.refresh()

    def apply_filter(self) -> None:
        self.query = (self.search.value or '')[:200]
        self.department = self.filter.value
        self.offset = 0
        self.table.refresh()


def chart_data(node: DepartmentNode) -> dict[str, Any]:
    """A department as an ECharts tree node: its name, heads and head count on the canvas (no HTML anywhere)."""
    heads = ', '.join(name for _uid, name in node.heads)
    label = f'{node.name} ({node.total})' + (f'\n{heads}' if heads else '')
    return {'name': label, 'children': [chart_data(child) for child in node.children]}


def chart_options(roots: list[DepartmentNode], org_name: str) -> dict[str, Any]:
    """An org chart, top-down. The tooltip is off: ECharts draws labels on its canvas, never as HTML."""
    top = {'name': org_name, 'children': [chart_data(root) for root in roots]}
    return {
        'animation': False,
        'tooltip': {'show': False},
        'series': [
            {
                'type': 'tree',
                'data': [top],
                'orient': 'TB',
                'top': 40,
                'bottom': 40,
                'left': 90,
                'right': 90,
                'symbol': 'roundRect',
                'symbolSize': [150, 46],
                'itemStyle': {'color': '#eff6ff', 'borderColor': '#3b82f6', 'borderWidth': 1},
                'lineStyle': {'color': '#94a3b8', 'curveness': 0},
                'edgeShape': 'polyline',
                'initialTreeDepth': 3,
                'expandAndCollapse': True,
                'label': {
                    'position': 'inside',
                    'fontSize': 12,
                    'color': '#0f172a',
                    'width': 140,
                    'overflow': 'truncate',
                    'lineHeight': 16,
                },
                'leaves': {'label': {'position': 'inside'}},
            }
        ],
    }


def outline_nodes(node: DepartmentNode) -> dict[str, Any]:
    """A department as a ui.tree node (text only: Quasar renders labels as text)."""
    heads = ', '.join(name for _uid, name in node.heads)
    label = f'{node.name} · {node.total}' + (f' · {heads}' if heads else '')
    return {'id': str(node.id), 'label': label, 'children': [outline_nodes(child) for child in node.children]}


def _width_of(roots: list[DepartmentNode]) -> int:
    leaves = sum(1 for root in roots for node in root.walk() if not node.children) or 1
    return max(600, 170 * leaves)


async def org_chart_page(ctx: PageContext) -> None:
    """The departments as a chart (an outline that folds on a phone), with heads and head counts."""
    roots = await read(ctx.user, lambda s, a: directory.tree(s, a))
    with frame(ctx, _('Org chart')):
        tabs('/directory/org')
        if not roots:
            ui.label(_('No departments yet.')).classes('text-sm text-grey-7').mark('org-empty')
            return
        # Desktop: the chart, scrolled sideways when wide. A phone: the outline, folded below the first level.
        with ui.element('div').classes('w-full overflow-x-auto max-md:hidden').mark('org-chart-box'):
            ui.echart(chart_options(roots, ctx.org_name)).style(
                f'height: 560px; width: {_width_of(roots)}px; min-width: 100%'
            ).mark('org-chart')
        outline = ui.tree([outline_nodes(root) for root in roots], node_key='id').classes('md:hidden w-full')
        outline.props('dense').mark('org-outline')
        outline.expand([str(root.id) for root in roots])  # the top level open, the rest folded


async def departments_page(ctx: PageContext) -> None:
    """Create, rename, move, merge and close departments, and name their heads."""
    await DepartmentsPage(ctx).build()


class DepartmentsPage:
    """The tree on the left (an outline), the chosen department's form on the right."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.selected: int | None = None

    async def build(self) -> None:
        with frame(self.ctx, _('Departments')):
            with ui.row().classes('items-center gap-2'):
                ui.button(_('New department'), icon='add', on_click=lambda: self.create_dialog(None)).mark(
                    'new-department'
                )
                ui.link(_('Org chart'), '/directory/org').classes('text-sm')
            await self.body()

    @ui.refreshable_method
    async def body(self) -> None:
        roots = await read(self.ctx.user, lambda s, a: directory.tree(s, a))
        self.roots = roots
        self.nodes = {node.id: node for root in roots for node in root.walk()}
        if not roots:
            ui.label(_('No departments yet. Start with the top ones: a company, or its divisions.')).classes(
                'text-sm text-grey-7'
            ).mark('departments-empty')
            return
        with ui.row().classes('w-full gap-4 items-start no-wrap max-md:flex-wrap'):
            outline = ui.tree([outline_nodes(root) for root in roots], node_key='id', on_select=self.select).classes(
                'min-w-64 grow-0'
            )
            outline.props('dense selected-color=primary').mark('departments-tree')
            outline.expand()
            if self.selected in self.nodes:
                outline.props(f'selected="{self.selected}"')
            with ui.column().classes('grow min-w-72'):
                await self.details()

    async def select(self, event: Any) -> None:
        value = event.value
        self.selected = int(value) if value else None
        self.details.refresh()

    @ui.refreshable_method
    async def details(self) -> None:
        node = self.nodes.get(self.selected) if self.selected is not None else None
        if node is None:
            ui.label(_('Choose a department to change it.')).classes('text-sm text-grey-7')
            return
        users = await read(self.ctx.user, lambda s, a: active_users(s))
        events = await read(self.ctx.user, lambda s, a: directory.history(s, a, node.id, limit=20))
        with ui.card().classes('w-full').props('flat bordered').mark('department-form'):
            name = ui.input(_('Name'), value=node.name).classes('w-full').mark('department-name')
            code = ui.input(_('Code'), value=node.code).classes('w-full').mark('department-code')
            parents = {
                key: label
                for key, label in department_options(self.roots, blank=_('(top level)')).items()
                if key is None or key not in {n.id for n in node.walk()}
            }
            parent = (
                ui.select(parents, value=node.parent_id, label=_('Under')).classes('w-full').mark('department-parent')
            )
            order = ui.number(_('Order among its siblings'), value=node.order, step=10, format='%d').classes('w-full')
            heads = (
                ui.select(
                    users, multiple=True, value=[uid for uid, _name in node.heads], label=_('Heads'), with_input=True
                )
                .classes('w-full')
                .props('use-chips')
                .mark('department-heads')
            )
            ui.label(
                _('{members} people here, {total} with its sub-departments.', members=node.members, total=node.total)
            ).classes('text-sm text-grey-7')
            with ui.row().classes('w-full gap-2 items-center'):
                ui.button(_('Merge into…'), on_click=lambda: self.merge_dialog(node)).props('flat').mark(
                    'merge-department'
                )
                ui.button(_('Close the department'), on_click=lambda: self.close(node)).props(
                    'flat color=negative'
                ).mark('close-department')
                ui.button(_('Add a sub-department'), on_click=lambda: self.create_dialog(node.id)).props('flat')
                ui.space()
                ui.button(
                    _('Save'),
                    on_click=lambda: self.save(
                        node.id, name.value or '', code.value or '', parent.value, order.value, list(heads.value)
                    ),
                ).mark('save-department')
        if events:
            ui.label(_('History')).classes('font-medium mt-2')
            for event in events:
                with ui.row().classes('gap-2 text-sm'):
                    ui.label(format_datetime(event.at, timezone=self.ctx.user.timezone)).classes('text-grey-7')
                    ui.label(event_text(event.action, event.details)).mark('department-event')

    async def save(
        self, department_id: int, name: str, code: str, parent_id: int | None, order: float | None, heads: list[int]
    ) -> None:
        def change(s: Any, a: Any) -> None:
            directory.update_department(
                s,
                a,
                department_id,
                name=name,
                code=code,
                order=int(order) if order is not None else None,
                parent_id=parent_id,
            )
            directory.set_heads(s, a, department_id, heads)

        if await attempt(change, success=_('Department saved.')):
            self.body.refresh()

    def create_dialog(self, parent_id: int | None) -> None:
        options = department_options(self.roots if hasattr(self, 'roots') else [], blank=_('(top level)'))
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('New department')).classes('text-lg font-medium')
            name = ui.input(_('Name')).classes('w-full').mark('new-department-name')
            code = ui.input(_('Code (optional)')).classes('w-full').mark('new-department-code')
            parent = (
                ui.select(options, value=parent_id, label=_('Under')).classes('w-full').mark('new-department-parent')
            )
            with ui.row().classes('w-full'):
                ui.space()
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')

                async def create() -> None:
                    made = await act(
                        lambda s, a: (
                            directory.create_department(
                                s, a, name=name.value or '', code=code.value or '', parent_id=parent.value
                            ).id
                        ),
                        success=_('Department created.'),
                    )
                    if made is not None:
                        dialog.close()
                        self.selected = made
                        self.body.refresh()

                ui.button(_('Create'), on_click=create).mark('create-department')
        dialog.open()

    def merge_dialog(self, node: DepartmentNode) -> None:
        inside = {n.id for n in node.walk()}
        options = {key: label for key, label in department_options(self.roots).items() if key not in inside}
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label(_('Merge "{name}" into another department', name=node.name)).classes('text-lg font-medium')
            ui.label(
                _(
                    'Its people, heads and sub-departments move into the one you choose; it is then closed, and its '
                    'history is kept.'
                )
            ).classes('text-sm')
            target = ui.select(options, label=_('Into')).classes('w-full').mark('merge-target')
            with ui.row().classes('w-full'):
                ui.space()
                ui.button(_('Cancel'), on_click=dialog.close).props('flat')

                async def merge() -> None:
                    if target.value is None:
                        ui.notify(_('Choose the department to merge into.'), type='warning')
                        return
                    into = int(target.value)
                    done = await act(
                        lambda s, a: directory.merge_departments(s, a, node.id, into).id,
                        success=_('Departments merged.'),
                    )
                    if done is not None:
                        dialog.close()
                        self.selected = done
                        self.body.refresh()

                ui.button(_('Merge'), on_click=merge).props('color=negative').mark('confirm-merge')
        dialog.open()

    async def close(self, node: DepartmentNode) -> None:
        done = await act(lambda s, a: directory.close_department(s, a, node.id).id, success=_('Department closed.'))
        if done is not None:
            self.selected = None
            self.body.refresh()


def active_users(session: Any) -> dict[int, str]:
    from sqlalchemy import select

    from appliance.models import User

    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.is_active).order_by(User.display_name)
    )
    return {uid: f'{name} ({username})' for uid, name, username in rows}


EVENT_TEXTS = {
    'created': lambda d: _('Created'),
    'renamed': lambda d: _('Renamed from "{old}" to "{new}"', old=d.get('from', ''), new=d.get('to', '')),
    'moved': lambda d: _(
        'Moved from "{old}" to "{new}"', old=d.get('from') or _('(top level)'), new=d.get('to') or _('(top level)')
    ),
    'changed': lambda d: _('Code or order changed'),
    'heads': lambda d: _('Heads: {names}', names=', '.join(d.get('heads', [])) or '—'),
    'merged': lambda d: _('Merged into "{name}"', name=d.get('into', '')),
    'absorbed': lambda d: _('"{name}" was merged into it', name=d.get('source', '')),
    'closed': lambda d: _('Closed'),
}


def event_text(action: str, raw: str) -> str:
    """A department event as a sentence in the reader's language."""
    import json

    try:
        details = json.loads(raw or '{}')
    except ValueError:
        details = {}
    text = EVENT_TEXTS.get(action)
    return text(details if isinstance(details, dict) else {}) if text else action
