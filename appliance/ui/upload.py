"""One file picker for forms that read a small file in the page (the license's .lic, a CSV import).

Quasar's uploader shows a "0.0B / 0.00%" header and a list of what was sent; ours shows a "Choose a file" button
with a hint of what is expected, a spinner while the file travels, and is emptied after each file, so that a
rejected file never sits there when the next one is chosen (and the same file can be chosen again after fixing
it). A file over the size limit is refused with a sentence, before any byte is sent.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Awaitable, Callable

from nicegui import events, ui

from appliance.fsutil import format_size
from appliance.i18n import _

# In every page's head (appliance.ui.frame.install): a picker may be made after the page loaded, in a dialog.
PICKER_CSS = """<style>
.enclave-file-picker .q-uploader__list { display: none; }
.enclave-file-picker .q-uploader__header { background: transparent !important; color: inherit !important; }
.enclave-file-picker { width: 100%; max-height: none; }
</style>"""


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
    # The header replaces Quasar's (size and percentage); our texts are escaped before they enter the template.
    picker.add_slot(
        'header',
        '<div class="row no-wrap items-center q-pa-sm q-gutter-sm full-width">'
        f'<q-btn v-if="props.canAddFiles" type="a" flat dense no-caps color="primary" icon="upload_file"'
        f' label="{html.escape(button)}" @click="props.pickFiles"><q-uploader-add-trigger /></q-btn>'
        f'<div class="col text-caption text-grey-8">{html.escape(hint)}</div>'
        '<q-spinner v-if="props.isUploading" color="primary" size="1.25em" />'
        '</div>',
    )
    return picker
