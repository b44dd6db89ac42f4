"""What an export holds: the records the erasure of the same person would change (the contact,
its duplicates and what the DPO included; the tickets, campaign and CRM records linked to them;
every activity linked to any of those), with what belongs to them (a call's item, a chat's
messages, a transcript, a recording, attachments), each in the v6 wire shape a client of the API
reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# The resources whose serializers give the wire shape: importing them registers them (a job
# worker started from the command line has no app that would have).
from hovor.activities import api as _activities_api  # noqa: F401
from hovor.activities import channels
from hovor.activities.models import Activity, Attachment, Message, Recording, TranscriptSegment
from hovor.api.resource import REGISTRY
from hovor.api.visible import read_keys
from hovor.campaigns import api as _campaigns_api  # noqa: F401
from hovor.core.caller import Caller
from hovor.crm import api as _crm_api  # noqa: F401
from hovor.forms.models import ConsentEvent
from hovor.helpdesk import api as _helpdesk_api  # noqa: F401
from hovor.privacy import consent_api as _consent_api  # noqa: F401
from hovor.privacy.erasure.plan import Plan, in_chunks

# The planned record types, in the order the export lists them (the person first).
TOP = ("contacts", "accounts", "tickets", "campaignsRecords", "crmRecords", "activities")
# Her consent events (the ledger), by her contacts.
LEDGER = "consentEvents"
# What belongs to an activity or a ticket: (endpoint, model, the column holding its owner's key).
PARTS: tuple[tuple[str, Any, Any], ...] = (
    ("activitiesMessages", Message, Message.activity),
    ("activitiesCallTranscripts", TranscriptSegment, TranscriptSegment.activity),
    ("activitiesCallRecordings", Recording, Recording.name),
    ("attachments", Attachment, Attachment.activity),
)
ENDPOINTS = (*TOP, LEDGER, *channels.ENDPOINTS, *(endpoint for endpoint, _, _ in PARTS))


@dataclass
class Contents:
    """Keys by endpoint, and the files that go beside the JSON."""

    keys: dict[str, list[str]] = field(default_factory=dict)
    # (activity, blob, mime) of each call recording; (attachment, blob, file name, mime).
    recordings: list[tuple[str, str, str]] = field(default_factory=list)
    attachments: list[tuple[str, str, str, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {endpoint: len(keys) for endpoint, keys in self.keys.items() if keys}


def contents(session: Session, tenant_id: str, plan: Plan) -> Contents:
    """Everything the export holds, by key, from the plan (which holds the records' keys only)."""
    out = Contents({endpoint: [] for endpoint in ENDPOINTS})
    for kind in TOP:
        out.keys[kind] = list(plan.keys.get(kind, []))
    for chunk in in_chunks(out.keys["contacts"]):
        out.keys[LEDGER] += list(
            session.scalars(
                select(ConsentEvent.name)
                .where(ConsentEvent.tenant_id == tenant_id, ConsentEvent.contact.in_(chunk))
                .order_by(ConsentEvent.time, ConsentEvent.name)
            )
        )
    activities = out.keys["activities"]
    for chunk in in_chunks(activities):
        for name, code in session.execute(
            select(Activity.name, Activity.type).where(
                Activity.tenant_id == tenant_id, Activity.name.in_(chunk)
            )
        ):
            channel = channels.BY_CODE.get(code)
            if channel is not None:
                out.keys[channel.endpoint].append(name)
                if channel.endpoint == "activitiesEmail":
                    out.emails.append(name)
        for endpoint, model, column in PARTS:
            out.keys[endpoint] += [
                str(k)
                for k in session.scalars(
                    select(model.name)
                    .where(model.tenant_id == tenant_id, column.in_(chunk))
                    .order_by(model.name)
                )
            ]
        out.recordings += [
            (r.name, r.blob, r.mime)
            for r in session.execute(
                select(Recording.name, Recording.blob, Recording.mime)
                .where(Recording.tenant_id == tenant_id, Recording.name.in_(chunk))
                .order_by(Recording.name)
            )
        ]
    tickets = [int(k) for k in out.keys["tickets"]]
    for chunk_t in in_chunks(tickets):
        out.keys["attachments"] += [
            str(k)
            for k in session.scalars(
                select(Attachment.name)
                .where(Attachment.tenant_id == tenant_id, Attachment.ticket.in_(chunk_t))
                .order_by(Attachment.name)
            )
        ]
    out.keys["attachments"] = sorted(set(out.keys["attachments"]))
    for chunk in in_chunks(out.keys["attachments"]):
        out.attachments += [
            (a.name, a.blob, a.title, a.mime)
            for a in session.execute(
                select(Attachment.name, Attachment.blob, Attachment.title, Attachment.mime)
                .where(Attachment.tenant_id == tenant_id, Attachment.name.in_(chunk))
                .order_by(Attachment.name)
            )
        ]
    return out


def wire(session: Session, caller: Caller, endpoint: str, keys: list[str]) -> Iterator[dict[str, Any]]:
    """The records of ``endpoint`` with ``keys`` as the API shows them to ``caller``, in chunks."""
    resource = REGISTRY[endpoint]
    for chunk in in_chunks(keys):
        typed: list[Any] = [int(k) for k in chunk] if resource.key_type is int else chunk
        yield from read_keys(session, resource, caller, typed)()
