"""Task page sections: the checklist, and the links of a task (parent, subtasks, blocked by, blocking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import ui
from sqlalchemy.orm import Session

from appliance.i18n import _
from appliance.models import User
from appliance.ui.actions import act, attempt
from modules.tasks import services
from modules.tasks.services import task_url
from modules.tasks.views import TaskLink

if TYPE_CHECKING:
    from modules.tasks.pages.task import TaskPage


def checklist_section(page: TaskPage) -> None:
    """Checklist lines: tick, delete, add (Enter)."""

    @ui.refreshable
    def body() -> None:
        items = page.detail.checklist
        done = sum(1 for item in items if item.done)
        with ui.card().classes('w-full gap-1').mark('checklist'):
            with ui.row().classes('items-center w-full'):
                ui.label(_('Checklist')).classes('font-medium')
                if items:
                    ui.label(_('{done} of {total} done', done=done, total=len(items))).classes('text-xs text-grey-7')
            for item in items:
                with ui.row().classes('items-center gap-1 w-full no-wrap').mark(f'check-{item.id}'):
                    box = ui.checkbox(item.text, value=item.done).classes('grow').mark(f'check-box-{item.id}')
                    if page.editable:
                        delete_label = _('Delete')
                        box.on_value_change(lambda e, item_id=item.id: tick(item_id, bool(e.value)))
                        ui.button(icon='close', on_click=lambda item_id=item.id: delete(item_id)).props(
                            f'flat dense round size=sm aria-label="{delete_label}"'
                        ).mark(f'check-delete-{item.id}')
                    else:
                        box.props('disable')
            if page.editable:
                field = (
                    ui.input(placeholder=_('Add an item and press Enter'))
                    .props('dense maxlength=300')
                    .classes('w-full')
                    .mark('checklist-add')
                )
                field.on('keydown.enter', lambda: add(field.value or ''))

    async def done_then_refresh(ok: bool) -> None:
        if ok:
            await page.reload()
        body.refresh()

    async def add(text: str) -> None:
        text = text.strip()
        if text:
            added = await act(
                lambda s, a: services.add_checklist_item(session=s, actor=a, task_id=page.task_id, text=text)
            )
            await done_then_refresh(added is not None)

    async def tick(item_id: int, done: bool) -> None:
        await done_then_refresh(
            await attempt(lambda s, a: services.update_checklist_item(session=s, actor=a, item_id=item_id, done=done))
        )

    async def delete(item_id: int) -> None:
        await done_then_refresh(
            await attempt(lambda s, a: services.delete_checklist_item(session=s, actor=a, item_id=item_id))
        )

    body()


def link_row(link: TaskLink, *, remove: Callable[[], Awaitable[None]] | None = None, marker: str = '') -> None:
    """A link to another task, struck through when it is closed, with an optional remove button."""
    remove_label = _('Remove')
    with ui.row().classes('items-center gap-2 no-wrap').mark(marker):
        target = ui.link(f'{link.ref} {link.title}', task_url(link.id))
        if link.closed:
            target.classes('line-through text-grey-7')
        if remove is not None:
            ui.button(icon='link_off', on_click=remove).props(f'flat dense round size=sm aria-label="{remove_label}"')


def links_section(page: TaskPage) -> None:
    """Parent, subtasks (with "add subtask") and dependencies (add by ref, remove)."""
    detail = page.detail
    with ui.card().classes('w-full gap-2').mark('task-links'):
        if detail.parent is not None or page.editable:
            ui.label(_('Parent')).classes('font-medium')
        if detail.parent is not None:
            clear = (lambda: set_parent(page, '')) if page.editable else None
            link_row(detail.parent, remove=clear, marker='parent')
        elif page.editable:
            with ui.row().classes('items-center gap-2 w-full no-wrap'):
                parent = ui.input(placeholder=_('Task id, e.g. WEB-12')).props('dense outlined').classes('grow')
                parent.mark('parent-ref')
                ui.button(_('Set parent'), on_click=lambda: set_parent(page, parent.value or '')).props(
                    'flat dense no-caps no-wrap'
                ).classes('shrink-0').mark('parent-set')
        ui.label(_('Subtasks')).classes('font-medium')
        for link in detail.subtasks:
            link_row(link, marker=f'subtask-{link.id}')
        if page.editable:
            sub = (
                ui.input(placeholder=_('Add a subtask and press Enter'))
                .props('dense maxlength=200')
                .classes('w-full')
                .mark('subtask-add')
            )
            sub.on('keydown.enter', lambda: add_subtask(page, sub.value or ''))
        ui.label(_('Blocked by')).classes('font-medium')
        for link in detail.blocked_by:
            remove = (lambda blocker=link.id: remove_dependency(page, blocker, page.task_id)) if page.editable else None
            link_row(link, remove=remove, marker=f'blocked-by-{link.id}')
        ui.label(_('Blocking')).classes('font-medium')
        for link in detail.blocking:
            remove = (lambda blocked=link.id: remove_dependency(page, page.task_id, blocked)) if page.editable else None
            link_row(link, remove=remove, marker=f'blocking-{link.id}')
        if page.editable:
            with ui.row().classes('items-center gap-2 w-full no-wrap'):
                kind = (
                    ui.select({'blocked_by': _('Blocked by'), 'blocking': _('Blocking')}, value='blocked_by')
                    .props('dense outlined options-dense')
                    .mark('dependency-kind')
                )
                ref = (
                    ui.input(placeholder=_('Task id, e.g. WEB-12'))
                    .props('dense outlined')
                    .classes('grow')
                    .mark('dependency-ref')
                )
                ui.button(_('Add'), on_click=lambda: add_dependency(page, str(kind.value), ref.value or '')).props(
                    'flat dense no-wrap'
                ).classes('shrink-0').mark('dependency-add')


async def add_subtask(page: TaskPage, title: str) -> None:
    """Create a subtask in the same project."""
    title = title.strip()
    if not title:
        return
    created = await act(
        lambda s, a: services.create_task(
            session=s, actor=a, project_id=page.detail.card.project_id, title=title, parent_id=page.task_id
        ),
        success=_('Subtask added.'),
    )
    if created is not None:
        await page.reload()


async def add_dependency(page: TaskPage, kind: str, ref: str) -> None:
    """Link this task to the task called `ref`, in the chosen direction."""
    ref = ref.strip()
    if not ref:
        return

    def link(session: Session, actor: User) -> None:
        other = services.find_by_ref(session=session, actor=actor, ref=ref)
        blocker, blocked = (other.id, page.task_id) if kind == 'blocked_by' else (page.task_id, other.id)
        services.add_dependency(session=session, actor=actor, blocker_id=blocker, blocked_id=blocked)

    if await attempt(link, success=_('Dependency added.')):
        await page.reload()


async def remove_dependency(page: TaskPage, blocker_id: int, blocked_id: int) -> None:
    """Drop one dependency."""
    if await attempt(
        lambda s, a: services.remove_dependency(session=s, actor=a, blocker_id=blocker_id, blocked_id=blocked_id),
        success=_('Dependency removed.'),
    ):
        await page.reload()


async def set_parent(page: TaskPage, ref: str) -> None:
    """Make this task a subtask of the task called `ref` (empty: no parent)."""
    ref = ref.strip()

    def change(session: Session, actor: User) -> None:
        parent_id = services.find_by_ref(session=session, actor=actor, ref=ref).id if ref else None
        services.update_task(session=session, actor=actor, task_id=page.task_id, changes={'parent_id': parent_id})

    if await attempt(change, success=_('Saved.')):
        await page.reload()
