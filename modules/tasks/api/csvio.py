"""REST API of CSV export and import of tasks (under /api/v1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from appliance import i18n
from appliance.api.deps import DB, BrowserOrApiActor, Id, Router, in_session
from appliance.api.errors import error_response
from appliance.db import run_db, run_write
from appliance.errors import ValidationError
from appliance.models import User
from appliance.services.permissions import require
from modules.projects.services import require_project
from modules.tasks import services
from modules.tasks.api.query import TaskQuery
from modules.tasks.services import content_disposition

router = Router(prefix='/api/v1', tags=['tasks'])


@router.get(
    '/tasks/export.csv',
    summary='Export a task list as CSV',
    response_class=Response,
    responses={200: {'content': {'text/csv': {}}}},
)
@router.get('/tasks.csv', summary='Export a task list as CSV (same as /tasks/export.csv)', response_class=Response)
def export_csv(session: DB, actor: BrowserOrApiActor, query: Annotated[TaskQuery, Depends()]) -> Response:
    """The same filters as GET /api/v1/tasks, every matching task (UTF-8 with BOM, for Excel)."""
    filters = query.filters(session, actor)
    data = services.export_csv(session, actor, filters)
    return Response(
        data,
        media_type='text/csv; charset=utf-8',
        headers={'Content-Disposition': content_disposition('tasks.csv'), 'X-Content-Type-Options': 'nosniff'},
    )


class ImportErrorOut(BaseModel):
    """A problem on one line of the file."""

    line: int
    column: str
    message: str


class ImportRowOut(BaseModel):
    """A row as it would be imported."""

    line: int
    title: str
    status: str
    priority: str
    assignees: list[str]
    labels: list[str]
    start: date | None
    due: date | None
    estimate: Decimal | None


class PreviewOut(BaseModel):
    """What the import would do; `ok` is true only when the whole file is valid."""

    ok: bool
    encoding: str
    count: int
    rows: list[ImportRowOut]
    errors: list[ImportErrorOut]
    new_labels: list[str]


class ImportedOut(BaseModel):
    """How many tasks were imported."""

    count: int


MAX_PREVIEW_ROWS = 200


async def _body(request: Request, actor: User, project_id: int) -> bytes:
    """The CSV file, read only after the caller may import into the project and its declared size fits."""

    def check(session: Session) -> None:
        require(actor, 'tasks.use', target=f'project:{project_id}')
        require_project(session, actor, project_id, 'member')

    await run_db(in_session, check, write=False)
    length = request.headers.get('content-length', '')
    if length.isdigit() and int(length) > services.MAX_IMPORT_BYTES:
        raise ValidationError('The file is larger than {n} MB. Split it into smaller files.', field='file', n=20)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > services.MAX_IMPORT_BYTES:
            raise ValidationError('The file is larger than {n} MB. Split it into smaller files.', field='file', n=20)
    return bytes(data)


def _errors_out(request: Request, preview: services.Preview) -> list[ImportErrorOut]:
    token = i18n.current_language.set(i18n.negotiate(request.headers.get('accept-language')))
    try:
        return [ImportErrorOut(line=e.line, column=e.column, message=e.text()) for e in preview.errors]
    finally:
        i18n.current_language.reset(token)


@router.post(
    '/projects/{project_id}/import/preview',
    response_model=PreviewOut,
    summary='Check a CSV file before importing it',
    description='Send the CSV file as the request body (UTF-8 or GBK). Nothing is written.',
)
async def import_preview(project_id: Id, request: Request, actor: BrowserOrApiActor) -> Any:
    """Every error with its line; the first 200 valid rows as they would be imported."""
    data = await _body(request, actor, project_id)

    def run(session: Session) -> services.Preview:
        return services.parse_import(session, actor, project_id, data)

    preview = await run_write(in_session, run)
    rows = [
        ImportRowOut(**{**row.__dict__, 'assignees': list(row.assignees), 'labels': list(row.labels)})
        for row in preview.rows[:MAX_PREVIEW_ROWS]
    ]
    return PreviewOut(
        ok=preview.ok,
        encoding=preview.encoding,
        count=len(preview.rows),
        rows=rows,
        errors=_errors_out(request, preview),
        new_labels=list(preview.new_labels),
    )


@router.post(
    '/projects/{project_id}/import',
    response_model=ImportedOut,
    status_code=201,
    summary='Import tasks from a CSV file (all or nothing)',
    description='Send the CSV file as the request body. 422 with the errors by line when any row is invalid; '
    'then nothing is written.',
)
async def import_tasks(project_id: Id, request: Request, actor: BrowserOrApiActor) -> Any:
    """Import every row in one transaction."""
    data = await _body(request, actor, project_id)

    def run(session: Session) -> int:
        return services.commit_import(session, actor, project_id, data)

    try:
        count = await run_write(in_session, run)
    except services.ImportInvalid as error:
        token = i18n.current_language.set(i18n.negotiate(request.headers.get('accept-language')))
        try:
            message = i18n.translate_error(error)
        finally:
            i18n.current_language.reset(token)
        errors = [e.model_dump() for e in _errors_out(request, error.preview)]
        return error_response(422, 'invalid', message, field='file', errors=errors)
    return JSONResponse({'count': count}, status_code=201)
