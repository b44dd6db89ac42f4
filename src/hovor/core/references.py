"""References between records, read from the mapped metadata instead of from sibling imports.

A domain that must look up or let go of another domain's record (a ticket's contact, the user an
activity names, the records of a deleted contact) asks the kernel by table name. The kernel finds
the mapped class through the declarative registry and the referencing columns through the foreign
keys, so no domain imports a sibling's models to do the sibling's work, and a new reference is
followed the day its foreign key is declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, Table, update
from sqlalchemy.orm import Session

from hovor.core.caller import Caller
from hovor.core.db import Base


@cache
def model_of(table: str) -> Any:
    """The mapped class of ``table``; every model is mapped once ``hovor.models`` is imported."""
    for mapper in Base.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table:
            return mapper.class_
    raise LookupError(f"no mapped class for table {table!r}")


@dataclass(frozen=True)
class Reference:
    """A column of ``table`` holding the key (``name``) of a row of another table, tenant-wide."""

    table: Table
    column: Column[Any]
    cascades: bool  # the database deletes the referencing row itself (ON DELETE CASCADE)


def references_to(target: str) -> tuple[Reference, ...]:
    """Every column that refers to a row of ``target``: the composite foreign keys
    ``(tenant_id, x) → (tenant_id, name)`` of the mapped tables. Read afresh on each call (a
    delete is rare, the walk cheap), so a table mapped late is never missed."""
    found: list[Reference] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name != target:
                continue
            local = [c for c in fk.columns if c.name != "tenant_id"]
            if len(local) == 1 and not local[0].primary_key:
                found.append(Reference(table, local[0], (fk.ondelete or "").upper() == "CASCADE"))
    return tuple(found)


def clear_references(
    session: Session, target: str, tenant_id: str, key: Any, *, keep_edited: bool = False
) -> None:
    """Empty every reference to the row ``key`` of ``target`` before that row goes.

    Rows the database deletes with it (ON DELETE CASCADE) are left to it. ``keep_edited`` leaves
    the referencing records' ``edited`` as it was: losing a link is not an edit of theirs (retention
    counts a campaign record's age from it, for instance)."""
    for ref in references_to(target):
        if ref.cascades:
            continue
        values: dict[str, Any] = {ref.column.name: None}
        if keep_edited and "edited" in ref.table.c:
            values["edited"] = ref.table.c.edited
        session.execute(
            update(ref.table).where(ref.table.c.tenant_id == tenant_id, ref.column == key).values(values)
        )


# A domain's reaction to the deletion of another domain's record, before the record goes:
# (session, caller, key of the record, the blob store).
DeleteHook = Callable[[Session, Caller, Any, Any], None]
_ON_DELETE: dict[str, list[DeleteHook]] = {}


def on_delete(table: str) -> Callable[[DeleteHook], DeleteHook]:
    """Register what the deletion of a row of ``table`` means for the registering domain's own
    records (the comments and attachments of a deleted ticket go with it). The domain owning the
    table calls :func:`before_delete`; the reacting domain registers here when its service module
    is imported, which ``hovor.models`` does for every domain."""

    def register(hook: DeleteHook) -> DeleteHook:
        _ON_DELETE.setdefault(table, []).append(hook)
        return hook

    return register


def before_delete(session: Session, caller: Caller, table: str, key: Any, files: Any = None) -> None:
    for hook in _ON_DELETE.get(table, ()):
        hook(session, caller, key, files)
