"""Personnel tables (prefix `people_`): employee records, their sealed values and their dated history.

The plain columns of `Employee` are the non-sensitive fields of `fields.FIELDS`; sensitive ones are rows of
`SealedValue` (one per record and field), so that no column of this module ever holds a sensitive plaintext and a new
sensitive custom field needs no migration.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db import Base, utcnow


class Employee(Base):
    """A person's personnel record, linked to their account when they have one."""

    __tablename__ = 'people_employees'
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey('core_users.id', ondelete='SET NULL'), default=None, unique=True
    )
    employee_no: Mapped[str] = mapped_column(String(32), unique=True)
    legal_name: Mapped[str] = mapped_column(String(100))
    english_name: Mapped[str] = mapped_column(String(100), default='')
    work_location: Mapped[str] = mapped_column(String(100), default='')
    employment_type: Mapped[str] = mapped_column(String(16), default='full_time')
    status: Mapped[str] = mapped_column(String(16), default='onboarding')
    hire_date: Mapped[date | None] = mapped_column(default=None)
    probation_end: Mapped[date | None] = mapped_column(default=None)
    confirmation_date: Mapped[date | None] = mapped_column(default=None)
    leave_date: Mapped[date | None] = mapped_column(default=None)
    first_work_date: Mapped[date | None] = mapped_column(default=None)
    gender: Mapped[str] = mapped_column(String(16), default='')
    birth_date: Mapped[date | None] = mapped_column(default=None)
    nationality: Mapped[str] = mapped_column(String(100), default='')
    ethnicity: Mapped[str] = mapped_column(String(32), default='')
    political_status: Mapped[str] = mapped_column(String(16), default='')
    hukou_type: Mapped[str] = mapped_column(String(16), default='')
    hukou_location: Mapped[str] = mapped_column(String(200), default='')
    leave_reason: Mapped[str] = mapped_column(String(500), default='')
    id_type: Mapped[str] = mapped_column(String(16), default='')
    bank_name: Mapped[str] = mapped_column(String(100), default='')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SealedValue(Base):
    """A sensitive field of a record: sealed text (opened only by `sealing.Sealer` with its table, field and row),
    a keyed lookup for duplicates and uniqueness, and the mask lists show."""

    __tablename__ = 'people_sealed'
    __table_args__ = (Index('ix_people_sealed_lookup', 'field', 'lookup'),)
    employee_id: Mapped[int] = mapped_column(ForeignKey('people_employees.id', ondelete='CASCADE'), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    lookup: Mapped[str] = mapped_column(String(64))
    mask: Mapped[str] = mapped_column(String(64), default='')


class HistoryEntry(Base):
    """An effective-dated change of a record: department, position, manager, status or contract."""

    __tablename__ = 'people_history'
    __table_args__ = (UniqueConstraint('employee_id', 'kind', 'effective_from', name='uq_people_history_day'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey('people_employees.id', ondelete='CASCADE'), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[date]
    value: Mapped[str] = mapped_column(Text, default='{}')
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64), default='')
