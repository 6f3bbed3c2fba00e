"""REST API of a project's members and their roles, under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from appliance.api.deps import DB, Actor, Id, Router
from modules.projects import services
from modules.projects.api.models import MemberAdd, MemberList, MemberOut, MemberPatch

router = Router(prefix='/api/v1', tags=['projects'])


@router.get('/projects/{project_id}/members', response_model=MemberList, summary="A project's members")
def list_members(project_id: Id, session: DB, actor: Actor) -> Any:
    """Everyone in the project with their role."""
    views = services.list_members(session=session, actor=actor, project_id=project_id)
    return MemberList(items=[MemberOut.of(view) for view in views])


@router.post(
    '/projects/{project_id}/members', response_model=MemberOut, status_code=201, summary='Add a member (managers)'
)
def add_member(project_id: Id, body: MemberAdd, session: DB, actor: Actor) -> Any:
    """Add an active user with a role."""
    view = services.add_member(
        session=session,
        actor=actor,
        project_id=project_id,
        user_id=body.user_id,
        username=body.username,
        role=body.role,
    )
    return MemberOut.of(view)


@router.patch(
    '/projects/{project_id}/members/{user_id}', response_model=MemberOut, summary="Change a member's role (managers)"
)
def change_role(project_id: Id, user_id: Id, body: MemberPatch, session: DB, actor: Actor) -> Any:
    """Give a member another role; the last manager cannot step down."""
    view = services.change_role(session=session, actor=actor, project_id=project_id, user_id=user_id, role=body.role)
    return MemberOut.of(view)


@router.delete('/projects/{project_id}/members/{user_id}', status_code=204, summary='Remove a member')
def remove_member(project_id: Id, user_id: Id, session: DB, actor: Actor) -> Response:
    """Managers remove anyone; a member may remove themselves. The last manager stays."""
    services.remove_member(session=session, actor=actor, project_id=project_id, user_id=user_id)
    return Response(status_code=204)
