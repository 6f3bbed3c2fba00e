"""REST API of a task's files (under /api/v1).

File routes accept the browser's session cookie as well as a token (pages upload and download through them);
the same-origin check of `BrowserOrApiActor` guards the cookie on unsafe methods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from appliance.api import uploads
from appliance.api.deps import DB, BrowserOrApiActor, Id, Router, in_session
from appliance.db import run_db
from appliance.errors import ValidationError
from modules.tasks import services
from modules.tasks.api.collab_models import AttachmentOut

router = Router(prefix='/api/v1', tags=['tasks'])


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
        return uploads.too_large_response(request, declared)
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
            return uploads.too_large_response(request, error)
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

    def check(session: Session) -> None:
        services.check_can_upload(session=session, actor=actor, task_id=task_id)

    await run_db(in_session, check, write=False)
    limit = services.max_upload_bytes()
    length = request.headers.get('content-length', '')
    if length.isdigit() and int(length) > limit + uploads.FRAMING_BYTES:
        return uploads.too_large_response(request, services.too_large(limit))
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
        return uploads.too_large_response(request, services.too_large(limit))
    except ValidationError as error:
        if services.validation_is_too_large(error):
            return uploads.too_large_response(request, error)
        raise
    return JSONResponse(AttachmentOut.of(view).model_dump(mode='json'), status_code=201)


@router.get('/tasks/{task_id}/attachments', response_model=list[AttachmentOut], summary="A task's files")
def list_attachments(task_id: Id, session: DB, actor: BrowserOrApiActor) -> Any:
    """Newest first."""
    return [AttachmentOut.of(v) for v in services.list_attachments(session=session, actor=actor, task_id=task_id)]


@router.get('/attachments/{attachment_id}', summary='Download a file', response_class=FileResponse)
async def download(attachment_id: Id, actor: BrowserOrApiActor) -> Any:
    """Always as a download (never shown inline), with the original name."""

    def find(session: Session) -> Any:
        return services.open_attachment(session=session, actor=actor, attachment_id=attachment_id)

    row, path = await run_db(in_session, find, write=False)
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
