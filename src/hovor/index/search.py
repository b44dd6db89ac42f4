"""Keeps the search index (:class:`hovor.index.models.SearchEntry`) in step with the records ``q``
searches, in the transaction that changes them.

A domain declares which of its models are searched and by which columns (:func:`searchable`, in its
models module). Writes through the ORM are followed by the session's ``after_flush`` hook, which
rewrites the entries of every searchable record added, changed in a searched column, or deleted.
Writes that bypass the ORM (bulk UPDATEs of an erasure, a retention sweep or a restore's replay)
call :func:`refresh` with the keys they changed; plain deletes go through
:func:`hovor.index.service.unindex`, which drops the entry with the identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, event, insert, inspect, select, text
from sqlalchemy.orm import Session, UOWTransaction

from hovor.index.fold import fold_all
from hovor.index.models import SearchEntry

ENTRIES: Table = SearchEntry.__table__  # type: ignore[assignment]
FTS = "search_fts"  # SQLite's FTS5 index of ENTRIES (migration 0035)
_CHUNK = 500


@dataclass(frozen=True)
class Searchable:
    object_type: str  # as the identifier index names it: contacts, accounts, tickets, activities
    own: tuple[str, ...]  # attributes whose text is searched
    custom: str | None  # the attribute holding custom-field values, searched apart


SEARCHABLE: dict[type, Searchable] = {}


def searchable(model: type, object_type: str, own: Sequence[str], custom: str | None = None) -> None:
    """Declare that ``q`` on ``model`` searches ``own`` and the values of ``custom``."""
    SEARCHABLE[model] = Searchable(object_type, tuple(own), custom)


Entry = tuple[str, str] | None  # (body, custom) folded; None: the record has no entry


def entry_of(obj: Any, spec: Searchable) -> Entry:
    body = fold_all(getattr(obj, attr) for attr in spec.own)
    custom = fold_all([getattr(obj, spec.custom)]) if spec.custom else ""
    return (body, custom) if body or custom else None


def write(
    conn: Connection, tenant_id: str, object_type: str, entries: dict[str, Entry], *, new: bool = False
) -> None:
    """Replaces the entries of the records named in ``entries`` (None drops a record's entry);
    ``new`` records have none to replace."""
    names = [] if new else sorted(entries)
    for i in range(0, len(names), _CHUNK):
        conn.execute(
            delete(ENTRIES).where(
                ENTRIES.c.tenant_id == tenant_id,
                ENTRIES.c.object_type == object_type,
                ENTRIES.c.object_name.in_(names[i : i + _CHUNK]),
            )
        )
    rows = [
        {"tenant_id": tenant_id, "object_type": object_type, "object_name": n, "body": e[0], "custom": e[1]}
        for n, e in sorted(entries.items())
        if e is not None
    ]
    if rows:
        conn.execute(insert(ENTRIES), rows)


def refresh(session: Session, model: type, tenant_id: str, keys: Iterable[Any]) -> None:
    """The entries of ``keys`` as their records read now (a record gone loses its entry): after a
    change the ORM did not see."""
    spec = SEARCHABLE.get(model)
    wanted = [str(k) for k in keys]
    if spec is None or not wanted:
        return
    key = model.name  # type: ignore[attr-defined]
    typed: list[Any] = [int(k) for k in wanted] if key.type.python_type is int else wanted
    entries: dict[str, Entry] = dict.fromkeys(wanted)
    columns = [getattr(model, a) for a in (*spec.own, *([spec.custom] if spec.custom else []))]
    for i in range(0, len(typed), _CHUNK):
        stmt = select(
            key, *columns
        ).where(
            model.tenant_id == tenant_id,  # type: ignore[attr-defined]
            key.in_(typed[i : i + _CHUNK]),
        )
        for row in session.execute(stmt):
            entries[str(row[0])] = entry_of(Row(spec, row[1:]), spec)
    write(session.connection(), tenant_id, spec.object_type, entries)


def refresh_row(session: Session, table_name: str, key: dict[str, Any]) -> None:
    """:func:`refresh` of the record whose row of ``table_name`` has primary key ``key``, when that
    table is a searched model's (a row redacted by a statement, not through the ORM)."""
    for model in SEARCHABLE:
        if model.__tablename__ == table_name and "name" in key:  # type: ignore[attr-defined]
            refresh(session, model, key["tenant_id"], [key["name"]])


class Row:
    """A selected row read by attribute, as :func:`entry_of` reads a model."""

    def __init__(self, spec: Searchable, values: Sequence[Any]) -> None:
        names = (*spec.own, *([spec.custom] if spec.custom else []))
        self.__dict__.update(zip(names, values, strict=True))


def _changed(obj: Any, spec: Searchable) -> bool:
    state = inspect(obj)
    watched = (*spec.own, *([spec.custom] if spec.custom else []))
    return any(state.attrs[a].history.has_changes() for a in watched)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    """Every searchable record the flush wrote: its entry rewritten (or dropped) in the same
    transaction, so the index never runs behind what it points at."""
    pending: dict[tuple[str, str, bool], dict[str, Entry]] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        spec = SEARCHABLE.get(type(obj))
        if spec is None:
            continue
        gone, new = obj in session.deleted, obj in session.new
        if not gone and not new and not _changed(obj, spec):
            continue
        entry = None if gone else entry_of(obj, spec)
        if new and entry is None:
            continue  # nothing to search (a call without a title): no statement at all
        pending.setdefault((obj.tenant_id, spec.object_type, new), {})[str(obj.name)] = entry
    if pending:
        conn = session.connection()
        for (tenant_id, object_type, new), entries in pending.items():
            write(conn, tenant_id, object_type, entries, new=new)


def merge_segments(conn: Connection) -> None:
    """SQLite: FTS5 keeps a deleted row's trigrams in its segments (behind a delete marker) until
    the segments are merged; ``optimize`` merges them all into one, and ``secure_delete`` zeroes the
    pages the old ones held. PostgreSQL's GIN index is rewritten with its table by VACUUM FULL."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
