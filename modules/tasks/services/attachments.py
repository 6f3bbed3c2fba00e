"""Files on tasks, kept in the platform blob store (streamed in, deduplicated, referenced per attachment).

An upload is three steps: check that the actor may add files to the task (before any byte is stored), stream the
body into the blob store (temp file, fsync, rename; over the size limit nothing stays), then record the attachment
and its blob reference in one transaction. If that transaction fails, the blob is left unreferenced and the blob
store's gc removes it later: nothing half-recorded is ever visible.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import AsyncIterable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.blobstore import get_blobstore
from appliance.config import get_settings
from appliance.db import get_database, run_db, run_write, utcnow
from appliance.errors import N_, NotFound, ValidationError
from appliance.models import User
from appliance.services import audit
from modules.projects.services import record_activity as record_project_activity
from modules.projects.services import role_in
from modules.tasks.models import Attachment
from modules.tasks.services.access import require_task, task_ref
from modules.tasks.services.comments import people
from modules.tasks.services.common import record_activity
from modules.tasks.views import AttachmentView, PersonRef

BLOB_OWNER = 'tasks.attachment'
MAX_FILENAME = 255
DEFAULT_TYPE = 'application/octet-stream'
_MIME_PART = r'[a-z0-9!#$&^_.+\-]{1,63}'
_MIME = re.compile(rf'{_MIME_PART}/{_MIME_PART}')
# Types a browser would run or render as a page: always served as plain bytes.
ACTIVE_TYPES = frozenset(
    {
        'text/html',
        'application/xhtml+xml',
        'image/svg+xml',
        'text/xml',
        'application/xml',
        'text/javascript',
        'application/javascript',
        'application/x-javascript',
        'text/ecmascript',
        'application/ecmascript',
        'text/xsl',
        'application/pdf',
        'multipart/x-mixed-replace',
    }
)


def upload_url(task_id: int) -> str:
    """Where a page PUTs a file's bytes (raw body, ?filename=...), with the session cookie."""
    return f'/api/v1/tasks/{task_id}/attachments'


def download_url(attachment_id: int) -> str:
    """Where an attachment is downloaded (the session cookie or a token)."""
    return f'/api/v1/attachments/{attachment_id}'


def max_upload_bytes() -> int:
    """The configured upload limit in bytes (settings.max_upload_mb MiB)."""
    return get_settings().max_upload_mb * 1024 * 1024


def clean_filename(name: str) -> str:
    """A safe display name: no folders, no control characters, at most 255 characters; never empty."""
    name = unicodedata.normalize('NFC', name or '')
    name = re.split(r'[/\\]', name)[-1]
    name = ''.join(ch for ch in name if unicodedata.category(ch) not in ('Cc', 'Cf', 'Zl', 'Zp'))
    name = name.strip().strip('.').strip()
    if not name:
        name = 'file'
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition('.')
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILENAME - len(ext) - 1] + '.' + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def clean_content_type(value: str | None) -> str:
    """The media type of a Content-Type header (lower-cased, parameters dropped), or application/octet-stream."""
    media = (value or '').split(';', 1)[0].strip().lower()
    return media if _MIME.fullmatch(media) and len(media) <= 127 else DEFAULT_TYPE


def served_type(content_type: str) -> str:
    """What a download is served as: the stored type, except types a browser would run (those are plain bytes)."""
    media = clean_content_type(content_type)
    return DEFAULT_TYPE if media in ACTIVE_TYPES or 'html' in media or 'script' in media else media


def check_can_upload(*, session: Session, actor: User, task_id: int) -> None:
    """Raise unless the actor may add files to the task (project members; not an archived project)."""
    require_task(session, actor, task_id, 'member')


def record_attachment(
    *, session: Session, actor: User, task_id: int, sha256: str, size: int, filename: str, content_type: str
) -> Attachment:
    """Record a stored blob as a file on the task (re-checks access); the blob reference is in this transaction."""
    task, project = require_task(session, actor, task_id, 'member')
    attachment = Attachment(
        task_id=task.id,
        sha256=sha256,
        filename=clean_filename(filename),
        content_type=clean_content_type(content_type),
        size=size,
        uploaded_by=actor.id,
        created_at=utcnow(),
    )
    store = get_blobstore()
    # The attachment row names the blob (a foreign key), so the blob's row must exist before it, and the final
    # reference needs the attachment's id: hold a temporary reference meanwhile (also keeps gc away).
    holder = f'upload-{secrets.token_hex(8)}'
    store.add_ref(session=session, sha256=sha256, owner=BLOB_OWNER, owner_id=holder)
    session.add(attachment)
    session.flush()
    store.add_ref(session=session, sha256=sha256, owner=BLOB_OWNER, owner_id=str(attachment.id))
    store.remove_ref(session=session, sha256=sha256, owner=BLOB_OWNER, owner_id=holder)
    record_activity(
        session, actor=actor, project=project, task=task, action='attachment.added', filename=attachment.filename
    )
    return attachment


async def receive_upload(
    *, actor: User, task_id: int, filename: str, content_type: str | None, chunks: AsyncIterable[bytes]
) -> AttachmentView:
    """Check, stream `chunks` into the blob store (size-limited), then record: the whole upload of one file.

    Over the limit: ValidationError(field='file', max_bytes=...) and nothing is recorded. Database work runs in a
    worker thread, so the event loop never waits on it.
    """
    name = clean_filename(filename)
    media = clean_content_type(content_type)

    def check() -> None:
        with get_database().session(write=False) as session:
            check_can_upload(session=session, actor=actor, task_id=task_id)

    await run_db(check)
    sha256, size = await get_blobstore().write_async(chunks, max_bytes=max_upload_bytes())

    def record() -> AttachmentView:
        with get_database().session(write=True) as session:
            row = record_attachment(
                session=session,
                actor=actor,
                task_id=task_id,
                sha256=sha256,
                size=size,
                filename=name,
                content_type=media,
            )
            session.flush()
            return _view(row, people(session, [actor.id]).get(actor.id), can_delete=True)

    return await run_write(record)


def _view(row: Attachment, uploader: PersonRef | None, *, can_delete: bool) -> AttachmentView:
    return AttachmentView(
        id=row.id,
        task_id=row.task_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        uploaded_by=uploader,
        created_at=row.created_at,
        url=download_url(row.id),
        can_delete=can_delete,
    )


def list_attachments(*, session: Session, actor: User, task_id: int) -> list[AttachmentView]:
    """The task's files, newest first."""
    _task, project = require_task(session, actor, task_id)
    role = role_in(session, actor, project)
    writable = project.status != 'archived' and role in ('member', 'manager')
    rows = list(session.scalars(select(Attachment).where(Attachment.task_id == task_id).order_by(Attachment.id.desc())))
    uploaders = people(session, (row.uploaded_by for row in rows))
    return [
        _view(
            row,
            uploaders.get(row.uploaded_by or 0),
            can_delete=writable and (role == 'manager' or row.uploaded_by == actor.id),
        )
        for row in rows
    ]


def _visible(session: Session, actor: User, attachment_id: int) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(N_('This file does not exist, or you cannot see its task.'))
    try:
        require_task(session, actor, row.task_id)
    except NotFound:
        raise NotFound(N_('This file does not exist, or you cannot see its task.')) from None
    return row


def delete_attachment(*, session: Session, actor: User, attachment_id: int) -> None:
    """Remove a file from the task (its uploader or a manager); the blob goes when nothing refers to it."""
    row = _visible(session, actor, attachment_id)
    task, project = require_task(session, actor, row.task_id, 'member' if row.uploaded_by == actor.id else 'manager')
    get_blobstore().remove_ref(session=session, sha256=row.sha256, owner=BLOB_OWNER, owner_id=str(row.id))
    details = {'task': task_ref(project, task), 'filename': row.filename, 'size': row.size}
    session.delete(row)
    audit.record(
        session=session,
        actor=actor,
        action='tasks.attachment.delete',
        target=f'attachment:{attachment_id}',
        details=details,
    )
    record_project_activity(
        session,
        project_id=project.id,
        actor=actor,
        action='attachment.deleted',
        target_kind='task',
        target_id=task.id,
        ref=details['task'],
        title=task.title,
        filename=details['filename'],
    )
    session.flush()


def open_attachment(*, session: Session, actor: User, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and the path of its bytes, if the actor may see the task."""
    row = _visible(session, actor, attachment_id)
    path = get_blobstore().path(row.sha256)
    session.expunge(row)
    return row, path


def too_large(limit: int) -> ValidationError:
    """The error for a file over the limit (the blob store's own message, so it is translated once)."""
    mib = limit / (1024 * 1024)
    size = f'{mib:.1f} MiB' if mib < 1024 else f'{mib / 1024:.1f} GiB'
    return ValidationError(
        N_('The file is larger than the limit of {limit}. Choose a smaller file or ask the admin to raise the limit.'),
        field='file',
        limit=size,
        max_bytes=limit,
    )


def validation_is_too_large(error: ValidationError) -> bool:
    """True when a ValidationError from the blob store means "over the size limit" (the API answers 413)."""
    return error.field == 'file' and 'max_bytes' in error.params


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name RFC 5987-encoded (Chinese names survive)."""
    fallback = ''.join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else '_' for ch in filename) or 'file'
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{quote(filename, safe="")}'
