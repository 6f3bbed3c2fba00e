"""The hash-chained audit log: it verifies, and tampering or removal is found with the first broken row."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from appliance import context
from appliance.db import get_database, utcnow
from appliance.models import AuditEvent, User
from appliance.services import audit
from tests.appliance.support import audit_rows, count, fast_hashing  # noqa: F401
from tests.conftest import People


def record(actor: User | None, action: str, **details: object) -> AuditEvent:
    with get_database().session() as session:
        return audit.record(session=session, actor=actor, action=action, target='thing', details=dict(details))


def verify(batch: int = 2000) -> audit.VerifyResult:
    with get_database().session() as session:
        return audit.verify(session=session, batch=batch)


def execute(sql: str) -> None:
    with get_database().session() as session:
        session.execute(text(sql))


@pytest.fixture
def five_events(people: People) -> list[AuditEvent]:
    return [record(people.alice, f'test.event{n}', n=n) for n in range(1, 6)]


def test_it_verifies_an_empty_log() -> None:
    assert verify() == audit.VerifyResult(checked=0)


def test_it_verifies_an_untouched_chain(five_events: list[AuditEvent]) -> None:
    result = verify()
    assert (result.ok, result.checked) == (True, 5)


def test_it_verifies_a_chain_longer_than_one_batch(five_events: list[AuditEvent]) -> None:
    assert verify(batch=2).checked == 5


def test_it_links_each_row_to_the_one_before(five_events: list[AuditEvent]) -> None:
    rows = audit_rows()
    assert rows[0].prev_hash == audit.GENESIS
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]


def test_it_finds_a_row_whose_content_was_changed(five_events: list[AuditEvent]) -> None:
    execute('UPDATE core_audit SET details = \'{"n": 99}\' WHERE id = 3')
    result = verify()
    assert (result.ok, result.broken_id, result.checked) == (False, 3, 2)
    assert 'altered' in result.reason


def test_it_finds_a_changed_row_even_when_its_hash_was_recomputed(five_events: list[AuditEvent]) -> None:
    with get_database().session() as session:
        row = session.get(AuditEvent, 3)
        assert row is not None
        row.actor_name = 'mallory'
        row.hash = audit._digest(row)
    result = verify()
    assert (result.broken_id, result.reason) == (
        4,
        'the link to the previous row is broken (a row was removed or inserted)',
    )


def test_it_finds_a_removed_row(five_events: list[AuditEvent]) -> None:
    execute('DELETE FROM core_audit WHERE id = 3')
    result = verify()
    assert (result.ok, result.broken_id) == (False, 4)
    assert 'removed' in result.reason


def test_it_finds_a_changed_first_row(five_events: list[AuditEvent]) -> None:
    execute("UPDATE core_audit SET action = 'test.nothing' WHERE id = 1")
    assert verify().broken_id == 1


def test_it_cannot_tell_when_the_newest_rows_are_cut_off(five_events: list[AuditEvent]) -> None:
    # A limitation of a chain without an outside anchor: truncating the tail leaves a valid, shorter chain.
    execute('DELETE FROM core_audit WHERE id = 5')
    assert (verify().ok, verify().checked) == (True, 4)


def test_it_keeps_an_event_only_if_the_action_commits(people: People) -> None:
    with pytest.raises(RuntimeError), get_database().session() as session:
        audit.record(session=session, actor=people.alice, action='test.rolled_back')
        raise RuntimeError('the action failed')
    assert count(AuditEvent) == 0


def test_it_keeps_a_denial_recorded_now_although_the_action_rolls_back(people: People) -> None:
    with pytest.raises(RuntimeError), get_database().session():
        audit.record_now(actor=people.bob, action='permission.denied', target='users')
        raise RuntimeError('refused')
    assert [(row.actor_name, row.action) for row in audit_rows()] == [('bob', 'permission.denied')]
    assert verify().ok


def test_it_records_who_what_and_from_where(people: People) -> None:
    token = context.client_ip.set('192.0.2.7')
    try:
        record(people.alice, 'test.event', 名字='张伟')
    finally:
        context.client_ip.reset(token)
    [row] = audit_rows()
    assert (row.actor_id, row.actor_name, row.action, row.target, row.ip) == (
        people.alice.id,
        'alice',
        'test.event',
        'thing',
        '192.0.2.7',
    )
    assert json.loads(row.details) == {'名字': '张伟'}
    assert verify().ok


def test_it_names_an_anonymous_actor(people: People) -> None:
    with get_database().session() as session:
        audit.record(session=session, actor=None, actor_name='nobody', action='login.failure')
    [row] = audit_rows()
    assert (row.actor_id, row.actor_name) == (None, 'nobody')


def test_it_filters_the_log(people: People) -> None:
    record(people.alice, 'user.create')
    record(people.bob, 'user.update')
    record(people.alice, 'login.success')
    with get_database().session() as session:
        by_actor = audit.search(session=session, actor_name='alice')
        by_action = audit.search(session=session, action='user.')
        paged = audit.search(session=session, offset=1, limit=1)
        future = audit.search(session=session, since=utcnow() + timedelta(hours=1))
    assert [row.action for row in by_actor.rows] == ['login.success', 'user.create']
    assert [row.actor_name for row in by_action.rows] == ['bob', 'alice']
    assert (paged.total, [row.action for row in paged.rows]) == (3, ['user.update'])
    assert (future.total, future.rows) == (0, [])


def test_it_chains_events_recorded_at_the_same_moment_by_many_writers(people: People) -> None:
    writers = 20
    barrier = threading.Barrier(writers)

    def write(i: int) -> Exception | None:
        barrier.wait()
        try:
            audit.record_now(actor=people.alice, action='test.concurrent', target=f'n:{i}')
        except Exception as exc:  # the test looks at what each writer got
            return exc
        return None

    with ThreadPoolExecutor(writers) as pool:
        assert list(pool.map(write, range(writers))) == [None] * writers
    assert count(AuditEvent, AuditEvent.action == 'test.concurrent') == writers
    with get_database().session() as session:
        assert audit.verify(session=session).ok
