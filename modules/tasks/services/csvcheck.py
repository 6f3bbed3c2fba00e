"""Checking a CSV file for import: its encoding (UTF-8 or GBK), column names (English or Chinese), every row.

Used by modules/tasks/csvio.py; the rules are those of `create_task` (modules/tasks/common.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.errors import N_, NP_, ServiceError, ValidationError
from appliance.models import User
from modules.projects.models import Member
from modules.tasks.models import PRIORITIES, Label, Status
from modules.tasks.services.common import (
    LABEL_NAME_MAX,
    check_dates,
    clean_date,
    clean_description,
    clean_estimate,
    clean_priority,
    clean_title,
)

HEADER_ALIASES = {
    'ref': 'ref',
    '编号': 'ref',
    'title': 'title',
    '标题': 'title',
    'status': 'status',
    '状态': 'status',
    'priority': 'priority',
    '优先级': 'priority',
    'assignees': 'assignees',
    'assignee': 'assignees',
    '负责人': 'assignees',
    'labels': 'labels',
    'label': 'labels',
    '标签': 'labels',
    'start': 'start',
    'start date': 'start',
    'start_date': 'start',
    '开始日期': 'start',
    'due': 'due',
    'due date': 'due',
    'due_date': 'due',
    '截止日期': 'due',
    'estimate': 'estimate',
    'estimate_hours': 'estimate',
    '估时': 'estimate',
    'description': 'description',
    '描述': 'description',
}
PRIORITY_ALIASES = {'低': 'low', '普通': 'normal', '中': 'normal', '高': 'high', '紧急': 'urgent'}
_SPLIT = str.maketrans({';': ',', '；': ',', '，': ',', '、': ','})


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its line (1 = the header), the column, and a message (msgid with `params`)."""

    line: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The message in the current language."""
        from appliance import i18n

        return i18n.gettext(self.message, **self.params)


@dataclass(frozen=True)
class ImportRow:
    """One valid row, ready to insert."""

    line: int
    title: str
    status: str
    priority: str
    assignees: tuple[str, ...]
    labels: tuple[str, ...]
    start: date | None
    due: date | None
    estimate: Decimal | None
    description: str


@dataclass(frozen=True)
class Preview:
    """What an import would do: the valid rows, the errors (by line), the encoding; `ok` when nothing is wrong."""

    rows: list[ImportRow]
    errors: list[RowError]
    encoding: str = ''
    new_labels: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the file has rows and no error at all."""
        return not self.errors and bool(self.rows)


class ImportInvalid(ValidationError):
    """The file has errors: nothing was written. `preview.errors` lists them by line."""

    def __init__(self, preview: Preview) -> None:
        super().__init__(
            NP_(
                'The file has {n} error; nothing was imported. Fix it and try again.',
                'The file has {n} errors; nothing was imported. Fix them and try again.',
                'n',
            ),
            field='file',
            n=len(preview.errors),
        )
        self.preview = preview


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding: UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
        try:
            return data.decode('utf-8'), 'utf-8-sig'
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode('utf-8'), 'utf-8'
        except UnicodeDecodeError:
            pass
        try:
            text = data.decode('gb18030')
        except UnicodeDecodeError:
            text = ''
        # GB18030 decodes nearly any bytes; accept it only when the result looks like real text (CJK or ASCII).
        if text and _plausible_chinese(text):
            return text, 'gb18030'
    raise ValidationError(
        N_(
            'The file is neither UTF-8 nor GBK. Save it again as "CSV UTF-8" (in Excel: Save as → CSV UTF-8) '
            'and import that.'
        ),
        field='file',
    )


def _plausible_chinese(text: str) -> bool:
    odd = 0
    for ch in text:
        code = ord(ch)
        if code < 128 or 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF:
            continue
        odd += 1
    return odd <= max(2, len(text) // 200)


def _names(value: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in value.translate(_SPLIT).split(','):
        name = part.strip()
        if name:
            seen[name] = None
    return list(seen)


class Checker:
    """Validates rows against one project's statuses, members and labels."""

    def __init__(self, session: Session, project_id: int) -> None:
        self.statuses = {
            s.name.casefold(): s
            for s in session.scalars(select(Status).where(Status.project_id == project_id).order_by(Status.position))
        }
        self.first_status = next(iter(self.statuses.values())).name if self.statuses else ''
        # The default columns answer to their names in every language (a file may come from a colleague whose
        # projects are in the other language); the project's own names come first.
        from modules.tasks.services.workflow import default_aliases

        self.status_names = dict(self.statuses)
        for name, names in default_aliases().items():
            if name not in self.status_names:
                found = next((self.statuses[other] for other in names if other in self.statuses), None)
                if found is not None:
                    self.status_names[name] = found
        self.members = {
            name.casefold(): (uid, name)
            for uid, name in session.execute(
                select(User.id, User.username)
                .join(Member, Member.user_id == User.id)
                .where(Member.project_id == project_id)
            )
        }
        self.labels = {
            name.casefold(): (lid, name)
            for lid, name in session.execute(select(Label.id, Label.name).where(Label.project_id == project_id))
        }
        self.new_labels: dict[str, str] = {}
        self.priorities = {name: name for name in PRIORITIES} | {'': 'normal'} | PRIORITY_ALIASES
        self._dates: dict[str, date | None] = {}
        self._estimates: dict[str, Any] = {}

    def _date(self, raw: str, column: str, line: int, errors: list[RowError]) -> date | None:
        """A date cell (YYYY-MM-DD or YYYY/M/D); files repeat dates, so each distinct text is parsed once."""
        if not raw:
            return None
        if raw in self._dates:
            return self._dates[raw]
        try:
            value = clean_date(_date_text(raw), f'{column}_date')
        except ServiceError as error:
            errors.append(RowError(line, column, error.message, dict(error.params)))
            return None
        self._dates[raw] = value
        return value

    def row(self, line: int, values: dict[str, str], errors: list[RowError]) -> ImportRow | None:
        before = len(errors)

        def check(column: str, fn: Any, *args: Any) -> Any:
            try:
                return fn(*args)
            except ServiceError as error:
                errors.append(RowError(line, column, error.message, dict(error.params)))
                return None

        title = check('title', clean_title, values.get('title', ''))
        status_name = values.get('status', '').strip()
        status = self.status_names.get(status_name.casefold()) if status_name else None
        if status_name and status is None:
            choices = ', '.join(s.name for s in self.statuses.values())
            errors.append(
                RowError(
                    line,
                    'status',
                    N_('No column "{name}" in this project: use {choices}.'),
                    {'name': status_name, 'choices': choices},
                )
            )
        raw_priority = values.get('priority', '').strip()
        priority = self.priorities.get(raw_priority.lower()) or check(
            'priority', clean_priority, PRIORITY_ALIASES.get(raw_priority, raw_priority)
        )
        assignees = []
        for name in _names(values.get('assignees', '')):
            member = self.members.get(name.casefold())
            if member is None:
                errors.append(
                    RowError(line, 'assignees', N_('"{name}" is not a member of this project.'), {'name': name})
                )
            else:
                assignees.append(member[1])
        labels = []
        for name in _names(values.get('labels', '')):
            if len(name) > LABEL_NAME_MAX:
                errors.append(
                    RowError(line, 'labels', N_('A label name is at most {n} characters.'), {'n': LABEL_NAME_MAX})
                )
                continue
            known = self.labels.get(name.casefold())
            if known is None:
                self.new_labels.setdefault(name.casefold(), name)
            labels.append(known[1] if known else self.new_labels[name.casefold()])
        start = self._date(values.get('start', ''), 'start', line, errors)
        due = self._date(values.get('due', ''), 'due', line, errors)
        if start is not None and due is not None:
            check('due', check_dates, start, due)
        raw_estimate = values.get('estimate', '').strip()
        estimate = None
        if raw_estimate:
            if raw_estimate not in self._estimates:
                self._estimates[raw_estimate] = check('estimate', clean_estimate, raw_estimate)
            estimate = self._estimates[raw_estimate]
        description = check('description', clean_description, values.get('description', ''))
        if len(errors) > before:
            return None
        return ImportRow(
            line=line,
            title=title,
            status=status.name if status is not None else self.first_status,
            priority=priority,
            assignees=tuple(assignees),
            labels=tuple(labels),
            start=start,
            due=due,
            estimate=estimate,
            description=description or '',
        )


def _date_text(value: str) -> str:
    value = value.strip()
    if len(value) >= 8 and value.count('/') == 2:
        year, month, day = value.split('/')
        if len(year) == 4:
            return f'{year}-{int(month):02d}-{int(day):02d}' if month.isdecimal() and day.isdecimal() else value
    return value
