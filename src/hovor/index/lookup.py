"""``q`` through the search index: the records whose folded text holds every term, as a condition
on the record's key.

SQLite asks FTS5's trigram index: a quoted term is a phrase of consecutive trigrams, which is a
substring match. A term shorter than three characters has no trigram, so it is matched with LIKE on
the entries of the tenant's records of that type instead. PostgreSQL matches every term with LIKE,
which pg_trgm's GIN index answers (it scans the whole index for a term shorter than three).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, column, or_, select, table, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from hovor.index.fold import fold
from hovor.index.search import ENTRIES, FTS

TRIGRAM = 3
MATCHES = "q_matches"  # PostgreSQL: the common table expression of a search's entries
_FTS = table(FTS, column("rowid"), column(FTS))


def terms_of(raw: Sequence[str]) -> list[str]:
    """The folded terms (empty ones, e.g. a lone combining mark, left out)."""
    return [t for t in (fold(term) for term in raw) if t]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(term: str, custom: bool) -> ColumnElement[bool]:
    pattern = _like(term)
    found = ENTRIES.c.body.like(pattern, escape="\\")
    return or_(found, ENTRIES.c.custom.like(pattern, escape="\\")) if custom else found


def _no_index(col: Any) -> ColumnElement[Any]:
    """``+col``: the same value, which SQLite's planner does not look up by an index."""
    return UnaryExpression(col, operator=custom_op("+"), type_=col.type)


def _fts_query(terms: list[str], custom: bool) -> str:
    phrases = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return phrases if custom else f"body : ({phrases})"


def matching(
    key: Any, dialect: str, tenant_id: str, object_type: str, terms: list[str], *, custom: bool
) -> ColumnElement[bool]:
    """``key`` (the record's key column) is one of the records whose entry holds every term, in its
    own text or, with ``custom``, in its custom-field values."""
    indexed = [t for t in terms if len(t) >= TRIGRAM] if dialect == "sqlite" else []
    if indexed:
        # The entries FTS5 names are looked up by their key. Written ``+tenant_id`` the tenant and
        # type conditions cannot take the (tenant, type, name) index, which SQLite would otherwise
        # walk for every entry of the type, testing each against the matches (40 ms at 100k).
        where = [_no_index(ENTRIES.c.tenant_id) == tenant_id, _no_index(ENTRIES.c.object_type) == object_type]
        query = _fts_query(indexed, custom)
        where.append(ENTRIES.c.id.in_(select(_FTS.c.rowid).where(_FTS.c[FTS].op("MATCH")(query))))
    else:
        where = [ENTRIES.c.tenant_id == tenant_id, ENTRIES.c.object_type == object_type]
    where.extend(_contains(t, custom) for t in terms if t not in indexed)
    name = cast(ENTRIES.c.object_name, Integer) if key.type.python_type is int else ENTRIES.c.object_name
    found = select(name).where(*where)
    if dialect == "postgresql":
        # The search first, then its records by their keys. The searched columns keep no
        # statistics (they are personal data), so the planner guesses how many entries match; at
        # the large size it guessed few, walked a million contacts in the page's order and probed
        # each one's entry: 4.3 s for "kraus" (18,667 found), against 0.17 s searching first.
        matches = found.cte(MATCHES).prefix_with("MATERIALIZED")
        return key.in_(select(*matches.c))
    return key.in_(found)


def searcher(
    key: Any, session: Session, tenant_id: str, object_type: str, *, custom: bool
) -> Callable[[list[str]], ColumnElement[bool]]:
    """``q``'s condition for the terms as typed (hovor.api.query), on a resource the index covers."""
    dialect = session.get_bind().dialect.name

    def search(raw: list[str]) -> ColumnElement[bool]:
        terms = terms_of(raw)
        if not terms:
            return true()
        return matching(key, dialect, tenant_id, object_type, terms, custom=custom)

    return search
