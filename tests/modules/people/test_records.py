"""Personnel records: who sees which field, sealing at rest, reveal with a reason, and checked input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db import get_database
from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.models import AuditEvent, User
from appliance.services import directory
from modules.people.fields import FIELDS, Level
from modules.people.models import SealedValue
from modules.people.sealing import SealBroken
from modules.people.services import records
from tests.conftest import People, make_user

T = TypeVar('T')
ID = '11010519491231002X'
CARD = '6222020200112233445'
SALARY = '31415.92'
SECRETS = (ID, CARD, SALARY, '社保-7788-991', '公积金-5566-332', '心脏病史 heart condition')


def run(fn: Callable[[Session], T]) -> T:
    with get_database().session() as session:
        return fn(session)


@pytest.fixture
def hr(people: People) -> User:
    return make_user(username='hr.wu', roles=['member', 'hr'], display_name='吴人事')


@pytest.fixture
def dora(people: People) -> User:
    """bob's manager (through the department she heads)."""
    manager = make_user(username='dora', display_name='Dora 主管')
    with get_database().session() as session:
        team = directory.create_department(session, people.alice, name='销售部').id
        directory.set_heads(session, people.alice, team, [manager.id])
        directory.place_user(session, people.alice, people.bob.id, main_department_id=team)
    return manager


def bobs_record(hr: User, people: People, **extra: Any) -> int:
    values: dict[str, Any] = {
        'employee_no': 'E0001',
        'legal_name': '张伟',
        'english_name': 'Bob Zhang',
        'status': 'active',
        'hire_date': '2024-03-01',
        'gender': 'male',
        'birth_date': '1990-05-17',
        'hukou_location': '上海市浦东新区',
        'id_type': 'resident_id',
        'id_number': ID,
        'bank_card': CARD,
        'salary': SALARY,
        'social_security_no': SECRETS[3],
        'housing_fund_no': SECRETS[4],
        'health_notes': SECRETS[5],
        'user_id': people.bob.id,
        **extra,
    }
    return run(lambda s: records.save(s, hr, values).id)


READERS = {
    'the person': (lambda p, hr, dora: p.bob, {Level.PUBLIC, Level.INTERNAL, Level.SENSITIVE}),
    'their manager': (lambda p, hr, dora: dora, {Level.PUBLIC, Level.INTERNAL}),
    'a colleague': (lambda p, hr, dora: p.charlie, {Level.PUBLIC}),
    'HR': (lambda p, hr, dora: hr, {Level.PUBLIC, Level.INTERNAL, Level.HR, Level.SENSITIVE}),
    'an admin without HR rights': (lambda p, hr, dora: p.alice, {Level.PUBLIC}),
}


@pytest.mark.parametrize('reader', list(READERS))
def test_each_reader_sees_exactly_the_fields_their_relation_allows(
    reader: str, people: People, hr: User, dora: User
) -> None:
    record = bobs_record(hr, people)
    who, levels = READERS[reader]
    seen = run(lambda s: records.view(s, who(people, hr, dora), record))
    assert set(seen.values) == {field.name for field in FIELDS if field.level in levels}, reader
    for field in FIELDS:  # generated from the registry: a new field is covered by being declared
        if field.sealed and field.name in seen.values:
            assert seen.values[field.name] not in SECRETS, (reader, field.name)
    assert not set(map(str, seen.values.values())) & set(SECRETS), reader


def test_sensitive_values_are_never_stored_in_plain_text(people: People, hr: User, data_dir: Path) -> None:
    bobs_record(hr, people)
    engine = get_database().engine
    if engine.dialect.name == 'sqlite':  # the database file and its WAL, byte for byte
        engine.dispose()
        raw = b''.join(path.read_bytes() for path in data_dir.glob('enclave.db*'))
    else:  # PostgreSQL: every row of every table, as text
        from sqlalchemy import inspect, text

        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            raw = repr([connection.execute(text(f'SELECT * FROM "{table}"')).all() for table in tables]).encode()
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    assert b'110***********002X' in raw  # the mask is what lists show


def test_a_reveal_needs_a_reason_and_the_right_and_is_audited(people: People, hr: User, dora: User) -> None:
    record = bobs_record(hr, people)
    with pytest.raises(ValidationError):
        run(lambda s: records.reveal(s, hr, record, 'id_number', ''))
    with pytest.raises(PermissionDenied):
        run(lambda s: records.reveal(s, dora, record, 'id_number', '核对社保信息'))
    with pytest.raises(PermissionDenied):
        run(lambda s: records.reveal(s, people.alice, record, 'id_number', 'admin curiosity'))
    assert run(lambda s: records.reveal(s, hr, record, 'id_number', '核对社保信息')) == ID
    assert run(lambda s: records.reveal(s, people.bob, record, 'bank_card', 'my own card')) == CARD
    with pytest.raises(ValidationError):
        run(lambda s: records.reveal(s, hr, record, 'legal_name', 'not sensitive'))
    with get_database().session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == 'people.revealed')).all()
        assert [(e.actor_name, e.target) for e in events] == [('hr.wu', 'employee:E0001'), ('bob', 'employee:E0001')]
        assert all(ID not in e.details and CARD not in e.details for e in events)
        assert '核对社保信息' in events[0].details


def test_a_ciphertext_moved_to_another_row_or_field_does_not_open(people: People, hr: User) -> None:
    first = bobs_record(hr, people)
    second = run(lambda s: records.save(s, hr, {'employee_no': 'E0002', 'legal_name': '李娜'}).id)
    with get_database().session() as session:
        stolen = session.get(SealedValue, (first, 'id_number'))
        assert stolen is not None
        session.add(SealedValue(employee_id=second, field='id_number', sealed=stolen.sealed, lookup='x', mask='x'))
        card = session.get(SealedValue, (first, 'bank_card'))
        assert card is not None
        card.sealed = stolen.sealed
    with pytest.raises(SealBroken):
        run(lambda s: records.reveal(s, hr, second, 'id_number', 'checking a copy'))
    with pytest.raises(SealBroken):
        run(lambda s: records.reveal(s, hr, first, 'bank_card', 'checking a swap'))


def test_bad_input_is_refused_and_writes_nothing(people: People, hr: User) -> None:
    bobs_record(hr, people)
    for values, error in [
        (
            {'employee_no': 'E9', 'legal_name': 'x', 'id_type': 'resident_id', 'id_number': '110105194912310021'},
            ValidationError,
        ),
        ({'employee_no': 'E9', 'legal_name': 'x', 'hire_date': '2024-13-01'}, ValidationError),
        ({'employee_no': 'E9', 'legal_name': 'x', 'gender': 'robot'}, ValidationError),
        ({'employee_no': 'E9', 'legal_name': 'x', 'salary': 'lots'}, ValidationError),
        ({'employee_no': 'E9', 'legal_name': ''}, ValidationError),
        ({'employee_no': 'E 9', 'legal_name': 'x'}, ValidationError),
        ({'employee_no': 'E9', 'legal_name': 'x', 'nickname': 'x'}, ValidationError),
        ({'employee_no': 'E0001', 'legal_name': 'x'}, Conflict),
        ({'employee_no': 'E9', 'legal_name': 'x', 'id_type': 'resident_id', 'id_number': ID.lower()}, Conflict),
        ({'employee_no': 'E9', 'legal_name': 'x', 'bank_card': CARD}, Conflict),
    ]:
        with pytest.raises(error):
            run(lambda s, v=values: records.save(s, hr, v))
    assert run(lambda s: len(s.scalars(select(SealedValue.employee_id).distinct()).all())) == 1
    with pytest.raises(PermissionDenied):
        run(lambda s: records.save(s, people.alice, {'employee_no': 'E10', 'legal_name': 'x'}))


def test_an_admin_holds_hr_rights_only_with_the_hr_role(people: People) -> None:
    from appliance.services.permissions import permissions_of

    assert 'people.manage' not in permissions_of(people.alice)
    assert 'core.manage_users' in permissions_of(people.alice)
    both = make_user(username='boss', roles=['admin', 'hr'])
    assert {'people.manage', 'people.read_sensitive'} <= permissions_of(both)


def test_search_finds_records_by_public_fields_only(people: People, hr: User) -> None:
    from modules.people.search import search

    bobs_record(hr, people)

    def find(query: str) -> list[str]:
        return run(lambda s: [hit.title for hit in search(session=s, actor=people.charlie, query=query, limit=10)])

    assert find('张伟') == ['E0001 · 张伟 (Bob Zhang)']
    assert find('E0001') == ['E0001 · 张伟 (Bob Zhang)']
    for hidden in ('浦东', '1990', '002X', '3141', 'male'):  # HR and sensitive values find nothing
        assert find(hidden) == [], hidden
