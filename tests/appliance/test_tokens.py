"""Personal access tokens: shown once, stored as sha256, listed, revoked, expiring."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from appliance.db import get_database, utcnow
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import ApiToken, User
from appliance.services import tokens, touches
from tests.appliance.support import audit_rows, count, fast_hashing  # noqa: F401
from tests.conftest import People


def create(actor: User, name: str = 'laptop', **fields: object) -> tuple[ApiToken, str]:
    with get_database().session() as session:
        return tokens.create_token(session=session, actor=actor, name=name, **fields)  # type: ignore[arg-type]


def resolve(raw: str) -> User | None:
    with get_database().session() as session:
        return tokens.resolve_token(session=session, raw=raw)


def revoke(actor: User, token_id: int) -> None:
    with get_database().session() as session:
        tokens.revoke_token(session=session, actor=actor, token_id=token_id)


def test_it_creates_a_token_that_acts_as_its_user(people: People) -> None:
    row, raw = create(people.bob)
    assert raw.startswith('enc_') and len(raw) > 40
    assert row.prefix == raw[:10]
    assert resolve(raw).username == 'bob'  # type: ignore[union-attr]


def test_it_stores_only_the_hash_of_a_token(people: People) -> None:
    _row, raw = create(people.bob)
    with get_database().session() as session:
        tokens_table = [str(row) for row in session.execute(text('SELECT * FROM core_api_tokens'))]
        audit_table = [str(row) for row in session.execute(text('SELECT * FROM core_audit'))]
    assert not [row for row in tokens_table + audit_table if raw in row]
    [event] = audit_rows('token.create')
    assert (event.actor_name, json.loads(event.details)['name']) == ('bob', 'laptop')


def test_it_lists_the_actors_tokens_newest_first(people: People) -> None:
    create(people.bob, 'first')
    create(people.bob, 'second')
    create(people.alice, 'not bobs')
    with get_database().session() as session:
        assert [row.name for row in tokens.list_tokens(session=session, actor=people.bob).items] == ['second', 'first']


def test_it_stops_a_revoked_token(people: People) -> None:
    row, raw = create(people.bob)
    revoke(people.bob, row.id)
    assert resolve(raw) is None
    revoke(people.bob, row.id)  # again: nothing more happens
    assert [event.actor_name for event in audit_rows('token.revoke')] == ['bob']


def test_it_lets_an_admin_revoke_anyones_token(people: People) -> None:
    row, raw = create(people.bob)
    revoke(people.alice, row.id)
    assert resolve(raw) is None


def test_it_refuses_to_let_a_member_revoke_someone_elses_token(people: People) -> None:
    row, raw = create(people.alice)
    with pytest.raises(PermissionDenied):
        revoke(people.bob, row.id)
    assert resolve(raw) is not None


def test_it_says_when_a_token_does_not_exist(people: People) -> None:
    with pytest.raises(NotFound):
        revoke(people.bob, 999)


def test_it_sets_the_expiry_and_refuses_an_expired_token(people: People) -> None:
    row, raw = create(people.bob, expires_days=7)
    assert row.expires_at is not None
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    with get_database().session() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert resolve(raw) is None


def test_it_refuses_the_token_of_a_disabled_user(people: People) -> None:
    _row, raw = create(people.bob)
    with get_database().session() as session:
        session.execute(update(User).where(User.id == people.bob.id).values(is_active=False))
    assert resolve(raw) is None


@pytest.mark.parametrize('raw', ['', 'enc_', 'enc_made-up', 'not-our-prefix'])
def test_it_refuses_an_unknown_token(people: People, raw: str) -> None:
    assert resolve(raw) is None


@pytest.mark.parametrize(
    ('name', 'fields', 'field'),
    [
        ('', {}, 'name'),
        ('   ', {}, 'name'),
        ('x' * 101, {}, 'name'),
        ('ok', {'expires_days': 0}, 'expires_days'),
        ('ok', {'expires_days': 3651}, 'expires_days'),
    ],
)
def test_it_changes_nothing_when_a_new_token_is_invalid(people: People, name: str, fields: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        create(people.bob, name, **fields)
    assert caught.value.field == field
    assert count(ApiToken) == 0


def test_it_limits_the_number_of_live_tokens(people: People) -> None:
    first, _raw = create(people.bob, 'token 0')
    for n in range(1, tokens.MAX_TOKENS_PER_USER):
        create(people.bob, f'token {n}')
    with pytest.raises(ValidationError, match='too many tokens'):
        create(people.bob, 'one more')
    revoke(people.bob, first.id)
    create(people.bob, 'after a revoke')
    assert count(ApiToken) == tokens.MAX_TOKENS_PER_USER + 1


def test_it_lets_only_an_admin_create_a_token_for_someone_else(people: People) -> None:
    with get_database().session() as session:
        _row, raw = tokens.create_token(session=session, actor=people.alice, name='for bob', owner=people.bob)
    assert resolve(raw).username == 'bob'  # type: ignore[union-attr]
    with get_database().session() as session, pytest.raises(PermissionDenied):
        tokens.create_token(session=session, actor=people.bob, name='for alice', owner=people.alice)
    assert count(ApiToken, ApiToken.user_id == people.alice.id) == 0


def test_it_notes_when_a_token_was_last_used(people: People) -> None:
    row, raw = create(people.bob)
    assert row.last_used_at is None
    resolve(raw)
    with get_database().session() as session:
        assert session.get(ApiToken, row.id).last_used_at is None  # type: ignore[union-attr]  # noted, not written
    assert touches.flush_now() == 1
    with get_database().session() as session:
        assert session.get(ApiToken, row.id).last_used_at is not None  # type: ignore[union-attr]
