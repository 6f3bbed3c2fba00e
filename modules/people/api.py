"""REST API of personnel records under /api/v1/people: the same services, so the same classification rules.

A record is answered with the fields the caller may see (`records.view`); sensitive values come masked, and
`POST /api/v1/people/{id}/reveal` is the only way to a plaintext (with a reason, audited).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from appliance.api.deps import DB, Actor, Id, IdValue, PageParams, Router
from modules.people import services as records


class RecordOut(BaseModel):
    """A record as the caller may see it: `fields` holds only what their relation allows (sensitive ones masked)."""

    id: int
    user_id: int | None
    relations: list[str]
    fields: dict[str, str | date | None]

    @classmethod
    def of(cls, seen: records.RecordView) -> RecordOut:
        """Build from a view."""
        return cls(id=seen.id, user_id=seen.user_id, relations=sorted(seen.relations), fields=dict(seen.values))


class RecordPage(BaseModel):
    """A page of records."""

    items: list[RecordOut]
    total: int
    offset: int
    limit: int


class RecordIn(BaseModel):
    """Fields to set (by name, see GET /api/v1/people/fields); absent ones stay. Dates as YYYY-MM-DD."""

    fields: dict[str, str | None] = Field(max_length=100)
    user_id: IdValue | None = None


class RevealIn(BaseModel):
    """Which sensitive field, and why."""

    field: str = Field(max_length=64)
    reason: str = Field(max_length=1000)


class RevealOut(BaseModel):
    """The plain value (the look is in the audit log)."""

    field: str
    value: str


class FieldOut(BaseModel):
    """A field of the registry: its name, classification, kind and choices."""

    name: str
    level: str
    kind: str
    choices: list[str]
    required: bool


def router() -> Router:
    """The module's routes."""
    from modules.people.fields import FIELDS

    api = Router(prefix='/api/v1')

    @api.get('/people/fields', response_model=list[FieldOut], summary='The fields of a record')
    def fields(actor: Actor) -> Any:
        """Every field with its classification: public, internal, hr, sensitive."""
        return [
            FieldOut(
                name=f.name,
                level=f.level.value,
                kind=f.kind.value,
                choices=[k for k, _ in f.choices],
                required=f.required,
            )
            for f in FIELDS
        ]

    @api.get('/people', response_model=RecordPage, summary='List records (HR)')
    def list_people(
        session: DB,
        actor: Actor,
        paging: PageParams,
        q: Annotated[str, Query(max_length=200)] = '',
        status: Annotated[str, Query(max_length=16)] = '',
    ) -> Any:
        """Records by employee number or name, optionally of one status."""
        page = records.list_records(session, actor, query=q, status=status, offset=paging.offset, limit=paging.limit)
        return RecordPage(
            items=[RecordOut.of(item) for item in page.items], total=page.total, offset=page.offset, limit=page.limit
        )

    @api.post('/people', response_model=RecordOut, status_code=201, summary='Create a record (HR)')
    def create_person(body: RecordIn, session: DB, actor: Actor) -> Any:
        """A new record; every field is checked before anything is written."""
        values: dict[str, Any] = dict(body.fields)
        if body.user_id is not None:
            values['user_id'] = body.user_id
        made = records.save(session, actor, values)
        return RecordOut.of(records.view(session, actor, made.id))

    @api.get('/people/{employee_id}', response_model=RecordOut, summary='One record, as the caller may see it')
    def get_person(employee_id: Id, session: DB, actor: Actor) -> Any:
        """Public fields for every member; more for the person, their managers and HR."""
        return RecordOut.of(records.view(session, actor, employee_id))

    @api.patch('/people/{employee_id}', response_model=RecordOut, summary='Change a record (HR)')
    def patch_person(employee_id: Id, body: RecordIn, session: DB, actor: Actor) -> Any:
        """Only the fields sent change."""
        values: dict[str, Any] = dict(body.fields)
        if 'user_id' in body.model_fields_set:
            values['user_id'] = body.user_id
        records.save(session, actor, values, employee_id=employee_id)
        return RecordOut.of(records.view(session, actor, employee_id))

    @api.post('/people/{employee_id}/reveal', response_model=RevealOut, summary='Reveal a sensitive field')
    def reveal(employee_id: Id, body: RevealIn, session: DB, actor: Actor) -> Any:
        """The person themself, or a holder of people.read_sensitive, with a reason (audited)."""
        return RevealOut(field=body.field, value=records.reveal(session, actor, employee_id, body.field, body.reason))

    return api
