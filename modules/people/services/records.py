"""Employee records: the one place that reads, writes and reveals them, with the classification applied.

Every surface (pages, API, search, export, import preview, notifications, activity, audit details, logs) reads a
record through `view`, which leaves out what the reader may not see and masks sensitive values; `reveal` is the only
way to a sensitive plaintext, and it records who looked at which field of whom and why.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.db import utcnow
from appliance.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import User
from appliance.secrets import data_encryption_key
from appliance.services import audit, directory
from appliance.services.actors import Actor
from appliance.services.paging import Page, paginate
from appliance.services.permissions import has_permission, require
from modules.people.fields import BY_NAME, FIELDS, Field, Kind, Level, Relation, visible
from modules.people.models import Employee, SealedValue
from modules.people.sealing import Sealer, china_id_check, mask

MANAGE = 'people.manage'
READ_SENSITIVE = 'people.read_sensitive'
TABLE = 'people_sealed'
EMPLOYEE_NO = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$')
REASON_MIN, REASON_MAX = 4, 500
DUPLICATE = {
    'id_number': N_('Another record already holds this ID number.'),
    'bank_card': N_('Another record already holds this bank card number.'),
}
ID_PROBLEMS = {
    'length': N_('This is not a valid resident ID number: it has 18 characters, digits and a last digit or X.'),
    'birth date': N_('This is not a valid resident ID number: the birth date in it does not exist.'),
    'check digit': N_('This is not a valid resident ID number: its last character does not match (a typing error?).'),
}


@functools.lru_cache(maxsize=8)
def _sealer_for(data_dir: Path) -> Sealer:
    return Sealer.from_data_key(data_encryption_key(data_dir))


def sealer() -> Sealer:
    """The sealer of this box (keys derived from its data key)."""
    return _sealer_for(Path(get_settings().data_dir))


# Who stands how to a record.


def relations_of(session: Session, actor: Actor, employee: Employee) -> set[Relation]:
    """The reader's relations to a record: always a colleague; the person; a manager up their line; HR."""
    found = {Relation.COLLEAGUE}
    if employee.user_id is not None and actor.id == employee.user_id:
        found.add(Relation.SELF)
    if employee.user_id is not None and actor.id is not None and _manages(session, actor.id, employee.user_id):
        found.add(Relation.MANAGER)
    if has_permission(actor, MANAGE):
        found.add(Relation.HR)
    return found


def _manages(session: Session, manager_id: int, user_id: int) -> bool:
    seen: set[int] = {user_id}
    current = directory.manager_of(session, user_id)
    while current is not None and current not in seen:
        if current == manager_id:
            return True
        seen.add(current)
        current = directory.manager_of(session, current)
    return False


# Reading.


@dataclass(frozen=True)
class RecordView:
    """A record as one reader may see it: only the fields their relations allow, sensitive ones masked."""

    id: int
    user_id: int | None
    relations: frozenset[Relation]
    values: dict[str, Any]

    def shows(self, name: str) -> bool:
        """Whether the reader sees the field `name` at all."""
        return name in self.values


def _get(session: Session, employee_id: int) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(N_('No such personnel record.'))
    return employee


def view(session: Session, actor: Actor, employee_id: int) -> RecordView:
    """The record as `actor` may see it (members see its public fields; see `fields.visible`)."""
    require(actor, 'core.directory', target=f'employee#{employee_id}')
    employee = _get(session, employee_id)
    relations = relations_of(session, actor, employee)
    masks = {
        row.field: row.mask
        for row in session.scalars(select(SealedValue).where(SealedValue.employee_id == employee.id))
    }
    values: dict[str, Any] = {}
    for field in FIELDS:
        if not visible(field.level, relations):
            continue
        values[field.name] = masks.get(field.name, '') if field.sealed else getattr(employee, field.name)
    return RecordView(employee.id, employee.user_id, frozenset(relations), values)


def reveal(session: Session, actor: Actor, employee_id: int, field_name: str, reason: str) -> str:
    """A sensitive value in plain text, for the person themself or a holder of `people.read_sensitive`, with a
    reason; recorded in the audit log (who, whose, which field, why), never with the value."""
    employee = _get(session, employee_id)
    relations = relations_of(session, actor, employee)
    if Relation.SELF not in relations and not has_permission(actor, READ_SENSITIVE):
        audit.record_now(
            actor=actor,
            action='permission.denied',
            target=f'employee:{employee.employee_no}',
            details={'permission': READ_SENSITIVE, 'field': field_name[:64]},
        )
        raise PermissionDenied(permission=READ_SENSITIVE)
    field = BY_NAME.get(field_name)
    if field is None or not field.sealed:
        raise ValidationError(N_('Only a sensitive field is revealed.'), field='field')
    reason = ' '.join(reason.split())
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationError(
            N_('Say why you need to see it ({low} to {high} characters).'),
            field='reason',
            low=REASON_MIN,
            high=REASON_MAX,
        )
    row = session.get(SealedValue, (employee.id, field.name))
    plain = sealer().open(row.sealed, table=TABLE, column=field.name, row_id=employee.id) if row else ''
    audit.record(
        session=session,
        actor=actor,
        action='people.revealed',
        target=f'employee:{employee.employee_no}',
        details={'field': field.name, 'reason': reason, 'own': Relation.SELF in relations},
    )
    return plain


# Writing (HR).


def _clean(field: Field, raw: Any) -> Any:
    if field.kind is Kind.DATE:
        if raw in (None, ''):
            return None
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw))
        except ValueError as error:
            raise ValidationError(N_('Use a date as YYYY-MM-DD.'), field=field.name) from error
    text = ' '.join(str(raw or '').split())
    if field.required and not text:
        raise ValidationError(N_('This field is required.'), field=field.name)
    if len(text) > field.max_length:
        raise ValidationError(N_('At most {n} characters.'), field=field.name, n=field.max_length)
    if not text.isprintable():
        raise ValidationError(N_('Control characters are not allowed.'), field=field.name)
    if field.kind is Kind.CHOICE and text and text not in {key for key, _label in field.choices}:
        raise ValidationError(N_('Choose one of the offered values.'), field=field.name)
    if field.kind is Kind.NUMBER and text:
        try:
            number = Decimal(text)
        except InvalidOperation as error:
            raise ValidationError(N_('Enter a number.'), field=field.name) from error
        if not number.is_finite() or number < 0:
            raise ValidationError(N_('Enter a number.'), field=field.name)
    return text


def _check_identity(values: dict[str, Any]) -> None:
    number, kind = values.get('id_number'), values.get('id_type')
    if number and kind == 'resident_id':
        problem = china_id_check(number)
        if problem is not None:
            raise ValidationError(ID_PROBLEMS[problem], field='id_number')


def save(session: Session, actor: Actor, values: dict[str, Any], *, employee_id: int | None = None) -> Employee:
    """Create a record (no `employee_id`) or change one (only the fields given); HR only. Every value is checked
    before anything is written; a sensitive value is sealed; an ID number another record holds is refused."""
    require(actor, MANAGE, target=f'employee#{employee_id}' if employee_id else 'employees')
    unknown = sorted(set(values) - set(BY_NAME) - {'user_id'})
    if unknown:
        raise ValidationError(N_('Unknown fields: {names}.'), field=unknown[0], names=', '.join(unknown))
    employee = _get(session, employee_id) if employee_id is not None else None
    fields = FIELDS if employee is None else [BY_NAME[name] for name in values if name in BY_NAME]
    cleaned = {field.name: _clean(field, values.get(field.name, _default(field))) for field in fields}
    if employee is None or 'id_type' in cleaned or 'id_number' in cleaned:
        _check_identity({'id_type': employee.id_type if employee else '', **cleaned})
    if 'employee_no' in cleaned and not EMPLOYEE_NO.match(cleaned['employee_no']):
        raise ValidationError(
            N_('An employee number is 1 to 32 letters, digits, dots, dashes or underscores.'), field='employee_no'
        )
    taken = (
        session.scalar(select(Employee.id).where(Employee.employee_no == cleaned.get('employee_no', '')))
        if 'employee_no' in cleaned
        else None
    )
    if taken is not None and taken != employee_id:
        raise Conflict(N_('The employee number {number} is already used.'), number=cleaned['employee_no'])
    for name in ('id_number', 'bank_card'):
        if cleaned.get(name):
            other = session.scalar(
                select(SealedValue.employee_id).where(
                    SealedValue.field == name, SealedValue.lookup == sealer().lookup(cleaned[name], column=name)
                )
            )
            if other is not None and other != employee_id:
                raise Conflict(DUPLICATE[name])
    if employee is None:
        employee = Employee(employee_no=cleaned['employee_no'], legal_name=cleaned['legal_name'])
        session.add(employee)
    if 'user_id' in values and values['user_id'] != employee.user_id:
        employee.user_id = _linkable(session, values['user_id'], employee.id)
    for name, value in cleaned.items():
        if not BY_NAME[name].sealed:
            setattr(employee, name, value if value is not None or BY_NAME[name].kind is Kind.DATE else '')
    employee.updated_at = utcnow()
    session.flush()
    for name, value in cleaned.items():
        if BY_NAME[name].sealed:
            _seal(session, employee.id, name, value)
    changed = sorted(cleaned)
    audit.record(
        session=session,
        actor=actor,
        action='people.created' if employee_id is None else 'people.updated',
        target=f'employee:{employee.employee_no}',
        details={'fields': changed},  # names only: never a value (some are sensitive)
    )
    return employee


def _linkable(session: Session, user_id: Any, own_id: int | None) -> int | None:
    """An account a record may be linked to: one that exists and has no other record."""
    if user_id is None:
        return None
    if not isinstance(user_id, int) or session.get(User, user_id) is None:
        raise ValidationError(N_('No such account.'), field='user_id')
    other = session.scalar(select(Employee.id).where(Employee.user_id == user_id))
    if other is not None and other != own_id:
        raise Conflict(N_('That account already has a personnel record.'))
    return user_id


def _default(field: Field) -> Any:
    return {'status': 'active', 'employment_type': 'full_time'}.get(field.name)


def _seal(session: Session, employee_id: int, name: str, value: str) -> None:
    row = session.get(SealedValue, (employee_id, name))
    if not value:
        if row is not None:
            session.delete(row)
        return
    sealed = sealer().seal(value, table=TABLE, column=name, row_id=employee_id)
    lookup = sealer().lookup(value, column=name)
    shown = mask(value) if BY_NAME[name].kind is not Kind.NUMBER else '****'
    if row is None:
        session.add(SealedValue(employee_id=employee_id, field=name, sealed=sealed, lookup=lookup, mask=shown))
    else:
        row.sealed, row.lookup, row.mask = sealed, lookup, shown


def level_of(name: str) -> Level:
    """A field's classification."""
    return BY_NAME[name].level


def own_record(session: Session, actor: Actor) -> int | None:
    """The id of the actor's own record, if HR keeps one for them."""
    if actor.id is None:
        return None
    return session.scalar(select(Employee.id).where(Employee.user_id == actor.id))


def list_records(
    session: Session, actor: Actor, *, query: str = '', status: str = '', offset: int = 0, limit: int = 50
) -> Page[RecordView]:
    """Records found by number or name (HR), each as HR may see it, ordered by employee number."""
    from appliance.search import like_pattern

    require(actor, MANAGE, target='employees')
    stmt = select(Employee.id)
    text = query.strip()
    if text:
        like = like_pattern(text)
        stmt = stmt.where(
            or_(
                Employee.employee_no.ilike(like, escape='\\'),
                Employee.legal_name.ilike(like, escape='\\'),
                Employee.english_name.ilike(like, escape='\\'),
            )
        )
    if status:
        if status not in {key for key, _label in BY_NAME['status'].choices}:
            raise ValidationError(N_('Choose one of the offered values.'), field='status')
        stmt = stmt.where(Employee.status == status)
    page = paginate(session, stmt.order_by(Employee.employee_no), offset=offset, limit=limit)
    return Page(
        items=[view(session, actor, employee_id) for employee_id in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )
