"""Keeps the identifier index in step with the records it points at (same transaction); a record's
search entry (hovor.index.search) goes with its identifiers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from hovor.index.models import Identifier, SearchEntry


def reindex(
    session: Session,
    tenant_id: str,
    object_type: str,
    name: str,
    identifiers: Iterable[tuple[str, str, str]],
    *,
    creating: bool = False,
) -> None:
    if not creating:
        _drop_identifiers(session, tenant_id, object_type, name)
    rows = {(field, value): kind for kind, value, field in identifiers}
    session.add_all(
        Identifier(
            tenant_id=tenant_id,
            object_type=object_type,
            object_name=name,
            field=field,
            value=value,
            kind=kind,
        )
        for (field, value), kind in rows.items()
    )
    session.flush()


def _drop_identifiers(session: Session, tenant_id: str, object_type: str, name: str) -> None:
    session.execute(
        delete(Identifier).where(
            Identifier.tenant_id == tenant_id,
            Identifier.object_type == object_type,
            Identifier.object_name == name,
        )
    )


def unindex(session: Session, tenant_id: str, object_type: str, name: str) -> None:
    """A record that goes: its identifiers and its search entry."""
    _drop_identifiers(session, tenant_id, object_type, name)
    session.execute(
        delete(SearchEntry).where(
            SearchEntry.tenant_id == tenant_id,
            SearchEntry.object_type == object_type,
            SearchEntry.object_name == str(name),
        )
    )


def unindex_field(session: Session, tenant_id: str, object_type: str, field: str) -> None:
    session.execute(
        delete(Identifier).where(
            Identifier.tenant_id == tenant_id,
            Identifier.object_type == object_type,
            Identifier.field == field,
        )
    )
