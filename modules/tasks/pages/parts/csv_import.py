"""The "Import CSV" dialog of the list view: upload, preview with per-row errors, then import all or nothing."""

from __future__ import annotations

from typing import Any

from nicegui import events, ui

from appliance.errors import NP_
from appliance.i18n import _
from appliance.ui.actions import act
from appliance.ui.upload import file_picker
from modules.tasks import services
from modules.tasks.pages.parts.display import priority_labels

MAX_IMPORT_BYTES = services.MAX_IMPORT_BYTES
PREVIEW_ROWS = 100


def preview_table(preview: services.Preview) -> None:
    """The first rows of the file as they will be imported."""
    columns: list[dict[str, Any]] = [
        {'name': 'line', 'label': _('Line'), 'field': 'line', 'align': 'left'},
        {'name': 'title', 'label': _('Title'), 'field': 'title', 'align': 'left'},
        {'name': 'status', 'label': _('Status'), 'field': 'status', 'align': 'left'},
        {'name': 'priority', 'label': _('Priority'), 'field': 'priority', 'align': 'left'},
        {'name': 'assignees', 'label': _('Assignees'), 'field': 'assignees', 'align': 'left'},
        {'name': 'labels', 'label': _('Labels'), 'field': 'labels', 'align': 'left'},
        {'name': 'due', 'label': _('Due'), 'field': 'due', 'align': 'left'},
    ]
    names = priority_labels()
    rows = [
        {
            'line': row.line,
            'title': row.title,
            'status': row.status,
            'priority': names.get(row.priority, row.priority),
            'assignees': ', '.join(row.assignees),
            'labels': ', '.join(row.labels),
            'due': row.due.isoformat() if row.due else '',
        }
        for row in preview.rows[:PREVIEW_ROWS]
    ]
    ui.table(columns=columns, rows=rows, row_key='line').classes('w-full').props('dense flat bordered').mark(
        'import-preview'
    )


def import_dialog(project_id: int) -> None:
    """Open the dialog; nothing is written until the reader presses Import on an error-free preview."""
    state: dict[str, bytes] = {'data': b''}
    with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full').mark('import-dialog'):
        ui.label(_('Import tasks from a CSV file')).classes('text-lg font-medium')
        ui.label(
            _('One task a line; the first line names the columns (title is required). UTF-8 and GBK files both work.')
        ).classes('text-sm text-grey-7')
        holder = ui.column().classes('w-full')
        result = ui.column().classes('w-full gap-2')
        with ui.row().classes('gap-2 w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            go = ui.button(_('Import'), on_click=lambda: commit()).props('unelevated disable').mark('import-commit')

        async def received(event: events.UploadEventArguments) -> None:
            data = await event.file.read()
            state['data'] = data
            show(await act(lambda s, a: services.parse_import(session=s, actor=a, project_id=project_id, data=data)))

        def show(preview: services.Preview | None) -> None:
            result.clear()
            go.props(add='disable')
            if preview is None:
                return
            with result:
                if preview.errors:
                    ui.label(_('Fix these lines and upload the file again; nothing was imported.')).classes(
                        'text-negative'
                    )
                    for error in preview.errors[:200]:
                        reason = _(error.message, **error.params)
                        ui.label(_('Line {line}: {reason}', line=error.line, reason=reason)).classes(
                            'text-sm text-negative'
                        ).mark('import-error')
                ui.label(
                    _(NP_('{count} task in the file.', '{count} tasks in the file.', 'count'), count=len(preview.rows))
                ).mark('import-count')
                if preview.new_labels:
                    ui.label(_('New labels: {names}', names=', '.join(preview.new_labels))).classes('text-sm')
                if preview.rows:
                    preview_table(preview)
            if preview.rows and not preview.errors:
                go.props(remove='disable')

        async def commit() -> None:
            data = state['data']
            count = await act(
                lambda s, a: services.commit_import(session=s, actor=a, project_id=project_id, data=data),
            )
            if count is not None:
                ui.notify(
                    _(NP_('{count} task imported.', '{count} tasks imported.', 'count'), count=count), type='positive'
                )
                dialog.close()
                ui.navigate.reload()

        with holder:
            file_picker(
                received,
                button=_('Choose a CSV file'),
                hint=_('A preview follows; nothing is imported before you press Import.'),
                accept='.csv,text/csv',
                max_file_size=MAX_IMPORT_BYTES,
            ).mark('import-file')
    dialog.open()
