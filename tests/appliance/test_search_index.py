"""The shared full-text index: Chinese split into two-character pieces, kinds kept apart, FTS5 kept in step."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from appliance import search_index
from appliance.db import get_database


def ids(kind: str, query: str) -> list[int] | None:
    with get_database().session() as session:
        found = search_index.newest(session, kind, query)
        return None if found is None else found[0]


def fts_is_consistent() -> bool:
    with get_database().session() as session:
        if session.get_bind().dialect.name != 'sqlite':
            return True
        session.execute(text("INSERT INTO core_search_fts(core_search_fts, rank) VALUES ('integrity-check', 1)"))
        return True


def test_it_splits_chinese_into_two_character_pieces_and_keeps_words() -> None:
    assert search_index.tokens('项目管理 Web-Site，张伟') == ['项目', '目管', '管理', 'web', 'site', '张伟']
    assert search_index.tokens('Ｗｅｂ 项') == ['web', '项']


def test_it_finds_chinese_words_of_two_characters_and_english_prefixes(data_dir: object) -> None:
    with get_database().session() as session:
        search_index.index(session, 'task', 1, '项目管理 website')
        search_index.index(session, 'task', 2, '新项目 redesign')
        search_index.index(session, 'comment', 3, '项目 comment')
    assert ids('task', '项目') == [2, 1]
    assert ids('task', '项目管理') == [1]
    assert ids('task', 'web') == [1]
    assert ids('comment', '项目') == [3]
    assert ids('task', 'nothing') == []
    assert ids('task', '项') is None  # one character: no token, the caller scans
    assert fts_is_consistent()


def test_it_follows_updates_and_deletes(data_dir: object) -> None:
    with get_database().session() as session:
        search_index.index(session, 'task', 1, '旧标题 old')
    with get_database().session() as session:
        search_index.index(session, 'task', 1, '新标题 new')
    assert ids('task', 'old') == []
    assert ids('task', '新标') == [1]
    with get_database().session() as session:
        search_index.remove(session, 'task', 1)
    assert ids('task', '新标') == []
    assert fts_is_consistent()


def test_it_indexes_many_at_once_and_pages_newest_first(data_dir: object) -> None:
    with get_database().session() as session:
        search_index.index_many(session, 'task', ((n, (f'部署 deploy {n}',)) for n in range(1, 11)))
    with get_database().session() as session:
        first = search_index.newest(session, 'task', '部署', limit=4)
        assert first is not None and first[0] == [10, 9, 8, 7]
        second = search_index.newest(session, 'task', 'deploy', before=first[1], limit=4)
        assert second is not None and second[0] == [6, 5, 4, 3]
        last = search_index.newest(session, 'task', 'deploy', before=second[1], limit=4)
        assert last is not None and last == ([2, 1], None)
    assert fts_is_consistent()


@pytest.mark.parametrize('query', ['"', '*', 'AND', 'NEAR(a b)', "'; DROP TABLE x; --", 'kind:comment'])
def test_it_treats_query_syntax_as_plain_text(data_dir: object, query: str) -> None:
    with get_database().session() as session:
        search_index.index(session, 'task', 1, 'plain text')
    assert ids('task', query) in ([], None)
