"""The preview: exactly what an erasure would change, per record and field; nothing is changed.

Keys and field names only, never values: the DPO sees records their profile may not open.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.core.caller import Caller
from hovor.core.db import Base
from hovor.core.personal_data import Erasure, classification
from hovor.privacy import holds
from hovor.privacy.erasure.columns import RowChange, row_change, subject_fields
from hovor.privacy.erasure.consents import preview_events
from hovor.privacy.erasure.context import CHUNK
from hovor.privacy.erasure.identity import identity, unlinked
from hovor.privacy.erasure.mentions import find_mentions
from hovor.privacy.erasure.plan import CHILDREN, MODELS, TYPES, Plan, hold_pairs, in_chunks, make_plan
from hovor.privacy.redact import Redactor


def _described(change: RowChange) -> list[dict[str, str]]:
    out = []
    for name in change.fields:
        table, column = name.split(".", 1)
        cls = None
        for col in Base.metadata.tables[table].columns:
            if col.name == column:
                cls = classification(col)
        action = (
            "delete_row"
            if change.delete_row
            and cls is not None
            and cls.erasure in (Erasure.DELETE_ROW, Erasure.DELETE_BLOB)
            else (cls.erasure.value if cls else "null")
        )
        out.append({"field": name, "action": action})
    if change.delete_row and not any(c["action"] == "delete_row" for c in out):
        out.append({"field": "*", "action": "delete_row"})
    return out


def _records(
    session: Session, tenant_id: str, kind: str, keys: list[str], redactor: Redactor
) -> list[dict[str, Any]]:
    """Each record of ``keys`` with what happens to its fields and to those of its child rows."""
    model = MODELS[kind]
    key_values: list[Any] = [int(k) for k in keys] if kind == "tickets" else keys
    children: dict[str, list[dict[str, str]]] = {}
    for child, column in CHILDREN.get(kind, []):
        col = getattr(child, column)
        for obj in session.scalars(select(child).where(child.tenant_id == tenant_id, col.in_(key_values))):
            children.setdefault(str(getattr(obj, column)), []).extend(_described(row_change(obj, redactor)))
    out = []
    for obj in session.scalars(select(model).where(model.tenant_id == tenant_id, model.name.in_(key_values))):
        key = str(obj.name)
        if kind == "contacts":
            changes = [{"field": f, "action": "delete_row"} for f in subject_fields(obj)]
        else:
            changes = _described(row_change(obj, redactor)) + children.get(key, [])
        action = "delete" if kind == "contacts" else "anonymize"
        out.append({"type": kind, "name": key, "action": action, "changes": changes})
    return out


def _mentions(session: Session, tenant_id: str, redactor: Redactor, plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "table": m.table.name,
            "key": {k: str(v) for k, v in m.key.items()},
            "record": None if m.record is None else {"type": m.record[0], "name": m.record[1]},
            "fields": m.fields,
            # A record under a legal hold keeps the mention; the erasure still goes ahead.
            "heldBy": m.held_by,
        }
        for m in find_mentions(session, tenant_id, redactor, plan)
    ]


def preview(session: Session, caller: Caller, contact: str, include: dict[str, list[str]]) -> dict[str, Any]:
    """Exactly what an erasure would change, per record and field; nothing is changed."""
    tenant_id = caller.tenant_id
    plan = make_plan(session, tenant_id, contact, include)
    ident = identity(session, tenant_id, plan)
    redactor = ident.redactor(caller.country)
    records = [
        record
        for kind in TYPES
        for chunk in in_chunks(plan.keys[kind], CHUNK)
        for record in _records(session, tenant_id, kind, chunk, redactor)
    ]
    mentions = _mentions(session, tenant_id, redactor, plan)
    events = preview_events(session, tenant_id, plan)
    hold = holds.active(session, tenant_id, hold_pairs(session, tenant_id, plan))
    return {
        "contact": contact,
        "records": records,
        "mentions": mentions,
        # Her consent ledger: given consents go, withdrawals stay as proof without their evidence.
        "consentEvents": events,
        "unlinked": unlinked(session, caller, plan, ident),
        "holds": []
        if hold is None
        else [{"name": hold.name, "object_type": hold.object_type, "object_key": hold.object_key}],
        "summary": {
            "records": {t: len(v) for t, v in plan.keys.items()},
            "mentions": len(mentions),
            "consentEvents": len(events),
        },
    }
