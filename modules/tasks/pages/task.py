"""The task page: every field of a task, its checklist, links, time, files and comments.

Each section re-reads its own data after a change (one small service call); a viewer sees the same page read-only.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi.responses import Response
from nicegui import ui
from sqlalchemy.orm import Session

from appliance.errors import NotFound, PermissionDenied
from appliance.i18n import _
from appliance.models import User
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext, path_int, protected_page
from appliance.ui.markdown_view import markdown_view
from modules.projects import services as project_services
from modules.projects.views import MilestoneView
from modules.tasks import services
from modules.tasks.pages.parts.display import add_board_css, priority_labels, today_for
from modules.tasks.pages.parts.filters import parse_date
from modules.tasks.pages.parts.not_found import not_found_response
from modules.tasks.pages.parts.task_collab import (
    SectionRows,
    attachments_section,
    comments_section,
    section_rows,
    time_section,
)
from modules.tasks.pages.parts.task_links import checklist_section, links_section
from modules.tasks.views import TaskDetail


def register() -> None:
    """Register the task page."""
    protected_page('/tasks/{task_id}', permission='tasks.use')(task_page)


async def task_page(ctx: PageContext) -> Response | None:
    """One task, or a 404 page when it does not exist or its project is hidden from the reader."""
    task_id = path_int('task_id')

    def everything(session: Session, actor: User) -> tuple[TaskDetail, list[MilestoneView], SectionRows]:
        detail = services.get_task(session=session, actor=actor, task_id=task_id)
        project_id = detail.card.project_id
        milestones = project_services.list_milestones(session=session, actor=actor, project_id=project_id)
        return detail, milestones, section_rows(session, actor, task_id)

    try:
        detail, milestones, rows = await read(ctx.user, everything)
    except (NotFound, PermissionDenied):  # nothing about the task may leak
        return not_found_response()
    add_board_css()
    page = TaskPage(ctx, detail, {m.id: m.name for m in milestones})
    with frame(ctx, f'{detail.card.ref} · {detail.card.title}'):
        page.build(rows)
    return None


class TaskPage:
    """The page of one task; `reload()` re-reads the task after a change."""

    def __init__(self, ctx: PageContext, detail: TaskDetail, milestones: dict[int, str]) -> None:
        self.ctx = ctx
        self.detail = detail
        self.task_id = detail.card.id
        self.milestones = milestones
        self.today = today_for(ctx.user)
        # A field saves on Enter and again when it is left: the second save waits for the first (and its reload),
        # then compares with what was saved instead of saving the same value twice.
        self.saving = asyncio.Lock()

    @property
    def editable(self) -> bool:
        """True when the reader may change the task."""
        return self.detail.can_edit

    async def reload(self) -> None:
        """Read the task again and redraw what depends on it."""
        detail = await act(lambda s, a: services.get_task(session=s, actor=a, task_id=self.task_id))
        if detail is not None:
            self.detail = detail
            self.fields.refresh()
            self.links.refresh()

    async def save(self, **changes: Any) -> bool:
        """Change fields of the task; on refusal the fields show the stored values again."""
        saved = await act(
            lambda s, a: services.update_task(session=s, actor=a, task_id=self.task_id, changes=changes),
            success=_('Saved.'),
        )
        await self.reload()
        return saved is not None

    def build(self, rows: SectionRows) -> None:
        """The whole page, with the rows its sections show first."""
        card = self.detail.card
        with ui.row().classes('items-center gap-2 text-sm'):
            ui.link(self.detail.project_name, f'/projects/{card.project_id}/board').mark('task-project')
            ui.label(card.ref).classes('text-grey-7').mark('task-ref')
        with ui.row().classes('w-full gap-6 items-start no-wrap max-md:flex-wrap'):
            with ui.column().classes('grow gap-4 min-w-0'):
                self.title_and_description()
                checklist_section(self)
                self.links()
                comments_section(self, rows.comments)
            with ui.column().classes('w-80 max-md:w-full gap-4'):
                self.fields()
                time_section(self, rows.entries)
                attachments_section(self, rows.files)

    # --- title and description ----------------------------------------------------------------------------------

    def title_and_description(self) -> None:
        """The title (edited in place) and the Markdown description (rendered; edited in a text area)."""
        detail = self.detail
        if self.editable:
            title = ui.input(value=detail.card.title).props('dense borderless maxlength=200 input-class="text-xl"')
            title.classes('w-full text-xl').mark('task-title')

            async def save_title() -> None:
                async with self.saving:
                    value = (title.value or '').strip()
                    if value != self.detail.card.title and not await self.save(title=value):
                        title.value = self.detail.card.title

            title.on('keydown.enter', save_title)
            title.on('blur', save_title)
        else:
            ui.label(detail.card.title).classes('text-xl font-medium').mark('task-title-text')
        description(self)

    # --- the side panel -------------------------------------------------------------------------------------------

    @ui.refreshable_method
    def fields(self) -> None:
        """Status, priority, people, labels, dates, estimate, milestone and watching."""
        detail, card = self.detail, self.detail.card
        statuses = {s.id: s.name for s in detail.statuses} or {card.status_id: card.status_name}
        members = {p.id: p.display_name for p in detail.members}
        labels = {label.id: label.name for label in detail.labels_available}
        readonly = '' if self.editable else ' readonly'
        with ui.card().classes('w-full gap-2').mark('task-fields'):
            ui.select(statuses, label=_('Status'), value=card.status_id).props('dense outlined' + readonly).classes(
                'w-full'
            ).on_value_change(lambda e: self.changed('status_id', e.value, card.status_id)).mark('task-status')
            ui.select(priority_labels(), label=_('Priority'), value=card.priority).props(
                'dense outlined' + readonly
            ).classes('w-full').on_value_change(lambda e: self.changed('priority', e.value, card.priority)).mark(
                'task-priority'
            )
            current_people = [p.id for p in card.assignees]
            members.update({p.id: p.display_name for p in card.assignees})
            ui.select(members, label=_('Assignees'), value=current_people, multiple=True).props(
                'dense outlined use-chips' + readonly
            ).classes('w-full').on_value_change(
                lambda e: self.changed('assignee_ids', list(e.value or []), current_people)
            ).mark('task-assignees')
            current_labels = [label.id for label in card.labels]
            labels.update({label.id: label.name for label in card.labels})
            picker = ui.select(
                dict(labels),  # a copy: the picker adds typed names to its options
                label=_('Labels'),
                value=current_labels,
                multiple=True,
                new_value_mode='add-unique' if self.editable else None,
            ).props('dense outlined use-chips' + readonly)
            if self.editable:
                picker.props['hint'] = _('Type a name and press Enter to add a new label.')
            elif not labels:
                picker.props['hint'] = _('This project has no labels yet.')
            picker.classes('w-full').on_value_change(
                lambda e: self.labels_changed(list(e.value or []), current_labels, labels)
            ).mark('task-labels')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.date_field(_('Start'), 'start_date', card.start_date).mark('task-start')
                self.date_field(_('Due'), 'due_date', card.due_date).mark('task-due')
            estimate = (
                ui.number(
                    _('Estimate (hours)'),
                    value=float(detail.estimate_hours) if detail.estimate_hours is not None else None,
                    min=0,
                    step=0.5,
                )
                .props('dense outlined' + readonly)
                .classes('w-full')
                .mark('task-estimate')
            )
            estimate.on('blur', lambda: self.save_estimate(estimate.value))
            estimate.on('keydown.enter', lambda: self.save_estimate(estimate.value))
            milestones = {0: _('No milestone'), **self.milestones}
            ui.select(milestones, label=_('Milestone'), value=detail.milestone_id or 0).props(
                'dense outlined' + readonly
            ).classes('w-full').on_value_change(
                lambda e: self.changed('milestone_id', e.value or None, detail.milestone_id)
            ).mark('task-milestone')
            reporter = detail.reporter.display_name if detail.reporter else _('nobody')
            ui.label(_('Reported by {name}', name=reporter)).classes('text-xs text-grey-7')
            watchers = ', '.join(p.display_name for p in detail.watchers) or _('nobody')
            with ui.row().classes('items-center gap-2 w-full no-wrap'):
                ui.label(_('Watching: {names}', names=watchers)).classes('text-xs text-grey-7 grow').mark('watchers')
                ui.button(
                    _('Unwatch') if detail.watching else _('Watch'),
                    icon='visibility_off' if detail.watching else 'visibility',
                    on_click=self.toggle_watch,
                ).props('flat dense no-caps').mark('watch-toggle')

    def date_field(self, label: str, key: str, value: date | None) -> ui.input:
        """A date input (the browser's date picker) that saves a complete date: when it is left, or on Enter.

        Not on "change": the browser's field says "change" at every key that makes or unmakes a valid date, e.g.
        0002-05-31 after the first digit of the year, or no date at all after the first digit of a month typed over
        an old date. Saving (and redrawing the page) then would store half-typed dates and eat the next keys. The
        service refuses, with a message, what is not a plausible date.
        """
        readonly = '' if self.editable else ' readonly'
        field = (
            ui.input(label, value=value.isoformat() if value else '')
            .props('type=date dense outlined stack-label' + readonly)
            .classes('grow basis-0 min-w-0')  # two share a row: without min-w-0 the date's own width pushes one out
        )
        saved = {'value': value}  # what the server has now: changing a date back to an earlier value saves too

        async def save() -> None:
            async with self.saving:
                text = str(field.value or '').strip()
                new = parse_date(text)
                if not self.editable or (new == saved['value'] and (new is not None or not text)):
                    return
                # Not a date at all: the service says what is wrong. On refusal the field shows the stored date again.
                if await self.save(**{key: new if new is not None else text}):
                    saved['value'] = new
                else:
                    field.value = saved['value'].isoformat() if saved['value'] else ''

        field.on('blur', save)
        field.on('keydown.enter', save)
        return field

    async def labels_changed(self, values: list[Any], before: list[int], known: dict[int, str]) -> None:
        """Save the task's labels; a typed name (a string among the ids) is created first, or is the label of that
        name if there is one."""
        ids = [value for value in values if isinstance(value, int)]
        by_name = {name.lower(): label_id for label_id, name in known.items() if isinstance(label_id, int)}
        for name in (value.strip() for value in values if isinstance(value, str)):
            label_id = by_name.get(name.lower()) or await self.new_label(name)
            if label_id is None:  # refused: the message is shown, the picker shows the stored labels again
                await self.reload()
                return
            if label_id not in ids:
                ids.append(label_id)
        await self.changed('label_ids', ids, before)

    async def new_label(self, name: str) -> int | None:
        """Create a label of the task's project (members); its id, or None when refused."""
        project_id = self.detail.card.project_id
        label = await act(
            lambda s, a: services.create_label(session=s, actor=a, project_id=project_id, name=name),
            success=_('Label {name} added.', name=name),
        )
        return None if label is None else label.id

    async def changed(self, key: str, value: Any, before: Any) -> None:
        """Save one field when it really changed (and when the reader may change it)."""
        if not self.editable or value == before:
            return
        await self.save(**{key: value})

    async def save_estimate(self, value: float | None) -> None:
        """Save the estimate (empty: no estimate)."""
        try:
            hours = None if value is None else Decimal(str(value)).quantize(Decimal('0.01'))
        except InvalidOperation:
            hours = None
        async with self.saving:
            await self.changed('estimate_hours', hours, self.detail.estimate_hours)

    async def toggle_watch(self) -> None:
        """Start or stop watching the task."""
        async with self.saving:
            watching = not self.detail.watching
            await act(lambda s, a: services.set_watching(session=s, actor=a, task_id=self.task_id, watching=watching))
            await self.reload()

    # --- links: parent, subtasks, dependencies ----------------------------------------------------------------------

    @ui.refreshable_method
    def links(self) -> None:
        """Parent, subtasks and dependencies (drawn by parts/task_links.py)."""
        links_section(self)


def description(page: TaskPage) -> None:
    """The rendered description with an Edit button that swaps it for a text area."""
    state = {'editing': False}

    @ui.refreshable
    def body() -> None:
        text = page.detail.description
        if state['editing']:
            area = (
                ui.textarea(value=text, placeholder=_('Describe the task (Markdown)'))
                .props('outlined autogrow')
                .classes('w-full')
                .mark('description-input')
            )

            async def save() -> None:
                if await page.save(description=area.value or ''):
                    state['editing'] = False
                body.refresh()

            with ui.row().classes('gap-2 justify-end w-full'):
                ui.button(_('Cancel'), on_click=lambda: (state.update(editing=False), body.refresh())).props(
                    'flat dense'
                )
                ui.button(_('Save'), on_click=save).props('unelevated dense').mark('description-save')
            return
        if text.strip():
            markdown_view(text).mark('description')
        else:
            ui.label(_('No description.')).classes('text-grey-7').mark('description')
        if page.editable:
            ui.button(
                _('Edit description'), icon='edit', on_click=lambda: (state.update(editing=True), body.refresh())
            ).props('flat dense no-caps').mark('description-edit')

    body()
