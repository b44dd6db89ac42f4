"""The campaign resources: record types and records."""

from __future__ import annotations

from typing import Any

from hovor.api.resource import Ctx, Relation, Resource, qf, register, relate, stamp_fields
from hovor.api.serialize import contact_ref, ref, stamps, visible_custom_fields
from hovor.campaigns import schemas, service
from hovor.campaigns.models import CampaignRecord, RecordType, SuppressedIdentifier
from hovor.core.wire import to_wire
from hovor.forms.service import hidden_fields_preparer


def serialize_type(t: RecordType, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": t.name,
        "title": t.title,
        "queue": ref(t.queue_obj),
        "description": t.description,
        "purpose": t.purpose,
        "channel": t.channel,
        **stamps(t, ctx),
    }


def serialize_record(r: CampaignRecord, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": r.name,
        "record_type": ref(r.record_type_obj),
        "queue": r.queue,
        "contact": contact_ref(r.contact_obj, ctx),
        "user": ref(r.user_obj),
        "number": r.number,
        "action": r.action,
        "nextcall": to_wire(r.nextcall, ctx.tz),
        "anonymized": r.anonymized,
        "blocked": r.blocked,
        "customFields": visible_custom_fields(r.custom_fields, ctx),
        **stamps(r, ctx),
    }


register(
    Resource(
        endpoint="campaignsTypes",
        audit="campaigns.type",
        title="Campaign record types",
        model=RecordType,
        permission="campaigns:types",
        fields=[
            qf("name", RecordType.name),
            qf("title", RecordType.title),
            qf("queue", RecordType.queue),
            qf("description", RecordType.description),
            qf("purpose", RecordType.purpose),
            qf("channel", RecordType.channel),
            *stamp_fields(RecordType),
        ],
        serialize=serialize_type,
        create_schema=schemas.RecordTypeCreate,
        update_schema=schemas.RecordTypeUpdate,
        create=service.create_type,
        update=service.update_type,
        delete=service.delete_type,
        q_columns=[RecordType.title],
        relations=[Relation("records", "campaignsRecords", "record_type")],
        eager=[(RecordType.queue_obj,)],
        default_order=[RecordType.title.asc()],
    )
)

register(
    Resource(
        endpoint="campaignsRecords",
        audit="campaigns.record",
        title="Campaign records",
        model=CampaignRecord,
        permission="campaigns:records",
        fields=[
            qf("name", CampaignRecord.name),
            qf("record_type", CampaignRecord.record_type),
            qf("queue", CampaignRecord.queue),
            qf("contact", CampaignRecord.contact),
            qf("user", CampaignRecord.user),
            qf("number", CampaignRecord.number),
            qf("action", CampaignRecord.action, "int"),
            qf("nextcall", CampaignRecord.nextcall, "datetime"),
            qf("anonymized", CampaignRecord.anonymized, "bool"),
            qf("blocked", CampaignRecord.blocked),
            qf("customFields", CampaignRecord.custom_fields, filter=False, sort=False),
            *stamp_fields(CampaignRecord),
        ],
        serialize=serialize_record,
        create_schema=schemas.RecordCreate,
        update_schema=schemas.RecordUpdate,
        create=service.create_record,
        update=service.update_record,
        delete=service.delete_record,
        q_columns=[CampaignRecord.number, CampaignRecord.custom_fields],
        relations=[Relation("activities", "activities", "record")],
        eager=[
            (CampaignRecord.record_type_obj,),
            (CampaignRecord.contact_obj,),
            (CampaignRecord.user_obj,),
        ],
        default_order=[CampaignRecord.created.desc()],
        prepare=hidden_fields_preparer("records"),
    )
)

relate("contacts", Relation("campaignsRecords", "campaignsRecords", "contact"))


def serialize_suppressed(e: SuppressedIdentifier, ctx: Ctx) -> dict[str, Any]:
    # No number and no hash: the entry shows that something is suppressed, and since when.
    return {
        "name": e.name,
        "kind": e.kind,
        "reason": e.reason,
        "created": to_wire(e.created, ctx.tz),
        "created_by": e.created_by,
    }


register(
    Resource(
        endpoint="blacklistNumbers",
        audit="campaigns.blacklist",
        title="Suppression list (keyed hashes of numbers and e-mail addresses)",
        model=SuppressedIdentifier,
        permission="campaigns:blacklists",
        fields=[
            qf("name", SuppressedIdentifier.name),
            qf("kind", SuppressedIdentifier.kind),
            qf("reason", SuppressedIdentifier.reason),
            qf("created", SuppressedIdentifier.created, "datetime"),
            qf("created_by", SuppressedIdentifier.created_by),
        ],
        serialize=serialize_suppressed,
        create_schema=schemas.BlacklistCreate,
        create=service.create_suppression,
        delete=service.delete_suppression,
        default_order=[SuppressedIdentifier.created.desc()],
    )
)
