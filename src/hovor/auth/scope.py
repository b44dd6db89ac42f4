"""The one choke point that decides which rows a caller may see.

Every read and every write of a tenant-owned row goes through :func:`visible`: first the tenant,
then the caller's rights (the CRM databases of their profile; queues and ticket categories join
here as those domains arrive). Nothing else filters by tenant by hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session

from hovor.auth.caller import Caller

# Rights dimensions a resource can be scoped by, and where a caller's grant for it is kept.
DIMENSIONS = ("database",)


def visible(model: Any, caller: Caller, scope: dict[str, Any] | None = None) -> list[ColumnElement[bool]]:
    """Conditions limiting ``model`` to what ``caller`` may see.

    ``scope`` maps a rights dimension to the column of ``model`` that carries it.
    """
    conditions: list[ColumnElement[bool]] = [model.tenant_id == caller.tenant_id]
    for dimension, column in (scope or {}).items():
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown rights dimension {dimension}")
        allowed = caller.databases if dimension == "database" else None
        if allowed is not None:
            conditions.append(column.in_(sorted(allowed)) if allowed else false())
    return conditions


def visible_select(model: Any, caller: Caller, scope: dict[str, Any] | None = None) -> Select[Any]:
    return select(model).where(*visible(model, caller, scope))


def may_use(caller: Caller, dimension: str, value: str) -> bool:
    """Whether the caller's rights cover a value of a dimension (used when writing a reference)."""
    if dimension == "database":
        return caller.databases is None or value in caller.databases
    raise ValueError(f"unknown rights dimension {dimension}")


def get_visible(
    session: Session, model: Any, caller: Caller, key: Any, scope: dict[str, Any] | None = None
) -> Any | None:
    stmt = visible_select(model, caller, scope).where(model.name == key)
    return session.scalars(stmt).one_or_none()
