"""What every kind of record a retention policy sweeps is made of (:class:`SweptKind`), what
applying one chunk of a sweep is given (:class:`SweepChunk`), and the conditions in SQL the kinds
share. The kinds themselves are in :mod:`hovor.privacy.kinds` and :mod:`hovor.privacy.register_kinds`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, type_coerce
from sqlalchemy.orm import Session

from hovor.core.caller import Caller
from hovor.files.service import Files
from hovor.privacy import holds
from hovor.privacy.holds import Held

DELETE, ANONYMIZE = "delete", "anonymize"


# --- conditions in SQL ---------------------------------------------------------------------------
def not_in(column: Any, keys: frozenset[str], *, numeric: bool = False) -> Any:
    """``column`` is empty or none of ``keys``: a hold filter in SQL (exact checks follow per row)."""
    if not keys:
        return None
    values: list[Any] = sorted(int(k) for k in keys if k.isdigit()) if numeric else sorted(keys)
    if not values:
        return None
    return or_(column.is_(None), column.not_in(values))


def at(column: Any, moment: dt.datetime) -> Any:
    """A cutoff bound as the column's own type (UTC, no zone): a zoned literal would be compared in
    the database session's time zone."""
    return type_coerce(moment, column.type)


# --- the kinds -----------------------------------------------------------------------------------
@dataclass
class SweepChunk:
    """What applying one chunk of a retention sweep needs."""

    session: Session
    files: Files
    tenant_id: str
    job: str | None
    caller: Caller
    # The audit log's keyed pseudonyms (tenant, value) → token: what anonymizing a record whose
    # identifiers must still be recognisable later (a subject request) writes instead of them.
    pseudonyms: Callable[[str, str], str] | None = None


@dataclass(frozen=True)
class SweptKind:
    """A kind of record the retention sweeps: how its expired rows are found, held and removed."""

    name: str
    title: str
    actions: tuple[str, ...]  # the first is the default (a kind kept by the contract alone)
    key: Any  # the key column, in whose order chunks go
    age: Any  # the column or expression a record's age is counted from
    # The expired rows in SQL: (tenant, cutoff, action, held) → where-conditions.
    where: Callable[[str, dt.datetime, str, Held], list[Any]]
    # The holds that cover one loaded record, exactly.
    pairs: Callable[[Session, Any], list[holds.Pair]]
    # Deletes or anonymizes the loaded records; returns rows changed per table.
    apply: Callable[[SweepChunk, list[Any], str], dict[str, int]]
    tombstone_type: str
    load: Any = None  # the model loaded for ``apply`` (default: the key's)
    # Whether a loaded record must stay though SQL found it expired (checked per record).
    alive: Callable[[Session, Any, dt.datetime], bool] | None = None

    def expired(self, tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> Any:
        return [c for c in self.where(tenant_id, cutoff, action, keep) if c is not None]
