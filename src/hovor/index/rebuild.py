"""The search index made again from the records it covers: after rows were written without the ORM
(the benchmark generator's bulk inserts), or to repair it. The migration that created the index
(0035) fills it the same way at that revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, or_, select, tuple_

from hovor.index.search import ENTRIES, SEARCHABLE, Entry, Row, entry_of, write

BATCH = 5000


def rebuild(conn: Connection, tenant_id: str | None = None) -> int:
    """Every searchable record's entry rewritten (of one tenant, or all). Returns the entries made."""
    stmt = delete(ENTRIES)
    conn.execute(stmt if tenant_id is None else stmt.where(ENTRIES.c.tenant_id == tenant_id))
    made = 0
    for model, spec in SEARCHABLE.items():
        attrs = (*spec.own, *([spec.custom] if spec.custom else []))
        tenant, key = model.tenant_id, model.name  # type: ignore[attr-defined]
        columns = [getattr(model, a) for a in attrs]
        # Without custom fields, a record whose own columns are all NULL has no entry: the
        # database skips those (at the large size, ten million activities of which few have a
        # title), instead of every row crossing into Python to be dropped there.
        has_text = None if spec.custom else or_(*(c.is_not(None) for c in columns))
        last: tuple[Any, Any] | None = None
        while True:
            page = select(tenant, key, *columns).order_by(tenant, key).limit(BATCH)
            if has_text is not None:
                page = page.where(has_text)
            if tenant_id is not None:
                page = page.where(tenant == tenant_id)
            if last is not None:
                page = page.where(tuple_(tenant, key) > tuple_(*last))
            rows = conn.execute(page).all()
            if not rows:
                break
            last = (rows[-1][0], rows[-1][1])
            by_tenant: dict[str, dict[str, Entry]] = {}
            for row in rows:
                entry = entry_of(Row(spec, row[2:]), spec)
                if entry is not None:
                    by_tenant.setdefault(row[0], {})[str(row[1])] = entry
            for tenant_key, entries in by_tenant.items():
                write(conn, tenant_key, spec.object_type, entries, new=True)  # all deleted above
                made += len(entries)
    return made
