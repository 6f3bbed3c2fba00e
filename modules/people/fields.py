"""Every field of a personnel record, declared once with its classification.

Everything that shows, takes or stores a field is generated from this list: the forms, the API schemas, the import
and export columns, the search terms, and the role x field x surface test matrix. A field's classification decides
who may see it, in the services (`records.view`), never only in a page:

- `public`: the directory's facts, for every member;
- `internal`: the person, their managers (up the line) and HR;
- `hr`: HR only;
- `sensitive`: sealed at rest (`sealing.py`); HR and the person see it masked, and a plaintext only through
  `records.reveal`, which asks for a reason and records who looked at what of whom.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from appliance.errors import N_


class Level(enum.StrEnum):
    """How far a field may travel, narrowest last."""

    PUBLIC = 'public'
    INTERNAL = 'internal'
    HR = 'hr'
    SENSITIVE = 'sensitive'


class Kind(enum.StrEnum):
    """What a field holds."""

    TEXT = 'text'
    DATE = 'date'
    CHOICE = 'choice'
    NUMBER = 'number'


@dataclass(frozen=True)
class Field:
    """One field: its column (or sealed name), label, level, kind, the choices of a choice field and a length."""

    name: str
    label: str
    level: Level
    kind: Kind = Kind.TEXT
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 100
    required: bool = False

    @property
    def sealed(self) -> bool:
        """Sensitive fields are kept sealed, never as a column of plain text."""
        return self.level is Level.SENSITIVE


GENDERS = (('female', N_('Female')), ('male', N_('Male')), ('other', N_('Other')), ('unstated', N_('Not stated')))
EMPLOYMENT_TYPES = (
    ('full_time', N_('Full-time')),
    ('part_time', N_('Part-time')),
    ('intern', N_('Intern')),
    ('contractor', N_('Contractor')),
    ('dispatched', N_('Dispatched worker (劳务派遣)')),
)
STATUSES = (
    ('onboarding', N_('Onboarding')),
    ('active', N_('Employed')),
    ('on_leave', N_('On leave')),
    ('leaving', N_('Leaving')),
    ('left', N_('Left')),
)
ID_TYPES = (
    ('resident_id', N_('Resident identity card (居民身份证)')),
    ('passport', N_('Passport')),
    ('hk_macao_taiwan', N_('Mainland travel permit (港澳台通行证)')),
)
HUKOU_TYPES = (('urban', N_('Urban (城镇)')), ('rural', N_('Rural (农村)')))
POLITICAL = (
    ('masses', N_('Masses (群众)')),
    ('cyl', N_('Communist Youth League member (共青团员)')),
    ('cpc', N_('CPC member (中共党员)')),
    ('cpc_probation', N_('CPC probationary member (中共预备党员)')),
    ('other_party', N_('Member of another party (民主党派)')),
)

FIELDS: tuple[Field, ...] = (
    Field('employee_no', N_('Employee number'), Level.PUBLIC, max_length=32, required=True),
    Field('legal_name', N_('Legal name'), Level.PUBLIC, required=True),
    Field('english_name', N_('English name'), Level.PUBLIC),
    Field('work_location', N_('Work location'), Level.PUBLIC),
    Field('employment_type', N_('Employment type'), Level.INTERNAL, Kind.CHOICE, EMPLOYMENT_TYPES),
    Field('status', N_('Status'), Level.INTERNAL, Kind.CHOICE, STATUSES, required=True),
    Field('hire_date', N_('Hire date'), Level.INTERNAL, Kind.DATE),
    Field('probation_end', N_('Probation ends (试用期)'), Level.INTERNAL, Kind.DATE),
    Field('confirmation_date', N_('Confirmed on (转正)'), Level.INTERNAL, Kind.DATE),
    Field('leave_date', N_('Leave date'), Level.INTERNAL, Kind.DATE),
    Field('first_work_date', N_('First work date (首次参加工作时间)'), Level.INTERNAL, Kind.DATE),
    Field('gender', N_('Gender'), Level.HR, Kind.CHOICE, GENDERS),
    Field('birth_date', N_('Birth date'), Level.HR, Kind.DATE),
    Field('nationality', N_('Nationality'), Level.HR),
    Field('ethnicity', N_('Ethnicity (民族)'), Level.HR, max_length=32),
    Field('political_status', N_('Political status (政治面貌)'), Level.HR, Kind.CHOICE, POLITICAL),
    Field('hukou_type', N_('Household registration type (户籍类型)'), Level.HR, Kind.CHOICE, HUKOU_TYPES),
    Field('hukou_location', N_('Household registration (户口所在地)'), Level.HR, max_length=200),
    Field('leave_reason', N_('Leave reason'), Level.HR, max_length=500),
    Field('id_type', N_('ID type'), Level.HR, Kind.CHOICE, ID_TYPES),
    Field('id_number', N_('ID number'), Level.SENSITIVE, max_length=32),
    Field('social_security_no', N_('Social insurance account (社保)'), Level.SENSITIVE, max_length=40),
    Field('housing_fund_no', N_('Housing fund account (公积金)'), Level.SENSITIVE, max_length=40),
    Field('bank_name', N_('Bank'), Level.HR),
    Field('bank_card', N_('Bank card number'), Level.SENSITIVE, max_length=32),
    Field('salary', N_('Salary'), Level.SENSITIVE, Kind.NUMBER, max_length=20),
    Field('health_notes', N_('Health notes'), Level.SENSITIVE, max_length=2000),
)

BY_NAME = {field.name: field for field in FIELDS}
SEALED = tuple(field.name for field in FIELDS if field.sealed)
PLAIN = tuple(field.name for field in FIELDS if not field.sealed)


class Relation(enum.StrEnum):
    """How a reader stands to a record; a reader may stand in several ways at once (HR reading their own)."""

    COLLEAGUE = 'colleague'
    SELF = 'self'
    MANAGER = 'manager'
    HR = 'hr'


def visible(level: Level, relations: set[Relation]) -> bool:
    """Whether a reader with `relations` to a record sees a field of `level` at all (sensitive ones masked)."""
    if level is Level.PUBLIC:
        return True
    if level is Level.INTERNAL:
        return bool(relations & {Relation.SELF, Relation.MANAGER, Relation.HR})
    if level is Level.HR:
        return Relation.HR in relations
    return bool(relations & {Relation.SELF, Relation.HR})
