"""A person's say over her data beyond erasure: consent given and withdrawn (the ledger), objection
to direct marketing (Art. 21) and restriction of processing (Art. 18). Services flush, never commit;
the routes audit (hovor.privacy.consent_api)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hovor.campaigns import dialling
from hovor.campaigns.models import CampaignRecord
from hovor.core.caller import Caller
from hovor.core.db import utcnow
from hovor.core.errors import ValidationFailed
from hovor.core.records import contact_ref, time_field
from hovor.core.references import model_of
from hovor.core.scope import get_visible
from hovor.crm.models import Contact
from hovor.forms import consent
from hovor.forms.models import ConsentEvent
from hovor.privacy import schemas


def _activity(session: Session, caller: Caller, key: str | None) -> str | None:
    if key is None:
        return None
    if get_visible(session, model_of("activities"), caller, key) is None:
        raise ValidationFailed({"activity": ["No such activity, or your rights do not cover it."]})
    return key


def create_event(session: Session, caller: Caller, body: schemas.ConsentEventCreate) -> ConsentEvent:
    """Appends one event. The person is the contact, or the campaign record's contact, or (a
    number without a contact) the campaign record itself."""
    contact = contact_ref(session, caller, body.contact)
    record: str | None = None
    if body.record is not None:
        found = get_visible(session, CampaignRecord, caller, body.record)
        if found is None:
            raise ValidationFailed({"record": ["No such campaign record, or your rights do not cover it."]})
        if contact is not None and found.contact not in (None, contact):
            raise ValidationFailed({"record": ["The campaign record belongs to another contact."]})
        record, contact = found.name, contact or found.contact
    if contact is None and record is None:
        raise ValidationFailed(
            {"contact": ["Name the contact (or the campaign record) the consent is about."]}
        )
    when = time_field(body.time, caller, "time") if body.time else utcnow()
    assert when is not None
    if when > utcnow():
        raise ValidationFailed({"time": ["A consent cannot be given or withdrawn in the future."]})
    return consent.append(
        session,
        caller.tenant_id,
        purpose=body.purpose,
        channel=body.channel,
        state=body.state,
        source=body.source,
        actor=caller.user,
        contact=contact,
        object_type="records" if record is not None else None,
        object_name=record,
        activity=_activity(session, caller, body.activity),
        evidence=body.evidence,
        time=when,
    )


def withdraw_all(
    session: Session, caller: Caller, contact: Contact, body: schemas.WithdrawAll
) -> ConsentEvent:
    """One call withdraws everything: without a purpose, every purpose (``*``), now and to come,
    until the person gives one again."""
    return consent.append(
        session,
        caller.tenant_id,
        purpose=body.purpose or consent.ANY_PURPOSE,
        channel=body.channel,
        state=consent.WITHDRAWN,
        source=body.source,
        actor=caller.user,
        contact=contact.name,
        activity=_activity(session, caller, body.activity),
        evidence=body.evidence,
    )


def state_of(session: Session, caller: Caller, contact: Contact) -> list[dict[str, Any]]:
    """The current state per purpose and channel, each with the event that decided it."""
    events = consent.events_of(session, caller.tenant_id, [contact.name])
    return [
        {
            "purpose": purpose,
            "channel": channel,
            "state": event.state,
            "time": event.time,
            "source": event.source,
            "event": event.name,
        }
        for purpose, channel, event in consent.current_state(events)
    ]


def set_restricted(session: Session, caller: Caller, contact: Contact, restricted: bool) -> int:
    """Restricts processing of the contact's data (or lifts it); her campaign records are checked
    again. Returns how many of them are blocked now."""
    contact.restricted = restricted
    session.flush()
    return dialling.recheck_person(session, caller.tenant_id, contact.name)


def object_to_marketing(session: Session, caller: Caller, contact: Contact) -> dict[str, int]:
    """Art. 21(2)-(3): the person's numbers and addresses go on the suppression list (as keyed
    hashes) and every consent is withdrawn (purpose ``*``, source ``objection``)."""
    identifiers = dialling.identifiers_of(session, caller.tenant_id, contact.name)
    for kind, value in identifiers:
        dialling.suppress(session, caller.tenant_id, kind, value, "objection", caller.user)
    consent.append(
        session,
        caller.tenant_id,
        purpose=consent.ANY_PURPOSE,
        channel=consent.ALL_CHANNELS,
        state=consent.WITHDRAWN,
        source=consent.OBJECTION,
        actor=caller.user,
        contact=contact.name,
    )
    blocked = dialling.recheck_identifiers(session, caller.tenant_id, identifiers)
    return {"suppressed": len(identifiers), "blocked": blocked}
