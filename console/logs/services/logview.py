"""Reading the app's log (appliance.logs): newest first, across rotated files, filtered, a page at a time.

The files are read backwards in blocks from the end, and reading stops once a page is full (or once the records
get older than the filter's start), so a page of a 60 MB log costs a few blocks of memory. A line that is not a
JSON record (a half-written last line, a line mangled by a crash) is kept as raw text: its level and time are
unknown, so only the text filter can hide it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from appliance.errors import N_, ValidationError
from appliance.logs import LOG_NAME

LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
BLOCK = 64 * 1024
MAX_PAGE = 500
MAX_LINE = 2**20


@dataclass(frozen=True)
class Record:
    """One log record; `raw` when the line was not a JSON record (then `message` is the line as it is)."""

    time: datetime | None
    level: str
    logger: str
    message: str
    exc: str = ''
    raw: bool = False

    @property
    def text(self) -> str:
        """Everything a text filter looks at."""
        return f'{self.logger}\n{self.message}\n{self.exc}'


@dataclass(frozen=True)
class LogFilter:
    """Which records to show: at least `level` ('' for all), time in [since, until), `text` (any case)."""

    level: str = ''
    since: datetime | None = None
    until: datetime | None = None
    text: str = ''

    def __post_init__(self) -> None:
        if self.level and self.level not in _RANK:
            raise ValidationError(N_('Unknown log level "{level}".'), field='level', level=self.level)
        for value in (self.since, self.until):
            if value is not None and value.tzinfo is None:
                raise ValidationError(N_('Give times with their time zone.'), field='since')
        if self.since and self.until and self.since >= self.until:
            raise ValidationError(N_('The start of the time range must come before its end.'), field='since')

    def matches(self, record: Record) -> bool:
        """True when the record passes every filter (unknown level or time pass those filters)."""
        if self.level and record.level in _RANK and _RANK[record.level] < _RANK[self.level]:
            return False
        if record.time is not None:
            if self.since and record.time < self.since:
                return False
            if self.until and record.time >= self.until:
                return False
        return not self.text or self.text.casefold() in record.text.casefold()


@dataclass(frozen=True)
class LogPage:
    """A page of records, newest first; `has_more` when older matching records follow."""

    records: list[Record]
    offset: int
    has_more: bool


def parse_line(line: str) -> Record:
    """A record from one line of the log; anything that is not a JSON record comes back raw."""
    try:
        data = json.loads(line)
        time = datetime.fromisoformat(data['time'])
        if time.tzinfo is None:
            raise ValueError('naive time')
        return Record(
            time=time,
            level=str(data.get('level', '')).upper(),
            logger=str(data.get('logger', '')),
            message=str(data.get('message', '')),
            exc=str(data.get('exc', '')),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return Record(time=None, level='', logger='', message=line, raw=True)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')
_ROTATED = re.compile(rf'^{re.escape(LOG_NAME)}\.(\d+)$')


def log_files(folder: Path) -> list[Path]:
    """The current log file and the rotated ones, newest first (those that exist)."""
    current = folder / LOG_NAME
    rotated = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = _ROTATED.match(path.name)
            if match and path.is_file():
                rotated.append((int(match.group(1)), path))
    return ([current] if current.is_file() else []) + [path for _number, path in sorted(rotated)]


def lines_backwards(path: Path, *, block: int = BLOCK) -> Iterator[str]:
    """The non-empty lines of a file, last first, read in blocks from the end (bad UTF-8 is replaced)."""
    try:
        handle = path.open('rb')
    except FileNotFoundError:  # rotated away between listing and opening
        return
    with handle:
        position = handle.seek(0, 2)
        rest = b''
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            parts = chunk.split(b'\n')
            rest = parts[0]
            if len(rest) > MAX_LINE:  # a line with no end in sight: show its tail rather than hold it all
                yield rest[-MAX_LINE:].decode('utf-8', errors='replace')
                rest = b''
            for part in reversed(parts[1:]):
                if part.strip():
                    yield part.decode('utf-8', errors='replace').rstrip('\r')
        if rest.strip():
            yield rest.decode('utf-8', errors='replace').rstrip('\r')


def records_backwards(folder: Path) -> Iterator[Record]:
    """Every record of the log, newest first, across the rotated files."""
    for path in log_files(folder):
        for line in lines_backwards(path):
            yield parse_line(line)


def read_page(folder: Path, log_filter: LogFilter | None = None, *, offset: int = 0, limit: int = 50) -> LogPage:
    """The `limit` newest records matching the filter after skipping `offset` of them."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(N_('Ask for 1 to {most} records from a position of 0 or more.'), most=MAX_PAGE)
    wanted = log_filter or LogFilter()
    records: list[Record] = []
    skipped = 0
    # A needle that JSON writes as it is cannot be in a record whose line lacks it: skip parsing that line.
    needle = wanted.text.casefold() if wanted.text and not _NEEDS_ESCAPE.search(wanted.text) else ''
    for path in log_files(folder):
        for line in lines_backwards(path):
            if needle and needle not in line.casefold():
                continue
            record = parse_line(line)
            if wanted.since and record.time is not None and record.time < wanted.since:
                return LogPage(records=records, offset=offset, has_more=False)  # older still from here on
            if not wanted.matches(record):
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(records) == limit:
                return LogPage(records=records, offset=offset, has_more=True)
            records.append(record)
    return LogPage(records=records, offset=offset, has_more=False)


@dataclass(frozen=True)
class Count:
    """How many records matched; `complete` is False when the scan stopped at its byte budget."""

    count: int
    complete: bool


def count_since(folder: Path, since: datetime, *, levels: tuple[str, ...], max_bytes: int = 16 * 2**20) -> Count:
    """Records at one of `levels` newer than `since`, reading back from the end until older ones (or the budget)."""
    found = 0
    read = 0
    for path in log_files(folder):
        for line in lines_backwards(path):
            read += len(line) + 1
            if read > max_bytes:
                return Count(found, complete=False)
            record = parse_line(line)
            if record.time is not None and record.time < since:
                return Count(found, complete=True)
            if record.level in levels:
                found += 1
    return Count(found, complete=True)


def tail_lines(folder: Path, *, max_bytes: int) -> list[str]:
    """The newest lines of the log, across rotated files, up to `max_bytes`, oldest first."""
    lines: list[str] = []
    total = 0
    for path in log_files(folder):
        for line in lines_backwards(path):
            total += len(line.encode()) + 1
            if total > max_bytes:
                return lines[::-1]
            lines.append(line)
    return lines[::-1]
