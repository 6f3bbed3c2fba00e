"""Directory API: departments (the tree, its changes and history), where people sit, and the colleague directory."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from appliance.api.deps import DB, Actor, Id, IdValue, PageParams, Router
from appliance.models import Department, DepartmentEvent
from appliance.services import directory

router = Router(prefix='/api/v1')


class DepartmentOut(BaseModel):
    """A department of the tree, with its heads, its own people and everyone under it (active accounts)."""

    id: int
    name: str
    code: str
    parent_id: int | None
    order: int
    heads: list[int]
    head_names: list[str]
    members: int
    total: int
    children: list[DepartmentOut]

    @classmethod
    def of(cls, node: directory.DepartmentNode) -> DepartmentOut:
        """Build from a tree node."""
        return cls(
            id=node.id,
            name=node.name,
            code=node.code,
            parent_id=node.parent_id,
            order=node.order,
            heads=[uid for uid, _name in node.heads],
            head_names=[name for _uid, name in node.heads],
            members=node.members,
            total=node.total,
            children=[cls.of(child) for child in node.children],
        )


class DepartmentOne(BaseModel):
    """One department, open or closed."""

    id: int
    name: str
    code: str
    parent_id: int | None
    order: int
    closed_at: datetime | None
    merged_into_id: int | None
    path: list[str]
    members: list[int]

    @classmethod
    def of(cls, department: Department, path: list[str], members: list[int]) -> DepartmentOne:
        """Build from a model."""
        return cls(
            id=department.id,
            name=department.name,
            code=department.code or '',
            parent_id=department.parent_id,
            order=department.sort_order,
            closed_at=department.closed_at,
            merged_into_id=department.merged_into_id,
            path=path,
            members=members,
        )


class DepartmentCreate(BaseModel):
    """A new department."""

    name: str = Field(max_length=300)
    parent_id: IdValue | None = None
    code: str = Field(default='', max_length=100)
    order: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)


class DepartmentPatch(BaseModel):
    """What to change; absent fields stay. `parent_id: null` moves it to the top."""

    name: str | None = Field(default=None, max_length=300)
    code: str | None = Field(default=None, max_length=100)
    order: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    parent_id: IdValue | None = None
    heads: list[IdValue] | None = Field(default=None, max_length=50)


class MergeIn(BaseModel):
    """Where a department goes."""

    into: IdValue


class EventOut(BaseModel):
    """A change to a department."""

    at: datetime
    actor: str
    action: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: DepartmentEvent) -> EventOut:
        """Build from a model."""
        return cls(at=event.at, actor=event.actor_name, action=event.action, details=json.loads(event.details or '{}'))


class PlacementOut(BaseModel):
    """Where a person sits; `manager_id` is the one set on the account, `reports_to` whom they report to."""

    main_department_id: int | None
    other_department_ids: list[int]
    position: str
    manager_id: int | None
    work_phone: str
    reports_to: int | None


class PlacementIn(BaseModel):
    """What to change; absent fields stay, `null` clears the main department or the manager."""

    main_department_id: IdValue | None = None
    other_department_ids: list[IdValue] | None = Field(default=None, max_length=50)
    position: str | None = Field(default=None, max_length=300)
    manager_id: IdValue | None = None
    work_phone: str | None = Field(default=None, max_length=100)


class ColleagueOut(BaseModel):
    """What every member sees of a colleague."""

    id: int
    username: str
    name: str
    position: str
    work_phone: str
    email: str
    departments: list[str]
    manager: str


class ColleaguePage(BaseModel):
    """A page of colleagues."""

    items: list[ColleagueOut]
    total: int
    offset: int
    limit: int


@router.get('/departments', response_model=list[DepartmentOut], summary='The department tree')
def department_tree(session: DB, actor: Actor) -> Any:
    """The open departments as a tree, each with its heads and head counts."""
    return [DepartmentOut.of(node) for node in directory.tree(session, actor)]


@router.post('/departments', response_model=DepartmentOne, status_code=201, summary='Create a department (admin)')
def create_department(body: DepartmentCreate, session: DB, actor: Actor) -> Any:
    """A new department, at the top or under `parent_id`."""
    department = directory.create_department(
        session, actor, name=body.name, parent_id=body.parent_id, code=body.code, order=body.order
    )
    return _one(session, department)


@router.get('/departments/{department_id}', response_model=DepartmentOne, summary='One department')
def get_department(department_id: Id, session: DB, actor: Actor) -> Any:
    """A department (also a closed or merged one), its path and its people (without sub-departments)."""
    return _one(session, directory.get_department(session, actor, department_id))


def _one(session: Any, department: Department) -> DepartmentOne:
    path = [item.name for item in directory.path_of(session, department.id)]
    members = directory.members_of(session, department.id, with_subdepartments=False)
    return DepartmentOne.of(department, path, members)


@router.patch('/departments/{department_id}', response_model=DepartmentOne, summary='Change a department (admin)')
def patch_department(department_id: Id, body: DepartmentPatch, session: DB, actor: Actor) -> Any:
    """Rename, recode, reorder, move (`parent_id`, `null` for the top) or set its heads."""
    changes = body.model_fields_set
    department = directory.update_department(
        session,
        actor,
        department_id,
        name=body.name,
        code=body.code,
        order=body.order,
        **({'parent_id': body.parent_id} if 'parent_id' in changes else {}),
    )
    if body.heads is not None:
        directory.set_heads(session, actor, department_id, body.heads)
    return _one(session, department)


@router.post('/departments/{department_id}/merge', response_model=DepartmentOne, summary='Merge (admin)')
def merge_department(department_id: Id, body: MergeIn, session: DB, actor: Actor) -> Any:
    """Move its people, heads and sub-departments into `into` and close it; answers the department merged into."""
    return _one(session, directory.merge_departments(session, actor, department_id, body.into))


@router.delete('/departments/{department_id}', status_code=204, summary='Close an empty department (admin)')
def close_department(department_id: Id, session: DB, actor: Actor) -> Response:
    """Close it (kept in the history); refused while people or sub-departments are in it."""
    directory.close_department(session, actor, department_id)
    return Response(status_code=204)


@router.get('/departments/{department_id}/history', response_model=list[EventOut], summary='Its history')
def department_history(department_id: Id, session: DB, actor: Actor) -> Any:
    """Created, renamed, moved, merged, closed: newest first."""
    return [EventOut.of(event) for event in directory.history(session, actor, department_id)]


@router.get('/directory', response_model=ColleaguePage, summary='The colleague directory')
def colleagues(
    session: DB,
    actor: Actor,
    paging: PageParams,
    q: Annotated[str, Query(max_length=200)] = '',
    department: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Any:
    """Active colleagues by name, username, position, phone or e-mail; `department` includes its sub-departments."""
    page = directory.colleagues(
        session, actor, query=q, department_id=department, offset=paging.offset, limit=paging.limit
    )
    items = [ColleagueOut(**{**item.__dict__, 'departments': list(item.departments)}) for item in page.items]
    return ColleaguePage(items=items, total=page.total, offset=page.offset, limit=page.limit)


@router.get('/users/{user_id}/placement', response_model=PlacementOut, summary='Where a person sits')
def get_placement(user_id: Id, session: DB, actor: Actor) -> Any:
    """Departments, position, manager and work phone (admin, or the person)."""
    return _placement(session, directory.placement_of(session, actor, user_id), user_id)


@router.put('/users/{user_id}/placement', response_model=PlacementOut, summary='Place a person (admin)')
def put_placement(user_id: Id, body: PlacementIn, session: DB, actor: Actor) -> Any:
    """Set departments, position, manager and work phone; absent fields stay."""
    changes = body.model_fields_set
    placed = directory.place_user(
        session,
        actor,
        user_id,
        other_department_ids=body.other_department_ids,
        position=body.position,
        work_phone=body.work_phone,
        **{name: getattr(body, name) for name in ('main_department_id', 'manager_id') if name in changes},
    )
    return _placement(session, placed, user_id)


def _placement(session: Any, placed: directory.Placement, user_id: int) -> PlacementOut:
    return PlacementOut(
        main_department_id=placed.main_department_id,
        other_department_ids=list(placed.other_department_ids),
        position=placed.position,
        manager_id=placed.manager_id,
        work_phone=placed.work_phone,
        reports_to=directory.manager_of(session, user_id),
    )
