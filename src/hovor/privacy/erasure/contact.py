"""The ``contact`` step: the contacts themselves go, last, because their names are what the steps
before look for. Records linked to them since the plan (a call that came in meanwhile) are
anonymized first: unlinking them would leave them holding her data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.db import unit_of_work, utcnow
from hovor.crm.models import Contact
from hovor.crm.service import delete_contact
from hovor.jobs import service as jobs
from hovor.privacy.deletes import tombstone
from hovor.privacy.erasure.anonymize import anonymize_all
from hovor.privacy.erasure.columns import subject_fields
from hovor.privacy.erasure.consents import erase_events
from hovor.privacy.erasure.context import actor_of, caller_of
from hovor.privacy.erasure.identity import redactor_of
from hovor.privacy.erasure.plan import TYPES, check_holds_now, make_plan, only, plan_of
from hovor.privacy.models import SubjectExport


def _delete_contacts(session: Session, run: jobs.Run, keys: list[str]) -> int:
    """The contacts still there, each with a tombstone and an audit entry. Returns how many went."""
    caller = caller_of(session, run)
    deleted = 0
    for key in keys:
        contact = session.get(Contact, (run.tenant_id, key))
        if contact is None:
            continue  # deleted by an earlier run of this step
        fields = subject_fields(contact)
        delete_contact(session, caller, contact)
        tombstone(
            session,
            run.tenant_id,
            "contacts",
            key,
            "erase",
            fields=sorted(fields),
            job=run.name,
            request_id=run.params.get("request_id"),
        )
        audit.record(
            session, run.tenant_id, "crm.contact.delete", actor_of(run), "contacts", key, {"job": run.name}
        )
        deleted += 1
    return deleted


def _shred_exports(session: Session, run: jobs.Run, keys: list[str]) -> int:
    """Her access exports go with her: each package's key destroyed (the reaper removes the
    object), the link to her cleared; the rows stay as the proof that an export was made."""
    exports = list(
        session.scalars(
            select(SubjectExport).where(
                SubjectExport.tenant_id == run.tenant_id, SubjectExport.contact.in_(keys)
            )
        )
    )
    run.env.files.destroy_keys(session, run.tenant_id, [e.blob for e in exports if e.blob])
    for export in exports:
        export.contact, export.state, export.edited = None, "expired", utcnow()
    return len(exports)


def step_contact(run: jobs.Run) -> None:
    plan = plan_of(run)
    with run.env.reader() as reader:
        fresh = make_plan(reader, run.tenant_id, run.params["contact"], run.params.get("include") or {})
        redactor = redactor_of(reader, run)
    late = {t: sorted(set(fresh.keys[t]) - set(plan.keys[t])) for t in TYPES if t != "contacts"}
    anonymize_all(run, late, redactor, None)
    with unit_of_work(run.env.factory) as session:
        check_holds_now(session, run, only("contacts", plan.keys["contacts"]))
        # Her consent events: given ones go, withdrawals stay as proof (hovor.privacy.erasure.consents).
        events = [erase_events(session, run.tenant_id, p) for p in (plan, fresh)]
        deleted = _delete_contacts(session, run, plan.keys["contacts"])
        shredded = _shred_exports(session, run, plan.keys["contacts"])
        deleted_counts = {"crm_contacts": deleted, "consent_events": sum(e["deleted"] for e in events)}
        if shredded:
            deleted_counts["subject_exports"] = shredded
        run.beat(
            session,
            deleted=deleted_counts,
            anonymized={"consent_events.evidence": sum(e["kept"] for e in events)},
            records={"contacts": deleted},
        )
