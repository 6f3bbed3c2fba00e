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

from sqlalchemy import ColumnElement, Select, Table, delete, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from appliance.models import SearchTerms

_CJK = r'\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff'
_RUN = re.compile(rf'[{_CJK}]+|[^\W_]+')
_IS_CJK = re.compile(rf'[{_CJK}]')
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
    """The `terms` column for an object with these texts."""
    return ' '.join(token for part in texts if part for token in tokens(part))


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


def index(session: Session, kind: str, ref_id: int, *texts: str) -> None:
    """Make (or refresh) the index entry of one object."""
    terms = terms_of(*texts)
    changed = session.execute(
        update(SearchTerms).where(SearchTerms.kind == kind, SearchTerms.ref_id == ref_id).values(terms=terms)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(SearchTerms).values(kind=kind, ref_id=ref_id, terms=terms))


def index_many(session: Session, kind: str, rows: Iterable[tuple[int, Iterable[str]]]) -> None:
    """Index many new objects at once (bulk imports): [(ref_id, texts), ...]. They must not be indexed yet."""
    values = [{'kind': kind, 'ref_id': ref_id, 'terms': terms_of(*texts)} for ref_id, texts in rows]
    if values:
        session.execute(insert(_TABLE), values)  # Core: the ORM bulk path is several times slower


def remove(session: Session, kind: str, *ref_ids: int) -> None:
    """Drop the index entries of deleted objects."""
    if ref_ids:
        session.execute(delete(SearchTerms).where(SearchTerms.kind == kind, SearchTerms.ref_id.in_(ref_ids)))


def _fts5_query(pairs: list[tuple[str, bool]]) -> str:
    return ' AND '.join('"' + token.replace('"', '""') + '"' + ('*' if prefix else '') for token, prefix in pairs)


def _tsquery(pairs: list[tuple[str, bool]]) -> str:
    quoted = (
        "'" + token.replace("'", "''").replace('\\', '') + "'" + (':*' if prefix else '') for token, prefix in pairs
    )
    return ' & '.join(quoted)


def matching(session: Session, kind: str, query: str) -> Select[int] | None:
    """A SELECT of the ref_ids of `kind` whose text has every token of `query`, newest id first.

    None when the query has no indexable token (a single Chinese character, only punctuation): scan instead.
    The result may hold false positives for multi-token queries (tokens apart); check with `confirm`.
    """
    pairs = _query_tokens(query)
    if not pairs:
        return None
    if session.get_bind().dialect.name == 'sqlite':
        match = text('core_search_terms.id IN (SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH :q)')
        condition: ColumnElement[bool] = match.bindparams(q=_fts5_query(pairs))  # type: ignore[assignment]
    else:
        condition = literal_column("to_tsvector('simple', core_search_terms.terms)").op('@@')(
            text("to_tsquery('simple', :q)").bindparams(q=_tsquery(pairs))
        )
    return select(SearchTerms.ref_id).where(SearchTerms.kind == kind, condition).order_by(SearchTerms.ref_id.desc())


def confirm(query: str, *texts: str) -> bool:
    """True when `query` (case-insensitively, after NFKC) occurs in one of `texts` or each of its words does."""
    q = unicodedata.normalize('NFKC', query).casefold()
    haystack = ' '.join(unicodedata.normalize('NFKC', t).casefold() for t in texts if t)
    return q in haystack or all(word in haystack for word in q.split())
