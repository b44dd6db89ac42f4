"""Campaign rules. Services flush, never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hovor.campaigns import dialling, schemas
from hovor.campaigns.models import CampaignRecord, RecordType, SuppressedIdentifier
from hovor.core.caller import Caller
from hovor.core.errors import Conflict, ValidationFailed
from hovor.core.identifiers import normalize_email
from hovor.core.permissions import Permission
from hovor.core.records import (
    apply,
    contact_ref,
    key_unchanged,
    new_key,
    phone_field,
    refuse_if_restricted,
    stamp_edit,
    time_field,
    user_ref,
)
from hovor.core.references import clear_references, model_of
from hovor.core.scope import get_visible, may_use
from hovor.forms.service import store_custom_fields, update_custom_fields, validate_custom_fields
from hovor.index.service import unindex

DIAL_QUEUES = ("out", "progressive", "dialer")


def _queue(session: Session, caller: Caller, name: str | None) -> str | None:
    if name is None:
        return None
    queue = get_visible(session, model_of("queues"), caller, name)
    if queue is None or not may_use(caller, "queue", name):
        raise ValidationFailed({"queue": ["No such queue, or your rights do not cover it."]})
    if queue.type not in DIAL_QUEUES:
        raise ValidationFailed({"queue": ["A campaign dials from an out, progressive or dialer queue."]})
    return queue.name


def create_type(session: Session, caller: Caller, body: schemas.RecordTypeCreate) -> RecordType:
    record_type = RecordType(
        tenant_id=caller.tenant_id,
        name=new_key(session, RecordType, caller.tenant_id, body.name, "recordtypes"),
        title=body.title,
        queue=_queue(session, caller, body.queue),
        description=body.description,
        purpose=body.purpose,
        channel=body.channel,
        created_by=caller.user,
    )
    session.add(record_type)
    session.flush()
    return record_type


def update_type(
    session: Session, caller: Caller, record_type: RecordType, body: schemas.RecordTypeUpdate
) -> RecordType:
    key_unchanged(body, record_type.name)
    values = body.model_dump(exclude_unset=True, exclude={"name"})
    if "queue" in values:
        values["queue"] = _queue(session, caller, values["queue"])
        # Records follow their campaign's queue, so rights by queue keep applying to them.
        session.execute(
            update(CampaignRecord)
            .where(
                CampaignRecord.tenant_id == record_type.tenant_id,
                CampaignRecord.record_type == record_type.name,
            )
            .values(queue=values["queue"])
        )
    if values.get("channel", "") is None:
        values["channel"] = "call"
    apply(record_type, values, required=("title",))
    stamp_edit(record_type, caller)
    session.flush()
    if "purpose" in values or "channel" in values:
        # Another consent decides its records now: each is checked again (and leaves dialling
        # if it has no such consent).
        dialling.reevaluate(session, record_type.tenant_id, record_type=record_type.name)
    return record_type


def delete_type(session: Session, caller: Caller, record_type: RecordType) -> None:
    used = session.scalar(
        select(func.count())
        .select_from(CampaignRecord)
        .where(
            CampaignRecord.tenant_id == record_type.tenant_id, CampaignRecord.record_type == record_type.name
        )
    )
    if used:
        raise Conflict("The record type still has records; delete them first.")
    session.delete(record_type)
    session.flush()


def create_record(session: Session, caller: Caller, body: schemas.RecordCreate) -> CampaignRecord:
    record_type = get_visible(session, RecordType, caller, body.record_type)
    if record_type is None:
        raise ValidationFailed({"record_type": ["No such record type."]})
    clean = validate_custom_fields(
        session,
        caller,
        "records",
        record_type.name,
        body.customFields,
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    record = CampaignRecord(
        tenant_id=caller.tenant_id,
        name=new_key(session, CampaignRecord, caller.tenant_id, body.name, "records"),
        record_type=record_type.name,
        queue=record_type.queue,
        contact=contact_ref(session, caller, body.contact),
        user=user_ref(session, caller, body.user),
        number=phone_field(body.number, caller, "number"),
        action=body.action,
        nextcall=time_field(body.nextcall or None, caller, "nextcall"),
        custom_fields=clean.values,
        consents=clean.consents,
        created_by=caller.user,
    )
    session.add(record)
    session.flush()
    store_custom_fields(session, record, "records", clean, creating=True)
    dialling.check(session, record, dialling_asked=body.action in dialling.DIALLABLE)
    session.flush()
    return record


def update_record(
    session: Session, caller: Caller, record: CampaignRecord, body: schemas.RecordUpdate
) -> CampaignRecord:
    key_unchanged(body, record.name)
    refuse_if_restricted(session, caller, record.contact)
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    if "contact" in sent:
        values["contact"] = contact_ref(session, caller, body.contact)
    if "user" in sent:
        values["user"] = user_ref(session, caller, body.user)
    if "number" in sent:
        values["number"] = phone_field(body.number, caller, "number")
    if "action" in sent:
        values["action"] = body.action
    if "nextcall" in sent:
        values["nextcall"] = time_field(body.nextcall or None, caller, "nextcall")
    apply(record, values, required=("action",))
    # Asking for the record to be dialled: making it ready or rescheduling it, or changing whom a
    # ready record calls. A rule that forbids it refuses the whole update (409).
    asked = record.action in dialling.DIALLABLE and bool(sent & {"action", "nextcall", "number", "contact"})
    update_custom_fields(session, caller, record, "records", record.record_type, body)
    dialling.check(session, record, dialling_asked=asked)
    stamp_edit(record, caller)
    session.flush()
    return record


def delete_record(session: Session, caller: Caller, record: CampaignRecord) -> None:
    """Deletes a campaign record; the calls made for it stay and lose the link."""
    clear_references(session, "campaign_records", record.tenant_id, record.name)
    unindex(session, record.tenant_id, "records", record.name)
    session.delete(record)
    session.flush()


def create_suppression(
    session: Session, caller: Caller, body: schemas.BlacklistCreate
) -> SuppressedIdentifier:
    """Puts a number or an address on the suppression list, as a keyed hash only; the records that
    dial it leave dialling. Messages name the rule, never the value."""
    if (body.number is None) == (body.email is None):
        raise ValidationFailed({"number": ["Give a number or an e-mail address (one of them)."]})
    if body.number is not None:
        kind, value = "phone", phone_field(body.number, caller, "number")
    else:
        try:
            kind, value = "email", normalize_email(body.email or "")
        except ValueError:
            raise ValidationFailed({"email": ["Not a valid e-mail address."]}) from None
    assert value is not None
    entry = dialling.suppress(session, caller.tenant_id, kind, value, "manual", caller.user)
    dialling.recheck_identifiers(session, caller.tenant_id, [(kind, value)])
    return entry


def delete_suppression(session: Session, caller: Caller, entry: SuppressedIdentifier) -> None:
    session.delete(entry)
    session.flush()
    dialling.recheck_suppressed(session, caller.tenant_id)
