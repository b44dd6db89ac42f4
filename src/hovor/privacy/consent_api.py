"""Consent, objection and restriction on the wire: the ledger ``consentEvents`` (list, read,
append — no update, no delete), a contact's current consents, withdrawing every consent in one
call, objecting to direct marketing and restricting processing. Every change is audited with keys
and counts only, never the person's identifiers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy.orm import Session

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.api.resource import Ctx, Relation, Resource, qf, register, relate
from hovor.api.visible import load_visible
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.permissions import Permission
from hovor.core.validation import parse_as
from hovor.core.wire import to_wire
from hovor.crm.models import Contact
from hovor.forms.models import ConsentEvent
from hovor.privacy import consent, schemas

TAG = "Consent, objection and restriction"
router = APIRouter()


def serialize_event(e: ConsentEvent, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": e.name,
        "contact": e.contact,
        "object_type": e.object_type,
        "object_name": e.object_name,
        "purpose": e.purpose,
        "channel": e.channel,
        "state": e.state,
        "source": e.source,
        "activity": e.activity,
        "evidence": e.evidence,
        "time": to_wire(e.time, ctx.tz),
        "actor": e.actor,
        "created": to_wire(e.created, ctx.tz),
        "anonymized": e.anonymized,
    }


RESOURCE = register(
    Resource(
        endpoint="consentEvents",
        audit="crm.consent",
        title="Consent ledger",
        model=ConsentEvent,
        permission="crm:consents",
        fields=[
            qf("name", ConsentEvent.name),
            qf("contact", ConsentEvent.contact),
            qf("object_type", ConsentEvent.object_type),
            qf("object_name", ConsentEvent.object_name),
            qf("purpose", ConsentEvent.purpose),
            qf("channel", ConsentEvent.channel),
            qf("state", ConsentEvent.state),
            qf("source", ConsentEvent.source),
            qf("activity", ConsentEvent.activity),
            qf("evidence", ConsentEvent.evidence, filter=False, sort=False),
            qf("time", ConsentEvent.time, "datetime"),
            qf("actor", ConsentEvent.actor),
            qf("created", ConsentEvent.created, "datetime"),
            qf("anonymized", ConsentEvent.anonymized, "bool"),
        ],
        serialize=serialize_event,
        create_schema=schemas.ConsentEventCreate,
        create=consent.create_event,
        default_order=[ConsentEvent.time.desc(), ConsentEvent.created.desc()],
    )
)
# A contact's history: contacts/{name}/consentEvents.json.
relate("contacts", Relation("consentEvents", "consentEvents", "contact"))


def _contact(session: Session, caller: Caller, name: str) -> Contact:
    from hovor.api.resource import REGISTRY

    found: Contact = load_visible(session, REGISTRY["contacts"], caller, name)
    return found


def _audited(
    request: Request, session: Session, caller: Caller, action: str, key: str, details: dict[str, Any]
) -> None:
    audit.record(session, caller.tenant_id, action, audit.actor_of(request), "contacts", key, details)


@router.get(
    "/api/v6/contacts/{name}/consents.json",
    tags=[TAG],
    summary="The contact's current consent per purpose and channel (the latest event of each)",
)
@permitted(Permission.CRM_CONSENTS_READ)
def consents(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    contact = _contact(session, caller, name)
    rows = consent.state_of(session, caller, contact)
    for row in rows:
        row["time"] = to_wire(row["time"], caller.timezone)
    return ok(request, {"contact": contact.name, "restricted": contact.restricted, "consents": rows})


@router.post(
    "/api/v6/contacts/{name}/withdrawConsent.json",
    tags=[TAG],
    summary="Withdraw every consent of the contact at once (or one purpose's), in one call",
)
@permitted(Permission.CRM_CONSENTS_CREATE)
def withdraw(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    contact = _contact(session, caller, name)
    parsed = parse_as(schemas.WithdrawAll, body)
    event = consent.withdraw_all(session, caller, contact, parsed)
    _audited(request, session, caller, "crm.consent.create", contact.name, {"event": event.name})
    result = serialize_event(event, Ctx(caller))
    session.commit()
    return ok(request, result, status=201)


@router.post(
    "/api/v6/contacts/{name}/object.json",
    tags=[TAG],
    summary="Record an objection to direct marketing (Art. 21): suppression list and withdrawal",
)
@permitted(Permission.DPO_SUBJECTS_RESTRICT)
def object_(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    contact = _contact(session, caller, name)
    counts = consent.object_to_marketing(session, caller, contact)
    _audited(request, session, caller, "privacy.subject.object", contact.name, counts)
    session.commit()
    return ok(request, {"contact": contact.name, **counts})


def _restrict(request: Request, session: Session, caller: Caller, name: str, restricted: bool) -> Any:
    contact = _contact(session, caller, name)
    blocked = consent.set_restricted(session, caller, contact, restricted)
    action = "privacy.subject.restrict" if restricted else "privacy.subject.unrestrict"
    _audited(request, session, caller, action, contact.name, {"blocked_records": blocked})
    session.commit()
    return ok(request, {"contact": contact.name, "restricted": restricted, "blocked_records": blocked})


@router.post(
    "/api/v6/contacts/{name}/restrict.json",
    tags=[TAG],
    summary="Restrict processing of the contact's data (Art. 18): kept, changed only by the DPO, not dialled",
)
@permitted(Permission.DPO_SUBJECTS_RESTRICT)
def restrict(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    return _restrict(request, session, caller, name, True)


@router.post(
    "/api/v6/contacts/{name}/unrestrict.json",
    tags=[TAG],
    summary="Lift the restriction of processing of the contact's data",
)
@permitted(Permission.DPO_SUBJECTS_RESTRICT)
def unrestrict(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    return _restrict(request, session, caller, name, False)
