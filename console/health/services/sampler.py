"""The box's vital signs, sampled every minute and kept 30 days (downsampled as they age).

`take_sample` writes one `console_health_samples` row (rates per second against the previous sample's counters,
kept in this process; the first sample after start records 0 rates) and the scheduler's heartbeat.
`downsample` averages raw samples older than a day into 10-minute rows, rows older than a week into hourly
rows, and drops what is older than 30 days, in one transaction: a crash leaves the old rows or the new ones.
`history` reads a range back as evenly spaced points for the dashboard (a few thousand rows at most).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from appliance.config import get_settings
from appliance.db import Database, get_database, utcnow
from appliance.models import BlobRecord, LoginSession
from console.models import HealthSample, State

HEARTBEAT_KEY = 'scheduler.heartbeat'
RAW_SPAN = 60
# (age after which rows are merged, seconds each merged row covers), coarsest first.
TIERS = ((timedelta(days=7), 3600), (timedelta(hours=24), 600))
KEEP = timedelta(days=30)
# The measured columns: averaged when samples are merged, drawn on the dashboard.
FIELDS = (
    'cpu_percent',
    'load1',
    'memory_percent',
    'swap_percent',
    'disk_free_bytes',
    'disk_total_bytes',
    'disk_read_rate',
    'disk_write_rate',
    'net_recv_rate',
    'net_sent_rate',
    'app_rss_bytes',
    'database_bytes',
    'blob_bytes',
    'active_sessions',
)
INTEGER_FIELDS = frozenset(
    {'disk_free_bytes', 'disk_total_bytes', 'app_rss_bytes', 'database_bytes', 'blob_bytes', 'active_sessions'}
)
_BATCH = 500


@dataclass(frozen=True)
class _Counters:
    at: float  # time.monotonic()
    disk_read: int
    disk_write: int
    net_recv: int
    net_sent: int


_previous: _Counters | None = None
_lock = threading.Lock()


def forget_counters() -> None:
    """Forget the previous sample's counters: the next sample records 0 rates (as after a start)."""
    global _previous
    with _lock:
        _previous = None


def _counters() -> _Counters:
    disk = psutil.disk_io_counters()  # None where the kernel exposes no disk statistics (some containers)
    net = psutil.net_io_counters()
    return _Counters(
        at=time.monotonic(),
        disk_read=disk.read_bytes if disk else 0,
        disk_write=disk.write_bytes if disk else 0,
        net_recv=net.bytes_recv if net else 0,
        net_sent=net.bytes_sent if net else 0,
    )


def _rates(now: _Counters) -> dict[str, float]:
    """Per-second rates since the previous sample of this process (0 for the first, or after a counter reset)."""
    global _previous
    with _lock:
        before, _previous = _previous, now
    names = ('disk_read', 'disk_write', 'net_recv', 'net_sent')
    if before is None or now.at <= before.at:
        return {f'{name}_rate': 0.0 for name in names}
    elapsed = now.at - before.at
    return {f'{name}_rate': max(0, getattr(now, name) - getattr(before, name)) / elapsed for name in names}


def database_bytes(database: Database) -> int:
    """The database's size on disk: the SQLite file and its write-ahead log, or PostgreSQL's pg_database_size."""
    engine = database.engine
    if engine.dialect.name == 'sqlite':
        path = engine.url.database
        if not path or path == ':memory:':
            return 0
        return sum(os.path.getsize(p) for p in (path, f'{path}-wal') if os.path.exists(p))
    if engine.dialect.name == 'postgresql':
        with engine.connect() as connection:
            return int(connection.execute(text('SELECT pg_database_size(current_database())')).scalar_one())
    return 0


def active_sessions(session: Session, *, now: datetime) -> int:
    """Browser sessions neither ended nor expired (idle or past their lifetime), as `appliance.services.auth`."""
    settings = get_settings()
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(
                LoginSession.ended_at.is_(None),
                LoginSession.last_seen_at >= now - timedelta(minutes=settings.session_idle_minutes),
                LoginSession.created_at >= now - timedelta(hours=settings.session_max_hours),
            )
        )
        or 0
    )


def write_heartbeat(session: Session, now: datetime) -> None:
    """Record that the scheduler ran a job just now (the "scheduler alive" check reads it)."""
    state = session.get(State, HEARTBEAT_KEY)
    if state is None:
        session.add(State(key=HEARTBEAT_KEY, value=now.isoformat(), updated_at=now))
    else:
        state.value, state.updated_at = now.isoformat(), now


def read_heartbeat(session: Session) -> datetime | None:
    """When the scheduler last reported, or None if it never has."""
    state = session.get(State, HEARTBEAT_KEY)
    if state is None or not state.value:
        return None
    try:
        when = datetime.fromisoformat(state.value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def take_sample(data_dir: Path, database: Database) -> HealthSample:
    """Measure the box now, store the sample and the scheduler's heartbeat in one transaction; return the sample."""
    now = utcnow()
    values: dict[str, Any] = _rates(_counters())
    memory, swap, disk = psutil.virtual_memory(), psutil.swap_memory(), shutil.disk_usage(data_dir)
    values.update(
        cpu_percent=psutil.cpu_percent(interval=None),  # since the previous call (or since the import)
        load1=os.getloadavg()[0],
        memory_percent=memory.percent,
        swap_percent=swap.percent,
        disk_free_bytes=disk.free,
        disk_total_bytes=disk.total,
        app_rss_bytes=psutil.Process().memory_info().rss,
        database_bytes=database_bytes(database),
    )
    with database.session(write=True) as session:
        # The blob store's size from its metadata: walking a big store every minute would cost more than it tells.
        values['blob_bytes'] = int(session.scalar(select(func.coalesce(func.sum(BlobRecord.size), 0))) or 0)
        values['active_sessions'] = active_sessions(session, now=now)
        sample = HealthSample(taken_at=now, span=RAW_SPAN, **values)
        session.add(sample)
        write_heartbeat(session, now)
    return sample


# ---- downsampling -----------------------------------------------------------------------------------------


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


_COLUMNS = [HealthSample.id, HealthSample.taken_at, HealthSample.span] + [
    getattr(HealthSample, name) for name in FIELDS
]


def _average(rows: Sequence[Any]) -> dict[str, Any]:
    """The span-weighted average of each measured column of rows selected with `_COLUMNS`."""
    weights = [max(1, row[2]) for row in rows]
    total = sum(weights)
    merged: dict[str, Any] = {}
    for index, name in enumerate(FIELDS, start=3):
        mean = sum(row[index] * weight for row, weight in zip(rows, weights, strict=True)) / total
        merged[name] = round(mean) if name in INTEGER_FIELDS else mean
    return merged


def _merge_tier(session: Session, *, lower: datetime | None, upper: datetime, size: int) -> int:
    """Merge every `size`-second bucket in [lower, upper) holding a finer row into one row; return rows removed.

    `upper` is a bucket boundary, so only whole buckets are merged; a bucket already merged (one row of `size`)
    is left alone, which makes a second run change nothing.
    """
    where = [HealthSample.taken_at < upper, HealthSample.span < size]
    if lower is not None:
        where.append(HealthSample.taken_at >= lower)
    first, last = session.execute(
        select(func.min(HealthSample.taken_at), func.max(HealthSample.taken_at)).where(*where)
    ).one()
    if first is None:
        return 0
    # One range read (usually a single bucket, once a minute); buckets in it that are already merged are skipped.
    start, end = _epoch(first) // size * size, _epoch(last) // size * size + size
    rows = session.execute(
        select(*_COLUMNS)
        .where(HealthSample.taken_at >= _at(start), HealthSample.taken_at < _at(end))
        .order_by(HealthSample.taken_at)
    ).all()
    buckets: dict[int, list[Any]] = {}
    for row in rows:
        buckets.setdefault(_epoch(row[1]) // size * size, []).append(row)
    merged: list[dict[str, Any]] = []
    ids: list[int] = []
    for bucket, group in buckets.items():
        if len(group) == 1 and group[0][2] >= size:
            continue
        merged.append({'taken_at': _at(bucket), 'span': size, **_average(group)})
        ids.extend(row[0] for row in group)
    for batch in (ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)):
        session.execute(delete(HealthSample).where(HealthSample.id.in_(batch)))
    if merged:
        session.execute(insert(HealthSample), merged)
    return len(ids) - len(merged)


def downsample(database: Database, *, now: datetime | None = None) -> int:
    """Average aging samples into coarser rows and drop those older than 30 days; returns the rows removed.

    One transaction: if the process dies half-way, nothing changed, and the next run does it all.
    """
    now = now or utcnow()
    removed = 0
    with database.session(write=True) as session:
        result = session.execute(delete(HealthSample).where(HealthSample.taken_at < now - KEEP))
        removed += int(getattr(result, 'rowcount', 0) or 0)
        lower: datetime | None = None
        for age, size in TIERS:
            # Only buckets that have wholly aged past the tier's limit: a bucket is merged once, completely.
            upper = _at(_epoch(now - age) // size * size)
            removed += _merge_tier(session, lower=lower, upper=upper, size=size)
            lower = upper
    return removed


def run_sampler() -> None:
    """The scheduler's job: one sample (and heartbeat), then downsampling."""
    database = get_database()
    take_sample(get_settings().data_dir, database)
    downsample(database)


# ---- reading back -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """The box over one stretch of time: `taken_at` is the stretch's start, values are span-weighted means."""

    taken_at: datetime
    values: dict[str, float]


def history(session: Session, *, since: datetime, step: int) -> list[Point]:
    """Samples since `since`, averaged into `step`-second points, oldest first.

    Thirty days of downsampled samples are under 3,000 rows, so this reads them in one query.
    """
    rows = session.execute(
        select(*_COLUMNS).where(HealthSample.taken_at >= since).order_by(HealthSample.taken_at)
    ).all()
    buckets: dict[int, list[Any]] = {}
    for row in rows:
        buckets.setdefault(_epoch(row[1]) // step * step, []).append(row)
    return [Point(_at(start), _average(group)) for start, group in buckets.items()]


def latest(session: Session) -> HealthSample | None:
    """The newest sample, or None."""
    return session.scalars(select(HealthSample).order_by(HealthSample.taken_at.desc()).limit(1)).first()


def count_by_span(session: Session) -> dict[int, int]:
    """How many samples of each span are stored (for the dashboard and the tests)."""
    return {
        int(span): int(n)
        for span, n in session.execute(select(HealthSample.span, func.count()).group_by(HealthSample.span))
    }
