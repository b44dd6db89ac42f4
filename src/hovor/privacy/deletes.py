"""What every plain delete of a record with personal data does besides deleting: it is refused
while a legal hold covers the record, and it leaves a tombstone (record type and key, time, request;
never what the record held). The blobs of the record are crypto-shredded by the domain's delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities import channels
from hovor.activities.models import Activity
from hovor.core.caller import Caller
from hovor.core.db import new_name
from hovor.core.records import refuse_if_restricted
from hovor.helpdesk.models import Ticket
from hovor.privacy import holds
from hovor.privacy.models import Tombstone

if TYPE_CHECKING:  # the jobs and the CLI use this module without loading the HTTP stack
    from fastapi import Request

CHANNELS = ("activities", *channels.ENDPOINTS)


def _activity_pairs(session: Session, obj: Any) -> list[holds.Pair]:
    activity = obj if isinstance(obj, Activity) else session.get(Activity, (obj.tenant_id, obj.name))
    return holds.of_activity(activity) if activity is not None else []


def attachment_pairs(session: Session, obj: Any) -> list[holds.Pair]:
    pairs: list[holds.Pair] = []
    if obj.activity is not None:
        activity = session.get(Activity, (obj.tenant_id, obj.activity))
        if activity is not None:
            pairs += holds.of_activity(activity)
    if obj.ticket is not None:
        ticket = session.get(Ticket, (obj.tenant_id, obj.ticket))
        if ticket is not None:
            pairs += holds.of_ticket(ticket)
    return pairs


def ticket_pairs(session: Session, ticket: Any) -> list[holds.Pair]:
    """The ticket's own holds, and those of the comments and calls filed under it (deleting the
    ticket deletes its comments)."""
    pairs = holds.of_ticket(ticket)
    for row in session.execute(
        select(Activity.name, Activity.queue, Activity.contact, Activity.ticket).where(
            Activity.tenant_id == ticket.tenant_id, Activity.ticket == ticket.name
        )
    ):
        pairs += holds.of_activity(row)
    return pairs


# Endpoint → (the tombstone's record type, the hold pairs of a record).
GUARDED: dict[str, tuple[str, Callable[[Session, Any], list[holds.Pair]]]] = {
    "contacts": ("contacts", lambda s, o: holds.of_contact(o)),
    "accounts": ("accounts", lambda s, o: []),
    "tickets": ("tickets", ticket_pairs),
    "campaignsRecords": ("campaignsRecords", lambda s, o: holds.of_record(o)),
    "crmRecords": ("crmRecords", lambda s, o: holds.of_crm_record(o)),
    "attachments": ("attachments", attachment_pairs),
    **{ep: ("activities", _activity_pairs) for ep in CHANNELS},
}


def tombstone(
    session: Session,
    tenant_id: str,
    record_type: str,
    key: Any,
    action: str,
    *,
    fields: list[str] | None = None,
    job: str | None = None,
    request_id: str | None = None,
) -> None:
    session.add(
        Tombstone(
            tenant_id=tenant_id,
            name=new_name("tombstones"),
            record_type=record_type,
            record_key=str(key),
            action=action,
            fields=fields,
            job=job,
            request_id=request_id,
        )
    )


def guard_delete(request: Request, session: Session, caller: Caller, endpoint: str, obj: Any) -> None:
    guarded = GUARDED.get(endpoint)
    if guarded is None:
        return
    record_type, pairs = guarded
    holds.check(session, caller.tenant_id, pairs(session, obj), "record")
    # A restricted person's records are kept (Art. 18): deleting them is the DPO's call only.
    refuse_if_restricted(
        session, caller, obj.name if endpoint == "contacts" else getattr(obj, "contact", None)
    )
    tombstone(
        session,
        caller.tenant_id,
        record_type,
        obj.name,
        "delete",
        request_id=getattr(request.state, "request_id", None),
    )
