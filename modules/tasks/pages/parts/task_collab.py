"""Task page sections: logged time, attachments and comments (their services are modules.tasks.timelog,
attachments and comments).

The task page reads every section's rows before it draws (`SectionRows`); a section reads its own rows again
after a change, then redraws.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from nicegui import ui
from sqlalchemy.orm import Session

from appliance.fsutil import format_size
from appliance.i18n import _, format_datetime
from appliance.models import User
from appliance.ui.actions import act, attempt, read
from appliance.ui.markdown_view import markdown_html
from appliance.ui.upload import upload_button
from modules.tasks import services
from modules.tasks.pages.parts.filters import parse_date
from modules.tasks.views import AttachmentView, CommentView, TimeEntryView

if TYPE_CHECKING:
    from modules.tasks.pages.task import TaskPage


@dataclass
class SectionRows:
    """What the sections show when the page is opened."""

    entries: list[TimeEntryView]
    files: list[AttachmentView]
    comments: list[CommentView]


def section_rows(session: Session, actor: User, task_id: int) -> SectionRows:
    """The rows of every section, in the task page's read."""
    return SectionRows(
        entries=services.list_time(session=session, actor=actor, task_id=task_id),
        files=services.list_attachments(session=session, actor=actor, task_id=task_id),
        comments=services.list_comments(session=session, actor=actor, task_id=task_id),
    )


def hours_text(hours: Decimal | None) -> str:
    """Hours without trailing zeros: 1.5, 2, 0.25."""
    if hours is None:
        return '–'
    return f'{hours.normalize():f}'


def time_section(page: TaskPage, entries: list[TimeEntryView]) -> None:
    """Time entries, the total against the estimate, and the "Log time" form."""
    shown = {'entries': entries}

    @ui.refreshable
    def body() -> None:
        entries = shown['entries']
        detail = page.detail
        with ui.card().classes('w-full gap-1').mark('time'):
            ui.label(_('Time')).classes('font-medium')
            total, estimate = hours_text(detail.logged_hours), hours_text(detail.estimate_hours)
            over = detail.estimate_hours is not None and detail.logged_hours > detail.estimate_hours
            ui.label(_('{logged} h logged of {estimate} h estimated', logged=total, estimate=estimate)).classes(
                'text-sm' + (' text-negative' if over else '')
            ).mark('time-total')
            for entry in entries:
                who = entry.person.display_name if entry.person else _('former member')
                with ui.row().classes('items-center gap-2 w-full no-wrap text-sm').mark(f'time-{entry.id}'):
                    ui.label(entry.day.isoformat()).classes('text-grey-7')
                    ui.label(_('{hours} h', hours=hours_text(entry.hours)))
                    ui.label(who).classes('truncate')
                    ui.label(entry.note).classes('grow truncate text-grey-7')
                    if entry.can_delete:
                        delete_label = _('Delete')
                        ui.button(icon='delete', on_click=lambda entry_id=entry.id: delete(entry_id)).props(
                            f'flat dense round size=sm aria-label="{delete_label}"'
                        ).mark(f'time-delete-{entry.id}')
            if page.editable:
                with ui.row().classes('items-end gap-2 w-full no-wrap'):
                    day = ui.input(_('Day'), value=page.today.isoformat()).props('type=date dense stack-label')
                    day.classes('w-36').mark('time-day')
                    hours = ui.number(_('Hours'), min=0.25, max=24, step=0.25).props('dense').classes('w-20')
                    hours.mark('time-hours')
                note = ui.input(_('Note')).props('dense maxlength=500').classes('w-full').mark('time-note')
                ui.button(
                    _('Log time'), icon='schedule', on_click=lambda: log(day.value, hours.value, note.value or '')
                ).props('unelevated dense no-caps').mark('time-log')

    async def reload() -> None:
        await page.reload()
        shown['entries'] = await read(
            page.ctx.user, lambda s, a: services.list_time(session=s, actor=a, task_id=page.task_id)
        )
        body.refresh()

    async def log(day_text: str, hours_value: Any, note: str) -> None:
        day = parse_date(day_text)
        if day is None:  # emptied, or half-typed (the browser's field then holds no date): not silently today
            ui.notify(_('Choose the day the work was done.'), type='negative')
            return
        try:
            hours = Decimal(str(hours_value)) if hours_value not in (None, '') else Decimal(0)
        except InvalidOperation:
            hours = Decimal(0)
        if await attempt(
            lambda s, a: services.log_time(session=s, actor=a, task_id=page.task_id, day=day, hours=hours, note=note),
            success=_('Time logged.'),
        ):
            await reload()

    async def delete(entry_id: int) -> None:
        if await attempt(lambda s, a: services.delete_time(session=s, actor=a, entry_id=entry_id)):
            await reload()

    body()


def attachments_section(page: TaskPage, files: list[AttachmentView]) -> None:
    """Files with download links, delete for their uploader, and an upload control streaming each file by PUT."""
    shown = {'files': files}

    async def reload() -> None:
        shown['files'] = await read(
            page.ctx.user, lambda s, a: services.list_attachments(session=s, actor=a, task_id=page.task_id)
        )
        body.refresh()

    @ui.refreshable
    def body() -> None:
        files = shown['files']
        for item in files:
            with ui.row().classes('items-center gap-2 w-full no-wrap text-sm').mark(f'attachment-{item.id}'):
                ui.link(item.filename, item.url).props('download').classes('truncate grow')
                ui.label(format_size(item.size)).classes('text-grey-7')
                if item.can_delete:
                    delete_label = _('Delete')
                    ui.button(icon='delete', on_click=lambda attachment_id=item.id: delete(attachment_id)).props(
                        f'flat dense round size=sm aria-label="{delete_label}"'
                    ).mark(f'attachment-delete-{item.id}')
        if not files:
            ui.label(_('No files yet.')).classes('text-sm text-grey-7')

    async def delete(attachment_id: int) -> None:
        if await attempt(
            lambda s, a: services.delete_attachment(session=s, actor=a, attachment_id=attachment_id),
            success=_('File removed.'),
        ):
            await reload()

    async def uploaded(result: dict[str, Any]) -> None:
        for failure in result.get('failed', []):
            name, message = str(failure.get('name', '')), str(failure.get('message', ''))
            ui.notify(_('{name} was not uploaded: {reason}', name=name, reason=message), type='negative')
        if result.get('count', 0) > len(result.get('failed', [])):
            ui.notify(_('Upload finished.'), type='positive')
        await reload()

    with ui.card().classes('w-full gap-1').mark('attachments'):
        ui.label(_('Files')).classes('font-medium')
        body()
        if page.editable:
            upload_button(
                _('Add files'),
                services.upload_url(page.task_id),
                uploaded,
                marker='attachment',
                multiple=True,
                icon='attach_file',
            )


def comments_section(page: TaskPage, comments: list[CommentView]) -> None:
    """Comments (Markdown, @mentions), oldest first; authors edit and delete their own."""
    editing: dict[str, int | None] = {'id': None}
    shown = {'items': comments}

    async def reload() -> None:
        shown['items'] = await read(
            page.ctx.user, lambda s, a: services.list_comments(session=s, actor=a, task_id=page.task_id)
        )
        body.refresh()

    @ui.refreshable
    def body() -> None:
        items = shown['items']
        for comment in items:
            author = comment.author.display_name if comment.author else _('former member')
            with ui.card().classes('w-full gap-1').props(f'id=comment-{comment.id}').mark(f'comment-{comment.id}'):
                with ui.row().classes('items-center gap-2 w-full text-xs text-grey-7'):
                    ui.label(author).classes('font-medium text-black')
                    ui.label(format_datetime(comment.created_at, timezone=page.ctx.user.timezone))
                    if comment.edited_at is not None:
                        ui.label(_('(edited)'))
                    if comment.can_edit and editing['id'] != comment.id:
                        ui.space()
                        ui.button(_('Edit'), on_click=lambda cid=comment.id: start_edit(cid)).props(
                            'flat dense no-caps size=sm'
                        ).mark(f'comment-edit-{comment.id}')
                        ui.button(_('Delete'), on_click=lambda cid=comment.id: delete(cid)).props(
                            'flat dense no-caps size=sm color=negative'
                        ).mark(f'comment-delete-{comment.id}')
                if editing['id'] == comment.id:
                    area = ui.textarea(value=comment.body).props('outlined autogrow').classes('w-full')
                    area.mark(f'comment-edit-input-{comment.id}')
                    with ui.row().classes('gap-2 justify-end w-full'):
                        ui.button(_('Cancel'), on_click=lambda: start_edit(None)).props('flat dense')
                        ui.button(
                            _('Save'), on_click=lambda cid=comment.id, box=area: save(cid, box.value or '')
                        ).props('unelevated dense').mark(f'comment-save-{comment.id}')
                else:
                    markdown_html(comment.html)
        if not items:
            ui.label(_('No comments yet.')).classes('text-sm text-grey-7')

    async def start_edit(comment_id: int | None) -> None:
        editing['id'] = comment_id
        await reload()

    async def save(comment_id: int, text: str) -> None:
        edited = await act(lambda s, a: services.edit_comment(session=s, actor=a, comment_id=comment_id, body=text))
        if edited is not None:
            await start_edit(None)

    async def delete(comment_id: int) -> None:
        if await attempt(lambda s, a: services.delete_comment(session=s, actor=a, comment_id=comment_id)):
            await reload()

    ui.label(_('Comments')).classes('text-lg font-medium')
    with ui.column().classes('w-full gap-2').mark('comments'):
        body()
    if page.editable:
        names = ', '.join(f'@{person.username}' for person in page.detail.members[:8])
        hint = _('Markdown. Mention someone with @ and their username to notify them: {names}', names=names)
        area = ui.textarea(placeholder=_('Write a comment')).props('outlined autogrow').classes('w-full')
        area.mark('comment-input')
        ui.label(hint).classes('text-xs text-grey-7').mark('mention-hint')

        async def send() -> None:
            text = (area.value or '').strip()
            if not text:
                return
            created = await act(lambda s, a: services.add_comment(session=s, actor=a, task_id=page.task_id, body=text))
            if created is not None:
                area.value = ''
                await reload()

        ui.button(_('Comment'), icon='send', on_click=send).props('unelevated no-caps').mark('comment-send')
