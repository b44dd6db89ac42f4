"""The register of subject requests on the wire: ``subjectRequests`` (list, read, register,
change) and its steps — verify, extend, approve, erase, answer, refuse — each audited without
the person's identifiers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy.orm import Session

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.api.resource import Ctx, Resource, qf, register
from hovor.api.visible import load_visible, reload
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.permissions import Permission
from hovor.core.validation import parse_as
from hovor.core.wire import to_wire
from hovor.privacy import requests, schemas, service
from hovor.privacy.models import SubjectRequest

TAG = "Subject requests"
router = APIRouter()


def serialize_request(r: SubjectRequest, ctx: Ctx) -> dict[str, Any]:
    tz = ctx.tz
    return {
        "name": r.name,
        "kind": r.kind,
        "received": to_wire(r.received, tz),
        "received_via": r.received_via,
        "identifiers": dict(r.identifiers or {}),
        "contact": r.contact,
        "answer_via": r.answer_via,
        "answer_to": r.answer_to,
        "state": r.state,
        "verification": r.verification,
        "verified_by": r.verified_by,
        "verified_at": to_wire(r.verified_at, tz),
        "due": to_wire(r.due, tz),
        "first_due": to_wire(r.first_due, tz),
        "extension_reason": r.extension_reason,
        "extension_told": to_wire(r.extension_told, tz),
        "approved_by": r.approved_by,
        "approved_at": to_wire(r.approved_at, tz),
        "job": r.job,
        "export": r.export,
        "records": dict(r.records or {}),
        "anonymized": r.anonymized,
        "outcome": r.outcome,
        "closed": to_wire(r.closed, tz),
        "overdue": r.overdue,
        "created": to_wire(r.created, tz),
        "edited": to_wire(r.edited, tz),
        "created_by": r.created_by,
        "edited_by": r.edited_by,
    }


RESOURCE = register(
    Resource(
        endpoint="subjectRequests",
        audit="privacy.request",
        title=TAG,
        model=SubjectRequest,
        permission="dpo:requests",
        fields=[
            qf("name", SubjectRequest.name),
            qf("kind", SubjectRequest.kind),
            qf("received", SubjectRequest.received, "datetime"),
            qf("received_via", SubjectRequest.received_via),
            qf("contact", SubjectRequest.contact),
            qf("state", SubjectRequest.state),
            qf("due", SubjectRequest.due, "datetime"),
            qf("first_due", SubjectRequest.first_due, "datetime"),
            qf("overdue", SubjectRequest.overdue, "bool"),
            qf("verified_at", SubjectRequest.verified_at, "datetime"),
            qf("approved_at", SubjectRequest.approved_at, "datetime"),
            qf("closed", SubjectRequest.closed, "datetime"),
            qf("job", SubjectRequest.job),
            qf("export", SubjectRequest.export),
            qf("anonymized", SubjectRequest.anonymized, "bool"),
            qf("identifiers", SubjectRequest.identifiers, filter=False, sort=False),
            qf("created", SubjectRequest.created, "datetime"),
            qf("edited", SubjectRequest.edited, "datetime"),
        ],
        serialize=serialize_request,
        create_schema=schemas.RequestCreate,
        update_schema=schemas.RequestUpdate,
        create=requests.register,
        update=requests.change,
        default_order=[SubjectRequest.due.asc()],
    )
)


def _done(
    request: Request,
    session: Session,
    caller: Caller,
    found: SubjectRequest,
    action: str,
    details: dict[str, Any],
) -> Any:
    audit.record(
        session, caller.tenant_id, action, audit.actor_of(request), "subjectRequests", found.name, details
    )
    result = reload(session, RESOURCE, caller, found)
    session.commit()
    return ok(request, result)


@router.post(
    "/api/v6/subjectRequests/{name}/verify.json",
    tags=[TAG],
    summary="Record how the person's identity was verified",
)
@permitted(Permission.DPO_REQUESTS_UPDATE)
def verify(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    found = load_visible(session, RESOURCE, caller, name)
    parsed = parse_as(schemas.RequestVerify, body)
    requests.verify(session, caller, found, parsed)
    return _done(request, session, caller, found, "privacy.request.verify", {"method": parsed.method})


@router.post(
    "/api/v6/subjectRequests/{name}/extend.json",
    tags=[TAG],
    summary="Extend the deadline once, by one or two months, with the reason told to the person",
)
@permitted(Permission.DPO_REQUESTS_UPDATE)
def extend(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    found = load_visible(session, RESOURCE, caller, name)
    parsed = parse_as(schemas.RequestExtend, body)
    requests.extend(session, caller, found, parsed)
    due = to_wire(found.due, caller.timezone)
    return _done(
        request, session, caller, found, "privacy.request.extend", {"months": parsed.months, "due": due}
    )


@router.post(
    "/api/v6/subjectRequests/{name}/approve.json",
    tags=[TAG],
    summary="Approve an erasure request: a second person holding the right, not who registered it",
)
@permitted(Permission.DPO_SUBJECTS_ERASE)
def approve(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    found = load_visible(session, RESOURCE, caller, name)
    requests.approve(session, caller, found)
    return _done(request, session, caller, found, "privacy.request.approve", {})


@router.post(
    "/api/v6/subjectRequests/{name}/erase.json",
    tags=[TAG],
    summary="Carry out a verified (and, by the tenant's setting, approved) erasure request: a job",
)
@permitted(Permission.DPO_SUBJECTS_ERASE)
def erase(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None, description='{"suppress": true|false}'),
) -> Any:
    found = load_visible(session, RESOURCE, caller, name)
    parsed = parse_as(schemas.RequestErase, body)
    contact = requests.ready_to_erase(session, found)
    actor = audit.actor_of(request)
    job = service.request_erasure(session, caller, contact, None, actor, suppress=parsed.suppress)
    requests.started(found, caller, job.name)
    return _done(request, session, caller, found, "privacy.request.erase", {"job": job.name})


def _close(request: Request, session: Session, caller: Caller, name: str, body: Any, state: str) -> Any:
    found = load_visible(session, RESOURCE, caller, name)
    parsed = parse_as(schemas.RequestClose, body)
    requests.close(session, caller, found, state, parsed.outcome, request.app.state.pseudonyms)
    action = "privacy.request.answer" if state == "answered" else "privacy.request.refuse"
    return _done(request, session, caller, found, action, {"overdue": found.overdue})


@router.post("/api/v6/subjectRequests/{name}/answer.json", tags=[TAG], summary="Record the answer sent")
@permitted(Permission.DPO_REQUESTS_UPDATE)
def answer(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    return _close(request, session, caller, name, body, "answered")


@router.post(
    "/api/v6/subjectRequests/{name}/refuse.json", tags=[TAG], summary="Refuse the request, with the reason"
)
@permitted(Permission.DPO_REQUESTS_UPDATE)
def refuse(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    return _close(request, session, caller, name, body, "refused")
