"""REST API of projects: create, list, read, change, archive, restore and delete, under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response

from appliance.api.deps import DB, Actor, Id, PageParams, Router
from modules.projects import services
from modules.projects.api.models import ProjectCreate, ProjectOut, ProjectPage, ProjectPatch
from modules.projects.services import UNSET

router = Router(prefix='/api/v1', tags=['projects'])


@router.post('/projects', response_model=ProjectOut, status_code=201, summary='Create a project')
def create_project(body: ProjectCreate, session: DB, actor: Actor) -> Any:
    """Create a project; needs the projects.create permission. The key must be unique."""
    return ProjectOut.of(services.create_project(session=session, actor=actor, **body.model_dump()))


@router.get('/projects', response_model=ProjectPage, summary='List the projects the caller may see')
def list_projects(
    session: DB,
    actor: Actor,
    paging: PageParams,
    status: Annotated[
        Literal['', 'active', 'on_hold', 'done', 'archived'],
        Query(description='A status; archived ones only when asked for.'),
    ] = '',
    q: Annotated[str, Query(max_length=200, description='Text in the key, name or description.')] = '',
) -> Any:
    """Visible projects by name, paginated."""
    page = services.list_projects(
        session=session, actor=actor, status=status, query=q, offset=paging.offset, limit=paging.limit
    )
    items = [ProjectOut.of(view) for view in page.items]
    return ProjectPage(items=items, total=page.total, offset=page.offset, limit=page.limit)


@router.get('/projects/{project_id}', response_model=ProjectOut, summary='One project')
def get_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """A project the caller may see (404 otherwise)."""
    return ProjectOut.of(services.get_project(session=session, actor=actor, project_id=project_id))


@router.patch('/projects/{project_id}', response_model=ProjectOut, summary='Change a project (managers)')
def patch_project(project_id: Id, body: ProjectPatch, session: DB, actor: Actor) -> Any:
    """Change name, description, status, visibility, dates or owner; send only what changes."""
    sent = body.model_fields_set
    view = services.update_project(
        session=session,
        actor=actor,
        project_id=project_id,
        name=body.name,
        description=body.description,
        status=body.status,
        visibility=body.visibility,
        start_date=body.start_date if 'start_date' in sent else UNSET,
        end_date=body.end_date if 'end_date' in sent else UNSET,
        owner_id=body.owner_id if 'owner_id' in sent else UNSET,
    )
    return ProjectOut.of(view)


@router.post('/projects/{project_id}/archive', response_model=ProjectOut, summary='Archive a project (managers)')
def archive_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """Make the project read-only and hide it from the default list."""
    return ProjectOut.of(services.archive_project(session=session, actor=actor, project_id=project_id))


@router.post('/projects/{project_id}/restore', response_model=ProjectOut, summary='Restore a project (managers)')
def restore_project(project_id: Id, session: DB, actor: Actor) -> Any:
    """Bring an archived project back to the status it had before."""
    return ProjectOut.of(services.restore_project(session=session, actor=actor, project_id=project_id))


@router.delete('/projects/{project_id}', status_code=204, summary='Delete a project (managers)')
def delete_project(
    project_id: Id,
    session: DB,
    actor: Actor,
    confirm: Annotated[str, Query(max_length=16, description='The project key, to confirm.')] = '',
) -> Response:
    """Delete an archived or empty project for good, with everything in it."""
    services.delete_project(session=session, actor=actor, project_id=project_id, confirm_key=confirm)
    return Response(status_code=204)
