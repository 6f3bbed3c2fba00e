"""One file picker for forms that read a small file in the page (the license's .lic, a CSV import).

Quasar's uploader shows a "0.0B / 0.00%" header and a list of what was sent; ours shows a "Choose a file" button
with a hint of what is expected, a spinner while the file travels, and is emptied after each file, so that a
rejected file never sits there when the next one is chosen (and the same file can be chosen again after fixing
it). A file over the size limit is refused with a sentence, before any byte is sent.
"""

from __future__ import annotations

import html
import inspect
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nicegui import events, ui

from appliance.fsutil import format_size
from appliance.i18n import _

# In every page's head (appliance.ui.frame.install): a picker may be made after the page loaded, in a dialog.
PICKER_CSS = """<style>
.enclave-file-picker .q-uploader__list { display: none; }
.enclave-file-picker .q-uploader__header { background: transparent !important; color: inherit !important; }
.enclave-file-picker { width: 100%; max-height: none; }
</style>"""
# In every page's head too: the script that streams files chosen with `upload_button`.
UPLOAD_JS = '<script>' + (Path(__file__).resolve().parent.parent / 'static' / 'upload.js').read_text() + '</script>'


def file_picker(
    on_upload: Callable[[events.UploadEventArguments], Awaitable[None] | None],
    *,
    button: str,
    hint: str,
    accept: str,
    max_file_size: int,
) -> ui.upload:
    """A one-file picker that calls `on_upload` with the file and then empties itself; `button` and `hint` are
    shown as written (translated by the caller)."""

    async def received(event: events.UploadEventArguments) -> None:
        try:
            result = on_upload(event)
            if inspect.isawaitable(result):
                await result
        finally:
            event.sender.reset()  # type: ignore[attr-defined]

    def rejected() -> None:
        ui.notify(_('This file is too large: at most {size}.', size=format_size(max_file_size)), type='negative')

    picker = ui.upload(on_upload=received, on_rejected=rejected, auto_upload=True, max_file_size=max_file_size)
    picker.props(f'accept="{html.escape(accept)}" flat bordered hide-upload-btn').classes('enclave-file-picker')
    # The header replaces Quasar's (size and percentage). The texts enter the template as string literals bound
    # as data (`:label`, `v-text`), never as template text: a `{{ }}` in a translation is shown, not evaluated.
    label_literal = html.escape(json.dumps(button))
    hint_literal = html.escape(json.dumps(hint))
    picker.add_slot(
        'header',
        '<div class="row no-wrap items-center q-pa-sm q-gutter-sm full-width">'
        f'<q-btn v-if="props.canAddFiles" type="a" flat dense no-caps color="primary" icon="upload_file"'
        f' :label="{label_literal}" @click="props.pickFiles"><q-uploader-add-trigger /></q-btn>'
        f'<div class="col text-caption text-grey-8" v-text="{hint_literal}"></div>'
        '<q-spinner v-if="props.isUploading" color="primary" size="1.25em" />'
        '</div>',
    )
    return picker


def upload_button(
    label: str,
    url: str,
    on_done: Callable[[dict[str, Any]], Awaitable[None] | None],
    *,
    marker: str,
    accept: str = '',
    multiple: bool = False,
    icon: str = 'upload_file',
) -> None:
    """A button that opens the browser's file chooser and streams each chosen file by PUT to `url?filename=...`
    (the raw body, any size, with the session cookie), showing the progress beside it; then calls `on_done` with
    `{'count': n, 'failed': [{'name', 'message'}], 'done': [the JSON answers]}`. Markers: `<marker>-input` (the
    hidden file input) and `<marker>-add` (the button)."""
    # A button opens the browser's file chooser (no native "Choose Files / No file chosen" box on the page).
    props = 'type=file hidden' + (' multiple' if multiple else '')
    props += f' accept="{html.escape(accept)}"' if accept else ''
    picker = ui.element('input').props(props).mark(f'{marker}-input')
    with ui.row().classes('items-center gap-2'):
        ui.button(label, icon=icon).props('flat dense no-caps color=primary').on(
            'click', js_handler=f'() => document.getElementById({json.dumps(picker.html_id)}).click()'
        ).mark(f'{marker}-add')
        status = ui.label().classes('text-xs text-grey-7')

    async def finished(event: events.GenericEventArguments) -> None:
        result = on_done(event.args if isinstance(event.args, dict) else {})
        if inspect.isawaitable(result):
            await result

    picker.on(
        'change',
        finished,
        js_handler=(
            f'(e) => window.enclave.upload(e.target, {json.dumps(url)}, {json.dumps(status.html_id)})'
            '.then((r) => emit(r))'
        ),
    )
