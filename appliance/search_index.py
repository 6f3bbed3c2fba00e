"""A full-text index any module can use: `index` an object's texts, then `matching` finds ids by a query.

Chinese has no spaces, and SQLite's and PostgreSQL's tokenizers do not split it; FTS5's trigram tokenizer cannot
match a two-character word. So texts are pre-split here: runs of CJK characters become overlapping two-character
tokens (项目管理 → 项目 目管 管理), other text stays as words. A query is split the same way and every token must
match (a Latin word as a prefix); callers that need an exact substring check the candidates (`confirm`).
A one-character Chinese query has no token: `matching` returns None and the caller falls back to LIKE.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import cast

from sqlalchemy import ColumnElement, Select, Table, delete, func, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from appliance.db import bulk_insert
from appliance.models import SearchTerms

_CJK = r'\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff'
_RUN = re.compile(rf'[{_CJK}]+|[^\W_]+')
_IS_CJK = re.compile(rf'[{_CJK}]')
_ASCII_SEPARATORS = str.maketrans({c: ' ' for c in map(chr, range(128)) if not c.isalnum()})
_TABLE = cast(Table, SearchTerms.__table__)
MAX_TERMS_CHARS = 200_000  # a huge description is indexed by its first part only


def tokens(text_: str) -> list[str]:
    """Index tokens of `text_`: lower-cased words, and two-character pieces of CJK runs (a lone CJK char stays)."""
    out: list[str] = []
    for run in _RUN.findall(unicodedata.normalize('NFKC', text_[:MAX_TERMS_CHARS]).casefold()):
        if _IS_CJK.match(run):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            out.append(run)
    return out


def terms_of(*texts: str) -> str:
    """The `terms` column for an object with these texts: its words, and its CJK runs cut into two-character pieces,
    separated by spaces, so that SQLite's and PostgreSQL's tokenizers both see plain words (PostgreSQL's parser
    would read "WEB-2" as "web" and the number "-2"). Lower-casing is left to the index."""
    out: list[str] = []
    for part in texts:
        if not part:
            continue
        part = unicodedata.normalize('NFKC', part[:MAX_TERMS_CHARS])
        if part.isascii():
            out.append(part.translate(_ASCII_SEPARATORS))
            continue
        for run in _RUN.findall(part):
            if len(run) > 1 and _IS_CJK.match(run):
                out.append(' '.join([run[i : i + 2] for i in range(len(run) - 1)]))
            else:
                out.append(run)
    return ' '.join(out)


def _query_tokens(query: str) -> list[tuple[str, bool]]:
    """(token, is_prefix) for a query; Latin words match as prefixes, CJK pieces exactly."""
    result: list[tuple[str, bool]] = []
    for run in _RUN.findall(unicodedata.normalize('NFKC', query).casefold()):
        if _IS_CJK.match(run):
            if len(run) == 1:
                return []  # a lone CJK character is not a token: the caller scans instead
            result.extend((run[i : i + 2], False) for i in range(len(run) - 1))
        else:
            result.append((run, True))
    return result


def indexable(query: str) -> bool:
    """True when the query has a token the index can look up (False: one Chinese character, only punctuation)."""
    return bool(_query_tokens(query))


def index(session: Session, kind: str, ref_id: int, *texts: str) -> None:
    """Make (or refresh) the index entry of one object."""
    terms = terms_of(*texts)
    changed = session.execute(
        update(SearchTerms).where(SearchTerms.kind == kind, SearchTerms.ref_id == ref_id).values(terms=terms)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        result = session.execute(insert(_TABLE).values(kind=kind, ref_id=ref_id, terms=terms))
        _add_to_fts(session, int(result.inserted_primary_key[0]))  # type: ignore[attr-defined]


def index_many(session: Session, kind: str, rows: Iterable[tuple[int, Iterable[str]]]) -> None:
    """Index many new objects at once (bulk imports): [(ref_id, texts), ...]. They must not be indexed yet."""
    values = [{'kind': kind, 'ref_id': ref_id, 'terms': terms_of(*texts)} for ref_id, texts in rows]
    if not values:
        return
    last = session.scalar(select(func.max(SearchTerms.id))) or 0
    bulk_insert(session, _TABLE, values)
    _add_to_fts(session, int(last) + 1)


_FTS_ADD = text(
    'INSERT INTO core_search_fts(rowid, kind, terms) SELECT id, kind, terms FROM core_search_terms WHERE id >= :first'
)


def _add_to_fts(session: Session, first_id: int) -> None:
    """Put the new core_search_terms rows (id >= first_id, all written by this transaction) into SQLite's FTS5
    index in one statement; updates and deletes reach it through triggers."""
    if session.get_bind().dialect.name == 'sqlite':
        session.execute(_FTS_ADD, {'first': first_id})


def rebuild(session: Session) -> None:
    """Rebuild SQLite's FTS5 index from core_search_terms (after a restore, or if it is ever in doubt)."""
    if session.get_bind().dialect.name == 'sqlite':
        session.execute(text("INSERT INTO core_search_fts(core_search_fts) VALUES ('rebuild')"))


def remove(session: Session, kind: str, *ref_ids: int) -> None:
    """Drop the index entries of deleted objects."""
    if ref_ids:
        session.execute(delete(SearchTerms).where(SearchTerms.kind == kind, SearchTerms.ref_id.in_(ref_ids)))


def _fts5_query(pairs: list[tuple[str, bool]], kind: str | None = None) -> str:
    terms = ' AND '.join('"' + token.replace('"', '""') + '"' + ('*' if prefix else '') for token, prefix in pairs)
    return f'kind : "{kind}" AND terms : ({terms})' if kind else f'terms : ({terms})'


def _tsquery(pairs: list[tuple[str, bool]]) -> str:
    quoted = (
        "'" + token.replace("'", "''").replace('\\', '') + "'" + (':*' if prefix else '') for token, prefix in pairs
    )
    return ' & '.join(quoted)


def _condition(session: Session, kind: str, pairs: list[tuple[str, bool]]) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == 'sqlite':
        match = text('core_search_terms.id IN (SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH :q)')
        return match.bindparams(q=_fts5_query(pairs, kind))  # type: ignore[return-value]
    # PostgreSQL: callers add `kind = :kind` beside it.
    return literal_column("to_tsvector('simple', core_search_terms.terms)").op('@@')(
        text("to_tsquery('simple', :q)").bindparams(q=_tsquery(pairs))
    )


def matching(session: Session, kind: str, query: str) -> Select[int] | None:
    """A SELECT of the ref_ids of `kind` whose text has every token of `query`, newest id first.

    None when the query has no indexable token (a single Chinese character, only punctuation): scan instead.
    The result may hold false positives for multi-token queries (tokens apart); check with `confirm`.
    Use it inside a larger query (`.in_()`); to read matches newest first with a small limit, use `newest`.
    """
    pairs = _query_tokens(query)
    if not pairs:
        return None
    condition = _condition(session, kind, pairs)
    return select(SearchTerms.ref_id).where(SearchTerms.kind == kind, condition).order_by(SearchTerms.ref_id.desc())


_FTS_NEWEST = text(
    'SELECT s.ref_id, s.id FROM core_search_terms s WHERE s.id IN ('
    'SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH :q AND rowid < :before ORDER BY rowid DESC LIMIT :n'
    ') ORDER BY s.id DESC'
)


def newest(
    session: Session, kind: str, query: str, *, before: int | None = None, limit: int = 200
) -> tuple[list[int], int | None] | None:
    """(ref_ids, cursor): up to `limit` matches of `kind`, most recently indexed first, and the cursor to pass as
    `before` for the next batch (None when there are no more). None when the query has no indexable token.

    Reads only as many index entries as it returns, however common the words are, so a caller that filters the
    candidates (visibility) can stop as soon as it has enough.
    """
    pairs = _query_tokens(query)
    if not pairs:
        return None
    limit = max(1, limit)
    if session.get_bind().dialect.name == 'sqlite':
        params = {'q': _fts5_query(pairs, kind), 'before': before if before is not None else 2**62, 'n': limit}
        rows = session.execute(_FTS_NEWEST, params).all()
    else:
        stmt = select(SearchTerms.ref_id, SearchTerms.id).where(
            SearchTerms.kind == kind, _condition(session, kind, pairs)
        )
        if before is not None:
            stmt = stmt.where(SearchTerms.id < before)
        rows = session.execute(stmt.order_by(SearchTerms.id.desc()).limit(limit)).all()
    cursor = rows[-1][1] if len(rows) == limit else None
    return [row[0] for row in rows], cursor


def confirm(query: str, *texts: str) -> bool:
    """True when `query` (case-insensitively, after NFKC) occurs in one of `texts` or each of its words does."""
    q = unicodedata.normalize('NFKC', query).casefold()
    haystack = ' '.join(unicodedata.normalize('NFKC', t).casefold() for t in texts if t)
    return q in haystack or all(word in haystack for word in q.split())
