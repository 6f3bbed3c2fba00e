"""Global search: providers merged and ranked; the people provider in Chinese and English; wildcards escaped."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from appliance.db import get_database
from appliance.errors import PermissionDenied, ValidationError
from appliance.models import User
from appliance.modules import ModuleSpec, Permission, current_registry
from appliance.search import SearchHit, global_search, like_pattern, match_score
from tests.appliance.support import audit_rows, fast_hashing  # noqa: F401
from tests.conftest import People, make_user


def search(actor: User, query: str, limit: int = 20) -> list[str]:
    with get_database().session() as session:
        return [hit.title for hit in global_search(session=session, actor=actor, query=query, limit=limit)]


def test_it_finds_a_colleague_by_a_two_character_chinese_name(people: People) -> None:
    assert search(people.bob, '张伟') == ['Bob 张伟 (bob)']


def test_it_finds_a_colleague_by_a_single_chinese_character(people: People) -> None:
    # What it does: a substring match, so one character is enough (short names need no tokenizer).
    make_user(username='zhang', display_name='张三')
    assert search(people.bob, '张') == ['张三 (zhang)', 'Bob 张伟 (bob)']  # a prefix ranks higher
    assert search(people.bob, '伟') == ['Bob 张伟 (bob)']


def test_it_finds_a_colleague_by_an_english_name_in_any_case(people: People) -> None:
    assert search(people.alice, 'bob') == ['Bob 张伟 (bob)']
    assert search(people.alice, 'ALICE') == ['Alice Admin (alice)']


def test_it_ignores_extra_spaces_in_the_query(people: People) -> None:
    assert search(people.alice, '  Alice   Admin ') == ['Alice Admin (alice)']


def test_it_does_not_find_disabled_accounts(people: People) -> None:
    make_user(username='gone', display_name='Bob Gone', active=False)
    assert search(people.alice, 'bob') == ['Bob 张伟 (bob)']


@pytest.mark.parametrize(
    ('query', 'found'),
    [
        ('%', ['Dave 100% (dave_x)']),
        ('_', ['Dave 100% (dave_x)']),
        ('100%', ['Dave 100% (dave_x)']),
        ('\\', []),
        ('%%', []),
    ],
)
def test_it_treats_like_wildcards_as_plain_characters(people: People, query: str, found: list[str]) -> None:
    make_user(username='dave_x', display_name='Dave 100%')
    make_user(username='davexx', display_name='Dave 1000')
    assert search(people.bob, query) == found


def test_it_ranks_an_exact_name_above_a_prefix_above_a_substring(people: People) -> None:
    make_user(username='joanne', display_name='Joanne')
    make_user(username='anna', display_name='Anna Li')
    make_user(username='ann', display_name='Ann')
    assert search(people.bob, 'ann') == ['Ann (ann)', 'Anna Li (anna)', 'Joanne (joanne)']


def test_it_refuses_an_account_without_a_role_and_audits_it(people: People, erin: User) -> None:
    with pytest.raises(PermissionDenied):
        search(erin, 'bob')
    [denial] = audit_rows('permission.denied')
    assert (denial.actor_name, denial.target) == ('erin', 'search')


@pytest.mark.parametrize('query', ['', '   ', 'x' * 201])
def test_it_refuses_an_empty_or_overlong_query(people: People, query: str) -> None:
    with pytest.raises(ValidationError) as caught:
        search(people.bob, query)
    assert caught.value.field == 'q'


def wiki_provider(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    pages = [
        SearchHit('wiki', 'page', f'{query} handbook', '/wiki/1', score=100.0),
        SearchHit('wiki', 'page', f'About {query}', '/wiki/2', score=0.5),
    ]
    return pages[:limit]


def test_it_merges_every_provider_and_ranks_all_hits_together(people: People) -> None:
    current_registry().register(
        ModuleSpec(
            name='wiki', label='Wiki', search=wiki_provider, permissions=(Permission('wiki.read', 'Read the wiki'),)
        )
    )
    with get_database().session() as session:
        hits = global_search(session=session, actor=people.bob, query='bob')
    assert [(hit.module, hit.title) for hit in hits] == [
        ('wiki', 'bob handbook'),
        ('core', 'Bob 张伟 (bob)'),
        ('wiki', 'About bob'),
    ]


def flood_provider(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    return [SearchHit('flood', 'item', f'{query} {n:03}', f'/flood/{n}', score=1.0) for n in range(150)]


def test_it_cuts_the_merged_hits_to_the_limit(people: People) -> None:
    current_registry().register(ModuleSpec(name='wiki', label='Wiki', search=wiki_provider))
    assert search(people.bob, 'bob', limit=2) == ['bob handbook', 'Bob 张伟 (bob)']
    assert len(search(people.bob, 'bob', limit=0)) == 1  # at least one
    current_registry().register(ModuleSpec(name='flood', label='Flood', search=flood_provider))
    assert len(search(people.bob, 'bob', limit=1000)) == 100  # at most 100


def test_it_scores_by_field_and_kind_of_match() -> None:
    assert match_score('ann', 'Ann', 'x') == 9  # exact, first field
    assert match_score('ann', 'Anna', 'x') == 6  # prefix
    assert match_score('ann', 'Joanne', 'x') == 3  # substring
    assert match_score('ann', 'x', 'ann') == 6  # exact, second field
    assert match_score('张伟', 'Bob 张伟', 'bob') == 3
    assert match_score('zzz', 'Ann', 'ann') == 0


def test_it_escapes_like_wildcards() -> None:
    assert like_pattern('50%_off\\') == '%50\\%\\_off\\\\%'
