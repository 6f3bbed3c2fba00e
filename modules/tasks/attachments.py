"""Files on tasks, kept in the platform blob store (streamed in, deduplicated, referenced per attachment).

CONTRACT STUB: signatures are fixed; bodies are being written.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from appliance.models import User
from modules.tasks.models import Attachment
from modules.tasks.views import AttachmentView

BLOB_OWNER = 'tasks.attachment'


def upload_url(task_id: int) -> str:
    """Where a page PUTs a file's bytes (raw body, ?filename=...), with the session cookie."""
    return f'/api/v1/tasks/{task_id}/attachments'


def list_attachments(*, session: Session, actor: User, task_id: int) -> list[AttachmentView]:
    """The task's files, newest first."""
    raise NotImplementedError


def delete_attachment(*, session: Session, actor: User, attachment_id: int) -> None:
    """Remove a file from the task (its uploader or a manager); the blob goes when nothing refers to it."""
    raise NotImplementedError


def open_attachment(*, session: Session, actor: User, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and the path of its bytes, if the actor may see the task."""
    raise NotImplementedError
