"""What an erasure does to the person's consent and to the suppression list.

The ledger's events of an erased person: a consent she gave goes (row deleted: nothing may rely on
it once she is gone); a withdrawal stays as the proof that she may not be contacted, naming her only
by the erased contact's key (as tombstones and the audit log do) with its evidence reference
emptied and ``anonymized`` set. On request (``suppress: true``) her phone numbers and e-mail
addresses go on the suppression list, as keyed hashes, before anything is erased.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from hovor.campaigns import dialling
from hovor.core.db import unit_of_work
from hovor.forms import consent
from hovor.forms.models import ConsentEvent
from hovor.jobs import service as jobs
from hovor.privacy.erasure.identity import identity
from hovor.privacy.erasure.plan import Plan, in_chunks, plan_of
from hovor.privacy.erasure.plan import step_plan as plan_records

# The ledger's name of each planned record type whose consent fields write events.
OBJECT_TYPES = {
    "contacts": "contacts",
    "campaignsRecords": "records",
    "tickets": "tickets",
    "crmRecords": "crmRecords",
    "accounts": "accounts",
    "activities": "activities",
}


def suppress_person(session: Session, tenant_id: str, plan: Plan, by: str | None) -> int:
    """The person's numbers and addresses found in the planned records, on the suppression list.
    Idempotent (an identifier already there stays as it is). Returns how many identifiers."""
    ident = identity(session, tenant_id, plan)
    pairs = [("phone", p) for p in sorted(ident.phones)] + [
        ("email", e.casefold()) for e in sorted(ident.emails)
    ]
    for kind, value in pairs:
        dialling.suppress(session, tenant_id, kind, value, "erasure", by)
    dialling.recheck_identifiers(session, tenant_id, pairs)
    return len(pairs)


def _conditions(plan: Plan) -> list[Any]:
    out: list[Any] = []
    for chunk in in_chunks(plan.keys["contacts"]):
        out.append(ConsentEvent.contact.in_(chunk))
    for kind, object_type in OBJECT_TYPES.items():
        for chunk in in_chunks(plan.keys[kind]):
            out.append(and_(ConsentEvent.object_type == object_type, ConsentEvent.object_name.in_(chunk)))
    return out


def preview_events(session: Session, tenant_id: str, plan: Plan) -> list[dict[str, Any]]:
    """What :func:`erase_events` would do, per event: keys and field names only."""
    conditions = _conditions(plan)
    if not conditions:
        return []
    stmt = (
        select(ConsentEvent.name, ConsentEvent.state, ConsentEvent.anonymized)
        .where(ConsentEvent.tenant_id == tenant_id, or_(*conditions))
        .order_by(ConsentEvent.time, ConsentEvent.name)
    )
    out: list[dict[str, Any]] = []
    for name, state, anonymized in session.execute(stmt):
        if state == consent.GIVEN:
            out.append({"name": name, "state": state, "action": "delete_row"})
        elif not anonymized:
            out.append(
                {"name": name, "state": state, "action": "keep", "changes": ["consent_events.evidence"]}
            )
    return out


def erase_events(session: Session, tenant_id: str, plan: Plan) -> dict[str, int]:
    """Given consents deleted, withdrawals kept without their evidence. Idempotent."""
    conditions = _conditions(plan)
    if not conditions:
        return {"deleted": 0, "kept": 0}
    mine = and_(ConsentEvent.tenant_id == tenant_id, or_(*conditions))
    gone = session.execute(
        delete(ConsentEvent)
        .where(mine, ConsentEvent.state == consent.GIVEN)
        .execution_options(synchronize_session=False)
    )
    kept = session.execute(
        update(ConsentEvent)
        .where(mine, ConsentEvent.anonymized.is_(False))
        .values(evidence=None, anonymized=True)
        .execution_options(synchronize_session=False)
    )
    return {"deleted": getattr(gone, "rowcount", 0) or 0, "kept": getattr(kept, "rowcount", 0) or 0}


def step_plan(run: jobs.Run) -> None:
    """The ``plan`` step, and then (asked with ``suppress: true``) the person's identifiers on the
    suppression list, before any step erases them: the request did it for the records it planned,
    this run for those linked since. Both are idempotent."""
    plan_records(run)
    if not run.params.get("suppress"):
        return
    with unit_of_work(run.env.factory) as session:
        session.info["settings"] = run.env.settings
        suppress_person(session, run.tenant_id, plan_of(run), run.params.get("by"))
