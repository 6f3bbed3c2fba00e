"""REST API for comments, time entries, attachments, the calendar feed and CSV (under /api/v1).

File routes accept the browser's session cookie as well as a token (pages upload and download through them);
the same-origin check of `BrowserOrApiActor` guards the cookie on unsafe methods.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from appliance import i18n
from appliance.api import uploads
from appliance.api.deps import DB, Actor, BrowserOrApiActor, Id, IdValue, IsoDate
from appliance.api.errors import error_response
from appliance.db import get_database
from appliance.errors import ValidationError
from modules.tasks import services
from modules.tasks.api import collab_io as api_collab_io
from modules.tasks.views import AttachmentView, CommentView, PersonRef, TimeEntryView

router = APIRouter(prefix='/api/v1', tags=['tasks'])


class PersonOut(BaseModel):
    """A person next to a comment, entry or file."""

    id: int
    username: str
    display_name: str

    @classmethod
    def of(cls, person: PersonRef | None) -> PersonOut | None:
        """Build from a view (None stays None: a deleted account)."""
        return cls(**person.__dict__) if person is not None else None


class CommentOut(BaseModel):
    """A comment: its Markdown source and the safe HTML rendering."""

    id: int
    task_id: int
    author: PersonOut | None
    body: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    can_edit: bool
    can_delete: bool

    @classmethod
    def of(cls, view: CommentView) -> CommentOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'author': PersonOut.of(view.author)})


class CommentIn(BaseModel):
    """A comment's text (Markdown; @username mentions project members)."""

    body: str = Field(max_length=40_000)


class TimeOut(BaseModel):
    """A time entry."""

    id: int
    task_id: int
    person: PersonOut | None
    day: date
    hours: Decimal
    note: str
    can_delete: bool

    @classmethod
    def of(cls, view: TimeEntryView) -> TimeOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'person': PersonOut.of(view.person)})


class TimeIn(BaseModel):
    """Hours worked on a day (0 < hours <= 24); `user_id` lets a manager log for a member."""

    day: IsoDate
    hours: Decimal = Field(max_digits=8, decimal_places=4)
    note: str = Field(default='', max_length=2000)
    user_id: IdValue | None = None


class AttachmentOut(BaseModel):
    """A file on a task; `url` downloads it."""

    id: int
    task_id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: PersonOut | None
    created_at: datetime
    url: str
    can_delete: bool

    @classmethod
    def of(cls, view: AttachmentView) -> AttachmentOut:
        """Build from a view."""
        return cls(**{**view.__dict__, 'uploaded_by': PersonOut.of(view.uploaded_by)})


# --- comments -----------------------------------------------------------------------------------------------


@router.get('/tasks/{task_id}/comments', response_model=list[CommentOut], summary="A task's comments")
def list_comments(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Oldest first, with the Markdown rendered to safe HTML."""
    return [CommentOut.of(view) for view in services.list_comments(session=session, actor=actor, task_id=task_id)]


@router.post('/tasks/{task_id}/comments', response_model=CommentOut, status_code=201, summary='Comment on a task')
def add_comment(task_id: Id, body: CommentIn, session: DB, actor: Actor) -> Any:
    """Project members comment; @username of a project member notifies them; watchers hear of it."""
    row = services.add_comment(session=session, actor=actor, task_id=task_id, body=body.body)
    return _comment_out(session, actor, row.task_id, row.id)


@router.patch('/comments/{comment_id}', response_model=CommentOut, summary='Edit your comment')
def edit_comment(comment_id: Id, body: CommentIn, session: DB, actor: Actor) -> Any:
    """Only the author edits a comment (audited)."""
    row = services.edit_comment(session=session, actor=actor, comment_id=comment_id, body=body.body)
    return _comment_out(session, actor, row.task_id, row.id)


@router.delete('/comments/{comment_id}', status_code=204, summary='Delete a comment')
def delete_comment(comment_id: Id, session: DB, actor: Actor) -> Response:
    """The author, or a project manager, deletes a comment (audited)."""
    services.delete_comment(session=session, actor=actor, comment_id=comment_id)
    return Response(status_code=204)


def _comment_out(session: Any, actor: Any, task_id: int, comment_id: int) -> CommentOut:
    views = services.list_comments(session=session, actor=actor, task_id=task_id)
    return CommentOut.of(next(view for view in views if view.id == comment_id))


# --- time ---------------------------------------------------------------------------------------------------


@router.get('/tasks/{task_id}/time-entries', response_model=list[TimeOut], summary='Time logged on a task')
def list_time(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Newest day first."""
    return [TimeOut.of(view) for view in services.list_time(session=session, actor=actor, task_id=task_id)]


@router.post('/tasks/{task_id}/time-entries', response_model=TimeOut, status_code=201, summary='Log time')
def log_time(task_id: Id, body: TimeIn, session: DB, actor: Actor) -> Any:
    """Log hours for yourself (a manager may log for a member with `user_id`)."""
    row = services.log_time(
        session=session,
        actor=actor,
        task_id=task_id,
        day=body.day,
        hours=body.hours,
        note=body.note,
        user_id=body.user_id,
    )
    views = services.list_time(session=session, actor=actor, task_id=task_id)
    return TimeOut.of(next(view for view in views if view.id == row.id))


@router.delete('/time-entries/{entry_id}', status_code=204, summary='Delete a time entry')
def delete_time(entry_id: Id, session: DB, actor: Actor) -> Response:
    """Your own entry, or any entry when you manage the project."""
    services.delete_time(session=session, actor=actor, entry_id=entry_id)
    return Response(status_code=204)


# --- attachments --------------------------------------------------------------------------------------------


def _too_large(request: Request, error: ValidationError) -> JSONResponse:
    token = i18n.current_language.set(i18n.negotiate(request.headers.get('accept-language')))
    try:
        return error_response(413, 'too_large', i18n.translate_error(error), field='file')
    finally:
        i18n.current_language.reset(token)


def _declared_too_large(request: Request) -> ValidationError | None:
    length = request.headers.get('content-length', '')
    limit = services.max_upload_bytes()
    if length.isdigit() and int(length) > limit:
        return services.too_large(limit)
    return None


@router.put(
    '/tasks/{task_id}/attachments',
    response_model=AttachmentOut,
    status_code=201,
    summary='Upload a file (raw body)',
    description='Send the bytes as the request body, the name in `?filename=` and the type in Content-Type. '
    'The body is streamed to disk; over the configured size limit the answer is 413 and nothing is kept.',
)
async def upload_raw(
    task_id: Id,
    request: Request,
    actor: BrowserOrApiActor,
    filename: Annotated[str, Query(min_length=1, max_length=1000)],
) -> Any:
    """Stream the raw body into the blob store and attach it to the task."""
    declared = _declared_too_large(request)
    if declared is not None:
        return _too_large(request, declared)
    try:
        view = await services.receive_upload(
            actor=actor,
            task_id=task_id,
            filename=filename,
            content_type=request.headers.get('content-type'),
            chunks=request.stream(),
        )
    except ValidationError as error:
        if services.validation_is_too_large(error):
            return _too_large(request, error)
        raise
    return JSONResponse(AttachmentOut.of(view).model_dump(mode='json'), status_code=201)


@router.post(
    '/tasks/{task_id}/attachments',
    response_model=AttachmentOut,
    status_code=201,
    summary='Upload a file (multipart form, field "file")',
    openapi_extra={
        'requestBody': {
            'required': True,
            'content': {
                'multipart/form-data': {
                    'schema': {
                        'type': 'object',
                        'required': ['file'],
                        'properties': {'file': {'type': 'string', 'format': 'binary'}},
                    }
                }
            },
        }
    },
)
async def upload_form(task_id: Id, request: Request, actor: BrowserOrApiActor) -> Any:
    """For API clients that send forms; large files are better sent with PUT (streamed, one copy fewer).

    The form is not declared as a parameter: FastAPI would read the whole body into temporary files before the
    caller is known. Here the caller, the permission and the declared size are checked first, then the body is
    parsed as it streams in.
    """

    def check() -> None:
        with get_database().session() as session:
            services.check_can_upload(session=session, actor=actor, task_id=task_id)

    await asyncio.to_thread(check)
    limit = services.max_upload_bytes()
    length = request.headers.get('content-length', '')
    if length.isdigit() and int(length) > limit + uploads.FRAMING_BYTES:
        return _too_large(request, services.too_large(limit))
    try:
        form = await uploads.form_file(request, name='file', max_body=limit + uploads.FRAMING_BYTES)
        view = await services.receive_upload(
            actor=actor,
            task_id=task_id,
            filename=form.filename or 'file',
            content_type=form.content_type,
            chunks=form.chunks,
        )
    except uploads.BodyTooLarge:
        return _too_large(request, services.too_large(limit))
    except ValidationError as error:
        if services.validation_is_too_large(error):
            return _too_large(request, error)
        raise
    return JSONResponse(AttachmentOut.of(view).model_dump(mode='json'), status_code=201)


@router.get('/tasks/{task_id}/attachments', response_model=list[AttachmentOut], summary="A task's files")
def list_attachments(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Newest first."""
    return [AttachmentOut.of(v) for v in services.list_attachments(session=session, actor=actor, task_id=task_id)]


@router.get('/attachments/{attachment_id}', summary='Download a file', response_class=FileResponse)
async def download(attachment_id: Id, actor: BrowserOrApiActor) -> Any:
    """Always as a download (never shown inline), with the original name."""

    def find() -> Any:
        with get_database().session() as session:
            return services.open_attachment(session=session, actor=actor, attachment_id=attachment_id)

    row, path = await asyncio.to_thread(find)
    return FileResponse(
        path,
        media_type=services.served_type(row.content_type),
        headers={
            'Content-Disposition': services.content_disposition(row.filename),
            'X-Content-Type-Options': 'nosniff',
            'Content-Security-Policy': "default-src 'none'; sandbox",
            'Cache-Control': 'private, no-cache',
        },
    )


@router.delete('/attachments/{attachment_id}', status_code=204, summary='Delete a file')
def delete_attachment(attachment_id: Id, session: DB, actor: BrowserOrApiActor) -> Response:
    """Its uploader, or a project manager, removes a file."""
    services.delete_attachment(session=session, actor=actor, attachment_id=attachment_id)
    return Response(status_code=204)


router.include_router(api_collab_io.router)
