"""The health sampler: plausible values from the real box, rates from real counters, downsampling to 30 days."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import func, insert, select, text

from appliance.db import get_database, utcnow
from appliance.models import BlobRecord, LoginSession
from console.health.jobs import JOBS as HEALTH_JOBS
from console.health.services import sampler
from console.models import HealthSample
from tests.modules.conftest import Team

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)  # on the hour: every bucket boundary is a whole number of minutes
MB = 1_000_000


def _counters() -> tuple[float, int, int, int, int]:
    disk, net = psutil.disk_io_counters(), psutil.net_io_counters()
    return (
        time.monotonic(),
        disk.read_bytes if disk else 0,
        disk.write_bytes if disk else 0,
        net.bytes_recv,
        net.bytes_sent,
    )


def _send_over_loopback(size: int) -> None:
    """Push `size` bytes through a TCP connection on 127.0.0.1 (counted by the kernel's network counters)."""
    with socket.create_server(('127.0.0.1', 0)) as server:
        port = server.getsockname()[1]

        def drain() -> None:
            connection, _ = server.accept()
            with connection:
                while connection.recv(1 << 16):
                    pass

        reader = threading.Thread(target=drain)
        reader.start()
        with socket.create_connection(('127.0.0.1', port)) as client:
            client.sendall(b'x' * size)
        reader.join(timeout=10)


def test_it_records_plausible_values_and_the_heartbeat(team: Team, data_dir: Path) -> None:
    now = utcnow()
    with get_database().session() as session:
        session.add_all([BlobRecord(sha256='a' * 64, size=1500), BlobRecord(sha256='b' * 64, size=2500)])
        session.add_all(
            [
                LoginSession(token_hash='1' * 64, user_id=team.alice.id),  # live
                LoginSession(token_hash='2' * 64, user_id=team.bob.id, ended_at=now),  # signed out
                LoginSession(token_hash='3' * 64, user_id=team.bob.id, last_seen_at=now - timedelta(hours=5)),  # idle
                LoginSession(token_hash='4' * 64, user_id=team.dave.id, created_at=now - timedelta(days=30)),  # too old
            ]
        )
    sampler.forget_counters()
    sample = sampler.take_sample(data_dir, get_database())

    assert sample.span == 60
    assert (sample.disk_read_rate, sample.disk_write_rate, sample.net_recv_rate, sample.net_sent_rate) == (0, 0, 0, 0)
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert 0.0 <= sample.load1 < 1000
    assert 0.0 < sample.memory_percent <= 100.0 and 0.0 <= sample.swap_percent <= 100.0
    usage = shutil.disk_usage(data_dir)
    assert sample.disk_total_bytes == usage.total
    assert abs(sample.disk_free_bytes - usage.free) < 256 * MB
    assert 20 * MB < sample.app_rss_bytes == pytest.approx(psutil.Process().memory_info().rss, rel=0.5)
    assert sample.blob_bytes == 4000
    assert sample.active_sessions == 1
    database = get_database()
    if database.engine.dialect.name == 'sqlite':
        path = Path(str(database.engine.url.database))
        on_disk = path.stat().st_size + (os.path.getsize(f'{path}-wal') if os.path.exists(f'{path}-wal') else 0)
        assert sample.database_bytes == pytest.approx(on_disk, rel=0.2)
    else:
        assert sample.database_bytes > MB
    with get_database().session() as session:
        assert session.scalar(select(func.count()).select_from(HealthSample)) == 1
        beat = sampler.read_heartbeat(session)
    assert beat is not None and abs((beat - sample.taken_at).total_seconds()) < 1


def test_it_computes_rates_per_second_from_the_real_counters(data_dir: Path) -> None:
    sampler.forget_counters()
    before_first = _counters()
    sampler.take_sample(data_dir, get_database())
    after_first = _counters()
    _send_over_loopback(8 * MB)
    with open(data_dir / 'ballast', 'wb') as handle:
        handle.write(os.urandom(4 * MB))
        handle.flush()
        os.fsync(handle.fileno())
    time.sleep(0.3)
    before_second = _counters()
    second = sampler.take_sample(data_dir, get_database())
    after_second = _counters()

    rates = (second.disk_read_rate, second.disk_write_rate, second.net_recv_rate, second.net_sent_rate)
    longest = after_second[0] - before_first[0]
    shortest = before_second[0] - after_first[0]
    for index, rate in enumerate(rates, start=1):
        # The counters the sampler read lie between those read around each sample, and so does the time between.
        least = (before_second[index] - after_first[index]) / longest
        most = (after_second[index] - before_first[index]) / shortest
        assert least <= rate <= most, (index, least, rate, most)
    assert second.net_sent_rate * longest >= 8 * MB
    assert second.net_recv_rate * longest >= 8 * MB


@cache
def _synthetic_month() -> list[dict[str, Any]]:
    """31 days of raw samples, one a minute up to NOW: cpu cycles 0..9 per 10 minutes, free space 0..59k per hour."""
    rows = []
    for minutes_ago in range(31 * 24 * 60):
        at = NOW - timedelta(minutes=minutes_ago)
        minute = int(at.timestamp()) // 60
        rows.append(
            {
                'taken_at': at,
                'span': 60,
                'cpu_percent': float(minute % 10),
                'disk_free_bytes': 1000 * (minute % 60),
                'active_sessions': 7,
            }
        )
    return rows


def _table() -> list[tuple[Any, ...]]:
    with get_database().session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    HealthSample.taken_at, HealthSample.span, HealthSample.cpu_percent, HealthSample.disk_free_bytes
                ).order_by(HealthSample.taken_at)
            )
        ]


def _summary() -> tuple[Any, ...]:
    with get_database().session() as session:
        columns = (HealthSample.span, HealthSample.cpu_percent, HealthSample.disk_free_bytes)
        return tuple(session.execute(select(func.count(), *(func.sum(column) for column in columns))).one())


def _insert_month() -> None:
    with get_database().session() as session:
        session.execute(insert(HealthSample), _synthetic_month())


def test_it_downsamples_a_month_into_ten_minute_and_hourly_rows_and_drops_the_rest(data_dir: Path) -> None:
    _insert_month()
    removed = sampler.downsample(get_database(), now=NOW)

    with get_database().session() as session:
        assert sampler.count_by_span(session) == {60: 24 * 60 + 1, 600: 6 * 24 * 6, 3600: 23 * 24}
        oldest = session.scalar(select(func.min(HealthSample.taken_at)))
    assert removed == 31 * 24 * 60 - (24 * 60 + 1) - 6 * 24 * 6 - 23 * 24
    assert oldest == NOW - timedelta(days=30)
    rows = _table()
    for taken_at, span, cpu, free in rows:
        if span == 600:
            assert now_minus(taken_at) <= timedelta(days=7) and taken_at.timestamp() % 600 == 0
            assert cpu == pytest.approx(4.5)
        elif span == 3600:
            assert now_minus(taken_at) > timedelta(days=7) and taken_at.timestamp() % 3600 == 0
            assert (cpu, free) == (pytest.approx(4.5), 29500)
        else:
            assert span == 60 and now_minus(taken_at) <= timedelta(hours=24)
    with get_database().session() as session:
        assert set(session.scalars(select(HealthSample.active_sessions))) == {7}

    assert sampler.downsample(get_database(), now=NOW) == 0  # a second run changes nothing
    assert _table() == rows

    with get_database().session() as session:  # the dashboard's reads: a few hundred points whatever the range
        month = sampler.history(session, since=NOW - timedelta(days=30), step=3 * 3600)
        day = sampler.history(session, since=NOW - timedelta(hours=24), step=300)
    assert len(month) == 30 * 8 + 1 and len(day) == 24 * 12 + 1
    assert all(point.values['cpu_percent'] == pytest.approx(4.5) for point in month[:-1])
    assert [p.taken_at for p in day] == sorted(p.taken_at for p in day)

    sampler.downsample(get_database(), now=NOW + timedelta(minutes=10))
    with get_database().session() as session:
        # One more 10-minute row from the raw ones, and the oldest hour has passed 30 days.
        assert sampler.count_by_span(session) == {60: 24 * 60 + 1 - 10, 600: 6 * 24 * 6 + 1, 3600: 23 * 24 - 1}


def now_minus(value: datetime) -> timedelta:
    return NOW - value


def _fail_ten_minute_rows() -> str:
    """A database trigger that refuses 10-minute rows, as a full disk would half-way through a run."""
    database = get_database()
    with database.engine.begin() as connection:
        if database.engine.dialect.name == 'sqlite':
            connection.execute(
                text(
                    'CREATE TRIGGER refuse_600 BEFORE INSERT ON console_health_samples WHEN NEW.span = 600 '
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            )
            return 'DROP TRIGGER refuse_600'
        connection.execute(
            text(
                'CREATE FUNCTION refuse_600() RETURNS trigger AS $$ BEGIN IF NEW.span = 600 THEN '
                "RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                'CREATE TRIGGER refuse_600 BEFORE INSERT ON console_health_samples '
                'FOR EACH ROW EXECUTE FUNCTION refuse_600()'
            )
        )
        return 'DROP TRIGGER refuse_600 ON console_health_samples; DROP FUNCTION refuse_600()'


def test_a_run_that_fails_half_way_changes_nothing_and_the_next_one_finishes(data_dir: Path) -> None:
    _insert_month()
    before = _summary()
    undo = _fail_ten_minute_rows()
    with pytest.raises(Exception, match='disk full'):
        sampler.downsample(get_database(), now=NOW)  # the hourly rows were written, then the 10-minute ones failed
    assert _summary() == before
    with get_database().engine.begin() as connection:
        for statement in undo.split('; '):
            connection.execute(text(statement))
    sampler.downsample(get_database(), now=NOW)
    with get_database().session() as session:
        assert sampler.count_by_span(session) == {60: 24 * 60 + 1, 600: 6 * 24 * 6, 3600: 23 * 24}


def test_the_sampler_job_runs_every_minute_and_writes_a_sample(data_dir: Path) -> None:
    jobs = {job.id: job for job in HEALTH_JOBS}
    assert jobs['console.health_sample'].trigger_args == {'seconds': 60}
    jobs['console.health_sample'].func()
    with get_database().session() as session:
        assert session.scalar(select(func.count()).select_from(HealthSample)) == 1
        assert sampler.read_heartbeat(session) is not None
