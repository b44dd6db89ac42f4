"""The register of subject requests (GDPR Art. 12 and 15-21): what a person asked, when, how their
identity was checked, the deadline and its one extension, who approved an erasure, and the job
that carried it out. Services flush, never commit; the routes commit before they answer.

Deadlines count by calendar month as Art. 12(3) does (and Regulation 1182/71 for periods in
months): a request received on 31 January is due on the last day of February. One extension, by
one or two further months from the first deadline, with its reason, told to the person within the
first month. An erasure is carried out only for a verified request, and — the tenant's setting,
on by default — only once a second person holding the right has approved it (four eyes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dateutil.relativedelta import relativedelta
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.db import new_name, utcnow
from hovor.core.errors import Conflict, Forbidden, ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.records import contact_ref, time_field
from hovor.core.references import model_of
from hovor.core.scope import find_visible
from hovor.core.wire import zone
from hovor.privacy import schemas
from hovor.privacy.models import SubjectRequest

OPEN = ("received", "verified", "in_progress")
CLOSED = ("answered", "refused")


def month_after(moment: dt.datetime, tz: str, months: int = 1) -> dt.datetime:
    """The same time ``months`` calendar months later on the tenant's calendar (a request received
    at 00:30 on 31 January in Prague is due on the last day of February in Prague); the month's
    last day where that date is missing (31 January + 1 month = 28 or 29 February)."""
    local = moment.astimezone(zone(tz))
    return (local + relativedelta(months=months)).astimezone(dt.UTC)


def _identifiers(caller: Caller, body: schemas.RequestCreate) -> dict[str, str]:
    found: dict[str, str] = {}
    form: dict[str, list[str]] = {}
    if body.phone:
        try:
            found["phone"] = normalize_phone(body.phone, caller.country)
        except ValueError:
            form["phone"] = ["Not a valid phone number."]
    if body.email:
        try:
            found["email"] = normalize_email(body.email)
        except ValueError:
            form["email"] = ["Not a valid e-mail address."]
    if body.name:
        found["name"] = " ".join(body.name.split())
    if form:
        raise ValidationFailed(form)
    return found


def register(session: Session, caller: Caller, body: schemas.RequestCreate) -> SubjectRequest:
    identifiers = _identifiers(caller, body)
    contact = contact_ref(session, caller, body.contact)
    if not identifiers and contact is None:
        raise ValidationFailed({"contact": ["Say who asks: a contact, a phone, an e-mail or a name."]})
    received = time_field(body.received, caller, "received") or utcnow()
    if received > utcnow() + dt.timedelta(minutes=5):
        raise ValidationFailed({"received": ["A request cannot be received in the future."]})
    due = month_after(received, caller.timezone)
    request = SubjectRequest(
        tenant_id=caller.tenant_id,
        name=new_name("requests"),
        kind=body.kind,
        received=received,
        received_via=body.received_via,
        identifiers=identifiers,
        contact=contact,
        answer_via=body.answer_via,
        answer_to=body.answer_to,
        state="received",
        due=due,
        first_due=due,
        created_by=caller.user,
        edited=utcnow(),
        edited_by=caller.user,
    )
    session.add(request)
    session.flush()
    return request


def _open(request: SubjectRequest) -> None:
    if request.state in CLOSED:
        raise Conflict(f"The request is {request.state} already; register a new one.")


def _stamp(request: SubjectRequest, caller: Caller) -> None:
    request.edited, request.edited_by = utcnow(), caller.user


LINKABLE = ("contacts", "accounts", "tickets", "campaignsRecords", "crmRecords", "activities")
MAX_LINKS = 1000


def _linked(session: Session, caller: Caller, records: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """The records a request links to (what was rectified, restricted, …), each one the caller
    may see, by its key as stored."""
    form: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    if sum(len(keys) for keys in records.values()) > MAX_LINKS:
        raise ValidationFailed({"records": [f"At most {MAX_LINKS} records."]})
    for kind, keys in records.items():
        if kind not in LINKABLE:
            form[f"records.{kind}"] = [f"Link one of: {', '.join(LINKABLE)}."]
            continue
        for key in keys:
            found = find_visible(session, model_of(_MODEL[kind]), caller, key)
            if found is None:
                form[f"records.{kind}"] = ["No such record, or your rights do not cover it."]
                break
            out.setdefault(kind, []).append(str(found.name))
    if form:
        raise ValidationFailed(form)
    return {k: sorted(set(v)) for k, v in out.items()} or None


# The linkable kinds' tables (as hovor.core.references names them).
_MODEL = {
    "contacts": "crm_contacts",
    "accounts": "crm_accounts",
    "tickets": "tickets",
    "campaignsRecords": "campaign_records",
    "crmRecords": "crm_records",
    "activities": "activities",
}


def change(
    session: Session, caller: Caller, request: SubjectRequest, body: schemas.RequestUpdate
) -> SubjectRequest:
    _open(request)
    sent = body.model_fields_set
    if "contact" in sent:
        request.contact = contact_ref(session, caller, body.contact)
    for key in ("answer_via", "answer_to"):
        if key in sent:
            setattr(request, key, getattr(body, key))
    if "records" in sent:
        request.records = _linked(session, caller, body.records or {})
    _stamp(request, caller)
    session.flush()
    return request


def verify(session: Session, caller: Caller, request: SubjectRequest, body: schemas.RequestVerify) -> None:
    _open(request)
    if request.verified_at is not None:
        raise Conflict("The person's identity was verified already.")
    request.verification, request.verified_by, request.verified_at = body.method, caller.user, utcnow()
    if request.state == "received":
        request.state = "verified"
    _stamp(request, caller)


def extend(session: Session, caller: Caller, request: SubjectRequest, body: schemas.RequestExtend) -> None:
    """Once, by one or two months from the first deadline; the person must have been told within
    the first month, with the reasons (Art. 12(3))."""
    _open(request)
    if request.extension_told is not None:
        raise Conflict("The deadline was extended once already; it cannot be extended again.")
    told = time_field(body.told, caller, "told")
    assert told is not None
    if told > utcnow() + dt.timedelta(minutes=5):
        raise ValidationFailed({"told": ["The person must have been told already."]})
    if not request.received <= told <= request.first_due:
        raise ValidationFailed({"told": ["The person must be told within the first month."]})
    request.due = month_after(request.first_due, caller.timezone, body.months)
    request.extension_reason, request.extension_told = body.reason, told
    request.overdue = request.due < utcnow()
    _stamp(request, caller)


def approve(session: Session, caller: Caller, request: SubjectRequest) -> None:
    """The second pair of eyes on an erasure: someone other than who registered the request."""
    _open(request)
    if request.kind != "erasure":
        raise ValidationFailed({"kind": ["Only an erasure needs an approval."]})
    if request.approved_at is not None:
        raise Conflict("The erasure was approved already.")
    if caller.user == request.created_by:
        raise Forbidden("A second person approves an erasure: not the one who registered the request.")
    request.approved_by, request.approved_at = caller.user, utcnow()
    _stamp(request, caller)


def four_eyes(session: Session, tenant_id: str) -> bool:
    tenant = session.get(model_of("tenants"), tenant_id)
    return tenant is None or bool(tenant.four_eyes_erasure)


def ready_to_erase(session: Session, request: SubjectRequest) -> str:
    """The contact the erasure of ``request`` erases, once everything it needs is there."""
    _open(request)
    if request.kind != "erasure":
        raise ValidationFailed({"kind": ["Only an erasure request is carried out by an erasure."]})
    if request.verified_at is None:
        raise Conflict("Verify the person's identity before anything is done.")
    if four_eyes(session, request.tenant_id) and request.approved_at is None:
        raise Conflict("A second person holding the right must approve the erasure first.")
    if request.job is not None:
        raise Conflict(f"The erasure was started already: job {request.job}.")
    if request.contact is None:
        raise ValidationFailed({"contact": ["Name the contact to erase (the subject search finds it)."]})
    return request.contact


def started(request: SubjectRequest, caller: Caller, job: str) -> None:
    request.job, request.state = job, "in_progress"
    _stamp(request, caller)


def close(
    session: Session,
    caller: Caller,
    request: SubjectRequest,
    state: str,
    outcome: str,
    pseudonymize: Callable[[str, str], str],
) -> None:
    """Answers or refuses the request. An answered erasure keeps the proof of what was done but
    not who asked: their identifiers become keyed pseudonyms (the audit log's), which still match
    if the same person asks again, and the answer address goes."""
    _open(request)
    if state == "answered" and request.verified_at is None:
        raise Conflict("Verify the person's identity before answering.")
    request.state, request.outcome, request.closed = state, outcome, utcnow()
    request.overdue = request.closed > request.due
    if request.kind == "erasure" and state == "answered":
        request.identifiers = {
            k: pseudonymize(request.tenant_id, v) for k, v in (request.identifiers or {}).items()
        }
        request.answer_to = None
    _stamp(request, caller)


def flag_overdue(session: Session, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Marks every open request past its deadline as overdue (the scheduler's daily round); each
    newly flagged one gets an audit entry. Returns (tenant, request) of those."""
    now = now or utcnow()
    found = session.execute(
        select(SubjectRequest.tenant_id, SubjectRequest.name).where(
            SubjectRequest.state.in_(OPEN), SubjectRequest.due < now, SubjectRequest.overdue.is_(False)
        )
    ).all()
    for tenant_id, name in found:
        session.execute(
            update(SubjectRequest)
            .where(SubjectRequest.tenant_id == tenant_id, SubjectRequest.name == name)
            .values(overdue=True)
        )
        audit.record(
            session,
            tenant_id,
            "privacy.request.overdue",
            audit.Actor.system("scheduler"),
            "subjectRequests",
            name,
            {},
        )
    return [(t, n) for t, n in found]
