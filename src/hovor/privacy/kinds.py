"""The kinds of record a retention policy can name, and what expiring one does.

Each :class:`SweptKind` says which rows are expired (age and cheap hold filters in SQL, in key order
after the last key swept), which holds cover one record exactly (re-checked row by row in the
chunk's transaction) and what deleting or anonymizing a chunk does: ``delete`` is what a plain
delete does, ``anonymize`` is what erasure does to the person's own records
(:func:`hovor.privacy.erasure.anonymize_records`), with free text replaced whole because whose
name it holds is not known. :mod:`hovor.privacy.policies` decides which kinds a sweep applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from hovor.activities import channels
from hovor.activities.content import delete_attachment
from hovor.activities.models import Activity, Attachment, TranscriptSegment
from hovor.activities.service import delete_activity
from hovor.campaigns.models import CampaignRecord
from hovor.campaigns.service import delete_record
from hovor.core.db import UTCDateTime
from hovor.crm.models import Contact, CrmRecord
from hovor.crm.service import delete_contact
from hovor.crm.service import delete_record as delete_crm_record
from hovor.helpdesk.models import Ticket
from hovor.helpdesk.service import delete_ticket
from hovor.privacy import deletes, holds, register_kinds
from hovor.privacy.erasure import (
    TYPES,
    Blank,
    anonymize_records,
    hold_pairs,
    identity,
    in_chunks,
    make_plan,
    subject_fields,
)
from hovor.privacy.holds import Held
from hovor.privacy.redact import Redactor
from hovor.privacy.sweeping import ANONYMIZE, DELETE, SweepChunk, SweptKind, at, not_in

__all__ = [
    "ANONYMIZE",
    "AUDIT_LOG",
    "DELETE",
    "KINDS",
    "NAMES",
    "ORDER",
    "SweepChunk",
    "SweptKind",
    "at",
    "not_in",
]

AUDIT_LOG = "auditLog"


# Activities of one channel.
CHANNEL_TYPES = {kind.endpoint: kind.code for kind in channels.KINDS}


def _anonymize(
    ctx: SweepChunk, kind: str, keys: list[Any], redactor: Redactor | None = None
) -> dict[str, int]:
    """Erasure's anonymizing of ``keys`` (records of ``kind``) in the chunk's transaction, by the
    retention; returns the rows deleted per table."""
    counts, _ = anonymize_records(
        ctx.session,
        ctx.files,
        ctx.tenant_id,
        kind,
        keys,
        redactor or Blank(),
        action="retention",
        job=ctx.job,
    )
    return dict(counts["deleted"])


def _activity_where(activity_type: str) -> Callable[[str, dt.datetime, str, Held], list[Any]]:
    def where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
        return [
            Activity.tenant_id == tenant_id,
            Activity.type == activity_type,
            Activity.time < at(Activity.time, cutoff),
            Activity.anonymized.is_(False) if action == ANONYMIZE else None,
            not_in(Activity.name, keep.of("activities")),
            not_in(Activity.queue, keep.of("queues")),
            not_in(Activity.contact, keep.of("contacts")),
            not_in(Activity.ticket, keep.of("tickets"), numeric=True),
        ]

    return where


def _apply_activities(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    if action == ANONYMIZE:
        return {"activities": len(objs), **_anonymize(ctx, "activities", [o.name for o in objs])}
    for obj in objs:
        delete_activity(ctx.session, ctx.caller, obj, ctx.files)
        deletes.tombstone(ctx.session, ctx.tenant_id, "activities", obj.name, "retention", job=ctx.job)
    return {"activities": len(objs)}


def _transcripts_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    has = exists().where(
        TranscriptSegment.tenant_id == Activity.tenant_id, TranscriptSegment.activity == Activity.name
    )
    return [*_activity_where("CALL")(tenant_id, cutoff, DELETE, keep), has]


def _apply_transcripts(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    names = [o.name for o in objs]
    result = ctx.session.execute(
        delete(TranscriptSegment).where(
            TranscriptSegment.tenant_id == ctx.tenant_id, TranscriptSegment.activity.in_(names)
        )
    )
    for name in names:
        deletes.tombstone(
            ctx.session,
            ctx.tenant_id,
            "activities",
            name,
            "retention",
            fields=["call_transcripts"],
            job=ctx.job,
        )
    return {"call_transcripts": int(getattr(result, "rowcount", 0) or 0)}


def _attachments_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        Attachment.tenant_id == tenant_id,
        Attachment.created < at(Attachment.created, cutoff),
        not_in(Attachment.activity, keep.of("activities")),
        not_in(Attachment.ticket, keep.of("tickets"), numeric=True),
    ]


def _apply_attachments(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    for obj in objs:
        delete_attachment(ctx.session, ctx.caller, obj, ctx.files)
        deletes.tombstone(ctx.session, ctx.tenant_id, "attachments", obj.name, "retention", job=ctx.job)
    return {"attachments": len(objs)}


class latest(FunctionElement[Any]):
    """The latest of several times (none NULL): ``greatest`` on PostgreSQL, ``max`` on SQLite."""

    inherit_cache = True
    name = "latest"
    type = UTCDateTime()


@compiles(latest)
def _latest_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(latest, "postgresql")
def _latest_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


def _since(created: Any, *columns: Any) -> Any:
    """A record's age: from the latest of ``columns`` that are set, else its creation."""
    return latest(created, *(func.coalesce(c, created) for c in columns))


# A closed ticket's age: from its last activity or its closing, whichever came later.
TICKET_AGE = _since(Ticket.created, Ticket.last_activity, Ticket.closed)


def _tickets_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        Ticket.tenant_id == tenant_id,
        Ticket.stage.in_(("CLOSE", "ARCHIVE")),
        at(Ticket.created, cutoff) > TICKET_AGE,
        Ticket.anonymized.is_(False) if action == ANONYMIZE else None,
        not_in(Ticket.name, keep.of("tickets"), numeric=True),
        not_in(Ticket.contact, keep.of("contacts")),
    ]


def _apply_tickets(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    if action == ANONYMIZE:
        keys = [str(o.name) for o in objs]
        comments = list(
            ctx.session.scalars(
                select(Activity.name).where(
                    Activity.tenant_id == ctx.tenant_id,
                    Activity.ticket.in_([o.name for o in objs]),
                    Activity.type == "COMMENT",
                )
            )
        )
        out: dict[str, int] = {"tickets": len(objs)}
        for kind, part in (("activities", comments), ("tickets", keys)):
            if part:
                for table, n in _anonymize(ctx, kind, part).items():
                    out[table] = out.get(table, 0) + n
        return out
    for obj in objs:
        delete_ticket(ctx.session, ctx.caller, obj, ctx.files)
        deletes.tombstone(ctx.session, ctx.tenant_id, "tickets", obj.name, "retention", job=ctx.job)
    return {"tickets": len(objs)}


CONTACT_AGE = func.coalesce(Contact.edited, Contact.created)
# A campaign record's age: from its last change or its next scheduled call, whichever is later
# (a record the dialler will call again is alive); calls made for it are checked beside.
RECORD_AGE = _since(CampaignRecord.created, CampaignRecord.edited, CampaignRecord.nextcall)


# A CRM record's age: from its last change. An open one (a deal in progress) does not expire.
CRM_RECORD_AGE = func.coalesce(CrmRecord.edited, CrmRecord.created)


def _crm_record_live(cutoff: dt.datetime) -> Any:
    return or_(CrmRecord.stage != "CLOSE", at(CrmRecord.created, cutoff) <= CRM_RECORD_AGE)


def _record_called_since(cutoff: dt.datetime) -> Any:
    return exists().where(
        Activity.tenant_id == CampaignRecord.tenant_id,
        Activity.record == CampaignRecord.name,
        Activity.time >= at(Activity.time, cutoff),
    )


def _contacts_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    recent = exists().where(
        Activity.tenant_id == Contact.tenant_id,
        Activity.contact == Contact.name,
        Activity.time >= at(Activity.time, cutoff),
    )
    open_ticket = exists().where(
        Ticket.tenant_id == Contact.tenant_id,
        Ticket.contact == Contact.name,
        or_(Ticket.stage.not_in(("CLOSE", "ARCHIVE")), at(Ticket.created, cutoff) <= TICKET_AGE),
    )
    live_record = exists().where(
        CampaignRecord.tenant_id == Contact.tenant_id,
        CampaignRecord.contact == Contact.name,
        at(CampaignRecord.created, cutoff) <= RECORD_AGE,
    )
    live_crm_record = exists().where(
        CrmRecord.tenant_id == Contact.tenant_id, CrmRecord.contact == Contact.name, _crm_record_live(cutoff)
    )
    return [
        Contact.tenant_id == tenant_id,
        at(Contact.created, cutoff) > CONTACT_AGE,
        ~recent,
        ~open_ticket,
        ~live_record,
        ~live_crm_record,
        not_in(Contact.name, keep.of("contacts")),
    ]


def _contact_alive(session: Session, contact: Any, cutoff: dt.datetime) -> bool:
    """Whether anything erasure would change with the contact is not yet expired: a call made for
    one of its campaign records, a ticket's comment, ... (what the SQL filter cannot see)."""
    plan = make_plan(session, contact.tenant_id, contact.name, {})
    tenant_id = contact.tenant_id
    for part in in_chunks(plan.keys["activities"]):
        if session.scalar(
            select(Activity.name)
            .where(
                Activity.tenant_id == tenant_id,
                Activity.name.in_(part),
                Activity.time >= at(Activity.time, cutoff),
            )
            .limit(1)
        ):
            return True
    for part in in_chunks([int(k) for k in plan.keys["tickets"]]):
        if session.scalar(
            select(Ticket.name)
            .where(
                Ticket.tenant_id == tenant_id,
                Ticket.name.in_(part),
                or_(Ticket.stage.not_in(("CLOSE", "ARCHIVE")), at(Ticket.created, cutoff) <= TICKET_AGE),
            )
            .limit(1)
        ):
            return True
    for part in in_chunks(plan.keys["campaignsRecords"]):
        if session.scalar(
            select(CampaignRecord.name)
            .where(
                CampaignRecord.tenant_id == tenant_id,
                CampaignRecord.name.in_(part),
                or_(at(CampaignRecord.created, cutoff) <= RECORD_AGE, _record_called_since(cutoff)),
            )
            .limit(1)
        ):
            return True
    for part in in_chunks(plan.keys["crmRecords"]):
        if session.scalar(
            select(CrmRecord.name)
            .where(CrmRecord.tenant_id == tenant_id, CrmRecord.name.in_(part), _crm_record_live(cutoff))
            .limit(1)
        ):
            return True
    return False


def _contact_pairs(session: Session, contact: Any) -> list[holds.Pair]:
    """The contact's own hold and those of every record linked to it (anonymizing it changes them)."""
    return [
        *holds.of_contact(contact),
        *hold_pairs(session, contact.tenant_id, make_plan(session, contact.tenant_id, contact.name, {})),
    ]


def _apply_contacts(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    """Delete: the contact goes, its records stay and lose the link (a plain delete). Anonymize:
    as erasure does without looking into other people's records: every record linked to the
    contact is anonymized (its name forms, numbers and addresses redacted from titles), then the
    contact goes."""
    out: dict[str, int] = {"crm_contacts": len(objs)}
    for contact in objs:
        if action == ANONYMIZE:
            plan = make_plan(ctx.session, ctx.tenant_id, contact.name, {})
            redactor = identity(ctx.session, ctx.tenant_id, plan).redactor(ctx.caller.country)
            for kind in TYPES:
                keys = [k for k in plan.keys[kind] if kind != "contacts"]
                if keys:
                    out[kind] = out.get(kind, 0) + len(keys)
                    for table, n in _anonymize(ctx, kind, keys, redactor).items():
                        out[table] = out.get(table, 0) + n
        fields = subject_fields(contact)
        delete_contact(ctx.session, ctx.caller, contact)
        deletes.tombstone(
            ctx.session,
            ctx.tenant_id,
            "contacts",
            contact.name,
            "retention",
            fields=sorted(fields),
            job=ctx.job,
        )
    return out


def _records_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        CampaignRecord.tenant_id == tenant_id,
        at(CampaignRecord.created, cutoff) > RECORD_AGE,
        ~_record_called_since(cutoff),
        CampaignRecord.anonymized.is_(False) if action == ANONYMIZE else None,
        not_in(CampaignRecord.record_type, keep.of("campaignsTypes")),
        not_in(CampaignRecord.queue, keep.of("queues")),
        not_in(CampaignRecord.contact, keep.of("contacts")),
    ]


def _apply_records(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    if action == ANONYMIZE:
        _anonymize(ctx, "campaignsRecords", [o.name for o in objs])
        return {"campaign_records": len(objs)}
    for obj in objs:
        delete_record(ctx.session, ctx.caller, obj)
        deletes.tombstone(ctx.session, ctx.tenant_id, "campaignsRecords", obj.name, "retention", job=ctx.job)
    return {"campaign_records": len(objs)}


def _crm_records_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        CrmRecord.tenant_id == tenant_id,
        CrmRecord.stage == "CLOSE",
        at(CrmRecord.created, cutoff) > CRM_RECORD_AGE,
        CrmRecord.anonymized.is_(False) if action == ANONYMIZE else None,
        not_in(CrmRecord.contact, keep.of("contacts")),
        not_in(CrmRecord.ticket, keep.of("tickets"), numeric=True),
    ]


def _apply_crm_records(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    if action == ANONYMIZE:
        _anonymize(ctx, "crmRecords", [o.name for o in objs])
        return {"crm_records": len(objs)}
    for obj in objs:
        delete_crm_record(ctx.session, ctx.caller, obj)
        deletes.tombstone(ctx.session, ctx.tenant_id, "crmRecords", obj.name, "retention", job=ctx.job)
    return {"crm_records": len(objs)}


KINDS: dict[str, SweptKind] = {
    **{
        name: SweptKind(
            name,
            f"{title} (by the activity's time)",
            (ANONYMIZE, DELETE),
            Activity.name,
            Activity.time,
            _activity_where(code),
            lambda s, o: holds.of_activity(o),
            _apply_activities,
            "activities",
        )
        for name, code, title in ((kind.endpoint, kind.code, kind.title) for kind in channels.KINDS)
    },
    "transcripts": SweptKind(
        "transcripts",
        "Call transcripts, with or without a recording (by the call's time)",
        (DELETE,),
        Activity.name,
        Activity.time,
        _transcripts_where,
        lambda s, o: holds.of_activity(o),
        _apply_transcripts,
        "activities",
    ),
    "attachments": SweptKind(
        "attachments",
        "Attachments of e-mails, chats and tickets (by upload)",
        (DELETE,),
        Attachment.name,
        Attachment.created,
        _attachments_where,
        deletes.attachment_pairs,
        _apply_attachments,
        "attachments",
    ),
    "tickets": SweptKind(
        "tickets",
        "Closed tickets (by their last activity)",
        (ANONYMIZE, DELETE),
        Ticket.name,
        TICKET_AGE,
        _tickets_where,
        deletes.ticket_pairs,
        _apply_tickets,
        "tickets",
    ),
    "contacts": SweptKind(
        "contacts",
        "Contacts with no activity and no open ticket (by their last change)",
        (DELETE, ANONYMIZE),
        Contact.name,
        CONTACT_AGE,
        _contacts_where,
        _contact_pairs,
        _apply_contacts,
        "contacts",
        alive=_contact_alive,
    ),
    "campaignsRecords": SweptKind(
        "campaignsRecords",
        "Campaign records (by their last change)",
        (ANONYMIZE, DELETE),
        CampaignRecord.name,
        RECORD_AGE,
        _records_where,
        lambda s, o: holds.of_record(o),
        _apply_records,
        "campaignsRecords",
    ),
    "crmRecords": SweptKind(
        "crmRecords",
        "Closed CRM records: deals and the like (by their last change)",
        (ANONYMIZE, DELETE),
        CrmRecord.name,
        CRM_RECORD_AGE,
        _crm_records_where,
        lambda s, o: holds.of_crm_record(o),
        _apply_crm_records,
        "crmRecords",
    ),
    **register_kinds.KINDS,
}
# Every kind a policy may name: the kinds above, and the audit log (see hovor.audit.prune).
NAMES = (*KINDS, AUDIT_LOG)
# Contacts go after the records that may keep them active.
ORDER = [n for n in KINDS if n != "contacts"] + ["contacts"]
