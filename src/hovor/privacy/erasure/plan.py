"""The ``plan`` step: the records an erasure changes, by key, and the legal holds that may stop it.

The plan holds keys only (it is stored in the job, which outlives the person): the contact, its
duplicates and what the DPO included; the tickets, campaign records and CRM records linked to
them; every activity linked to any of those (so a ticket's comments and a campaign's calls go too).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities import channels
from hovor.activities.models import Activity, Attachment, Message, Recording, TranscriptSegment
from hovor.campaigns.models import CampaignRecord
from hovor.core.db import unit_of_work
from hovor.crm.models import Account, Contact, CrmRecord
from hovor.helpdesk.models import Ticket
from hovor.jobs import service as jobs
from hovor.privacy import holds

# The record types an erasure plans, in the order they are anonymized.
TYPES = ("activities", "tickets", "campaignsRecords", "crmRecords", "accounts", "contacts")
MODELS: dict[str, Any] = {
    "activities": Activity,
    "tickets": Ticket,
    "campaignsRecords": CampaignRecord,
    "crmRecords": CrmRecord,
    "accounts": Account,
    "contacts": Contact,
}
# Rows that belong to a record and go with it: (model, the column holding the record's key).
CHILDREN: dict[str, list[tuple[Any, str]]] = {
    "activities": [
        *((kind.model, "name") for kind in channels.KINDS),
        (Recording, "name"),
        (TranscriptSegment, "activity"),
        (Message, "activity"),
        (Attachment, "activity"),
    ],
    "tickets": [(Attachment, "ticket")],
}
# The identifier index's name for each record type.
INDEX_TYPE = {
    "activities": "activities",
    "tickets": "tickets",
    "campaignsRecords": "records",
    "crmRecords": "crmRecords",
    "accounts": "accounts",
    "contacts": "contacts",
}
# Resolver groups (record kinds as the subjects endpoint names them) → planned record type.
GROUP_TYPE = {
    "contacts": "contacts",
    "accounts": "accounts",
    "tickets": "tickets",
    "campaignsRecords": "campaignsRecords",
    "crmRecords": "crmRecords",
    "activities": "activities",
    **{kind.endpoint: "activities" for kind in channels.KINDS},
}


@dataclass
class Plan:
    """Keys of the records an erasure changes, by type. No personal data: it is stored in the job."""

    keys: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TYPES})

    def as_dict(self) -> dict[str, list[str]]:
        return {t: sorted(set(v)) for t, v in self.keys.items()}

    def count(self) -> int:
        return sum(len(v) for v in self.keys.values())


def only(kind: str, keys: list[str]) -> Plan:
    """A plan of one type's keys: what a chunk checks holds for."""
    return Plan({**{t: [] for t in TYPES}, kind: keys})


def _keys(session: Session, stmt: Any) -> set[str]:
    return {str(k) for k in session.scalars(stmt)}


def in_chunks(keys: Sequence[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(keys), size):
        yield list(keys[i : i + size])


def make_plan(session: Session, tenant_id: str, contact: str, include: dict[str, list[str]]) -> Plan:
    """The contact, the records linked to it, and the records the DPO chose to include."""
    contacts = {contact, *include.get("contacts", [])}
    plan = Plan()
    plan.keys["contacts"] = sorted(contacts)
    tickets = {str(k) for k in include.get("tickets", [])}
    records = set(include.get("campaignsRecords", []))
    crm_records = set(include.get("crmRecords", []))
    activities = set(include.get("activities", []))
    for chunk in in_chunks(sorted(contacts)):
        tickets |= _keys(
            session, select(Ticket.name).where(Ticket.tenant_id == tenant_id, Ticket.contact.in_(chunk))
        )
        records |= _keys(
            session,
            select(CampaignRecord.name).where(
                CampaignRecord.tenant_id == tenant_id, CampaignRecord.contact.in_(chunk)
            ),
        )
        crm_records |= _keys(
            session,
            select(CrmRecord.name).where(CrmRecord.tenant_id == tenant_id, CrmRecord.contact.in_(chunk)),
        )
        activities |= _keys(
            session, select(Activity.name).where(Activity.tenant_id == tenant_id, Activity.contact.in_(chunk))
        )
    ticket_ints = sorted(int(t) for t in tickets if t.isdigit())
    for chunk_i in in_chunks([str(t) for t in ticket_ints]):
        activities |= _keys(
            session,
            select(Activity.name).where(
                Activity.tenant_id == tenant_id, Activity.ticket.in_([int(t) for t in chunk_i])
            ),
        )
    for chunk in in_chunks(sorted(records)):
        activities |= _keys(
            session, select(Activity.name).where(Activity.tenant_id == tenant_id, Activity.record.in_(chunk))
        )
    plan.keys["tickets"] = [str(t) for t in ticket_ints]
    plan.keys["campaignsRecords"] = sorted(records)
    plan.keys["crmRecords"] = sorted(crm_records)
    plan.keys["activities"] = sorted(activities)
    plan.keys["accounts"] = sorted(set(include.get("accounts", [])))
    return plan


def parse_include(value: Any) -> dict[str, list[str]]:
    """``include`` of an erasure request: ``{"activitiesCall": ["..."], ...}`` (resolver groups)."""
    out: dict[str, list[str]] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        raise ValueError("include must map record kinds to lists of keys")
    for group, keys in value.items():
        kind = GROUP_TYPE.get(group)
        if kind is None:
            raise ValueError(f"unknown record kind {group!r}")
        if not isinstance(keys, list) or not all(isinstance(k, str | int) for k in keys):
            raise ValueError(f"include.{group} must be a list of keys")
        out.setdefault(kind, []).extend(str(k) for k in keys)
    return out


def hold_pairs(session: Session, tenant_id: str, plan: Plan) -> Iterator[holds.Pair]:
    yield from (("contacts", k) for k in plan.keys["contacts"])
    for chunk in in_chunks(plan.keys["activities"]):
        for row in session.execute(
            select(Activity.name, Activity.queue, Activity.contact, Activity.ticket).where(
                Activity.tenant_id == tenant_id, Activity.name.in_(chunk)
            )
        ):
            yield from holds.of_activity(row)
    for chunk in in_chunks(plan.keys["tickets"]):
        for trow in session.execute(
            select(Ticket.name, Ticket.contact).where(
                Ticket.tenant_id == tenant_id, Ticket.name.in_([int(k) for k in chunk])
            )
        ):
            yield from holds.of_ticket(trow)
    for chunk in in_chunks(plan.keys["campaignsRecords"]):
        for rrow in session.execute(
            select(CampaignRecord.record_type, CampaignRecord.queue, CampaignRecord.contact).where(
                CampaignRecord.tenant_id == tenant_id, CampaignRecord.name.in_(chunk)
            )
        ):
            yield from holds.of_record(rrow)
    for chunk in in_chunks(plan.keys["crmRecords"]):
        for crow in session.execute(
            select(CrmRecord.contact, CrmRecord.ticket).where(
                CrmRecord.tenant_id == tenant_id, CrmRecord.name.in_(chunk)
            )
        ):
            yield from holds.of_crm_record(crow)


def check_holds(session: Session, tenant_id: str, plan: Plan) -> None:
    holds.check(session, tenant_id, hold_pairs(session, tenant_id, plan), "erasure")


def check_holds_now(session: Session, run: jobs.Run, plan: Plan) -> None:
    """A hold placed after the plan still wins: the job stops, and fails for good."""
    if holds.active(session, run.tenant_id, hold_pairs(session, run.tenant_id, plan)) is not None:
        raise jobs.Abort("LegalHold")


def plan_of(run: jobs.Run) -> Plan:
    """The plan the ``plan`` step stored in the job."""
    return Plan({t: list(run.progress.get("plan", {}).get(t, [])) for t in TYPES})


def step_plan(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        include = run.params.get("include") or {}
        plan = make_plan(session, run.tenant_id, run.params["contact"], include)
        check_holds_now(session, run, plan)
        run.beat(session, {"plan": plan.as_dict(), "planned": {t: len(v) for t, v in plan.keys.items()}})
