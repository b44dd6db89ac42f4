"""The data protection officer's routes: subjects, erasure (preview, request, certificate), the DPO
right to delete one recording or conversation, retention policies and legal holds.

Each route parses, authorizes, calls :mod:`hovor.privacy.service` and shapes the answer. What a
plain delete of a record with personal data does besides deleting (legal holds, tombstones, the
erasure behind ``DELETE contacts/{name}.json?anonymize=1``) is :func:`delete_hooks`, which the app
factory hands to the generic routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy.orm import Session

from hovor.api.deps import CurrentCaller, DbSession, check, permitted, wake_jobs
from hovor.api.envelope import no_content, ok
from hovor.api.jobs import job_link, serialize_job
from hovor.api.resource import Ctx, DeleteHooks, Resource, qf, register
from hovor.api.router import after_shredding
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.permissions import Permission
from hovor.core.validation import parse_as
from hovor.core.wire import to_wire
from hovor.jobs.models import DONE, Job
from hovor.privacy import policies, retention, service
from hovor.privacy.deletes import GUARDED, guard_delete
from hovor.privacy.models import LegalHold, RetentionPolicy
from hovor.privacy.schemas import (
    ErasureRequest,
    HoldCreate,
    HoldUpdate,
    PolicyCreate,
    PolicyUpdate,
    SubjectQuery,
)

router = APIRouter()
TAG = "Data protection"
ERASE = Permission.DPO_SUBJECTS_ERASE


# --- subjects ------------------------------------------------------------------------------------
@router.post(
    "/api/v6/subjects.json",
    tags=[TAG],
    summary="Every record that concerns one person: by contact, phone, e-mail, social id, IP address or "
    "name (in the JSON body, never in the URL: they are personal data)",
)
@permitted(Permission.DPO_SUBJECTS_SEARCH)
def subjects(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    query = parse_as(SubjectQuery, body)
    pseudonyms = request.app.state.pseudonyms
    result, total = service.search_subjects(session, caller, query, pseudonyms, audit.actor_of(request))
    session.commit()
    return ok(request, {"data": result, "total": total})


# --- erasure -------------------------------------------------------------------------------------
@router.get(
    "/api/v6/contacts/{name}/erasure.json",
    tags=[TAG],
    summary="Preview a GDPR erasure of the contact (what changes, per record and field); after an "
    "erasure, its signed certificate",
)
@permitted(Permission.DPO_SUBJECTS_ERASE)
def erasure_preview(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    include: str | None = None,
) -> Any:
    done = service.finished_erasure(session, caller, name)
    if done is not None:
        return ok(request, serialize_job(done, Ctx(caller)))
    writer = request.app.state.session_factory
    actor = audit.actor_of(request)
    result = service.preview_erasure(session, writer, caller, name, include_all=include == "all", actor=actor)
    return ok(request, result)


@router.post(
    "/api/v6/contacts/{name}/erasure.json",
    tags=[TAG],
    status_code=202,
    summary="Erase the contact under GDPR: delete it, anonymize its records, redact mentions (a job)",
)
@permitted(Permission.DPO_SUBJECTS_ERASE)
def erasure_request(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(
        None, description='{"include": {kind: [keys]} | "all", "suppress": true|false}'
    ),
) -> Any:
    # Validated after the permission check: a caller without the right learns nothing from a 400.
    parsed = parse_as(ErasureRequest, body)
    actor = audit.actor_of(request)
    job = service.request_erasure(session, caller, name, parsed.include, actor, suppress=parsed.suppress)
    result = serialize_job(job, Ctx(caller))
    session.commit()
    wake_jobs(request)
    response = ok(request, result, status=202)
    response.headers["Location"] = job_link(job.name)
    return response


def anonymizing_delete(request: Request, session: Session, caller: Caller, name: str) -> Any:
    """``DELETE contacts/{name}.json?anonymize=1``: the erasure, for clients of the v6 reference.

    Waits (``erasure_wait_seconds``) for the job and answers 204 like a delete; a job still running
    by then is answered 202 with the job to follow. Without the flag: None, a plain delete."""
    if request.query_params.get("anonymize", "").lower() not in ("1", "true", "yes"):
        return None
    check(caller, ERASE)
    job_name = service.request_erasure(session, caller, name, None, audit.actor_of(request)).name
    session.commit()
    wake_jobs(request)
    state = request.app.state
    waited = service.wait_for(
        state.read_session_factory, caller.tenant_id, job_name, state.settings.erasure_wait_seconds
    )
    if waited == DONE:
        return no_content()
    with state.read_session_factory() as reader:
        current = reader.get(Job, (caller.tenant_id, job_name))
        assert current is not None
        response = ok(request, serialize_job(current, Ctx(caller)), status=202)
    response.headers["Location"] = job_link(job_name)
    return response


def delete_hooks() -> DeleteHooks:
    """Deletes of records with personal data: refused under a legal hold and recorded by a
    tombstone; a contact's delete with ``?anonymize=1`` is the GDPR erasure."""
    return DeleteHooks(
        variants={"contacts": anonymizing_delete},
        guards=dict.fromkeys(GUARDED, guard_delete),
    )


# --- the DPO right: one recording, one conversation ---------------------------------------------
@router.delete(
    "/api/v6/activitiesCall/{name}/recording.json",
    tags=[TAG],
    status_code=204,
    response_model=None,
    summary="Delete the call's recording (and its transcript); the call keeps its statistics",
)
@permitted(Permission.DPO_RECORDINGS_DELETE)
def delete_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    service.delete_recording(session, request.app.state.files, caller, name, audit.actor_of(request))
    session.commit()
    return after_shredding(request, no_content())


@router.delete(
    "/api/v6/activitiesCall/{name}/transcript.json",
    tags=[TAG],
    status_code=204,
    response_model=None,
    summary="Delete the call's transcript only",
)
@permitted(Permission.DPO_RECORDINGS_DELETE)
def delete_transcript(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    service.delete_transcript(session, caller, name, audit.actor_of(request))
    session.commit()
    return no_content()


def _delete_conversation(endpoint: str) -> Any:
    @permitted(Permission.DPO_COMMUNICATIONS_DELETE)
    def delete_content(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
        files = request.app.state.files
        service.delete_conversation(session, files, caller, endpoint, name, audit.actor_of(request))
        session.commit()
        return after_shredding(request, no_content())

    return delete_content


for _endpoint in service.CONVERSATIONS:
    router.add_api_route(
        f"/api/v6/{_endpoint}/{{name}}/content.json",
        _delete_conversation(_endpoint),
        methods=["DELETE"],
        tags=[TAG],
        status_code=204,
        response_model=None,
        summary="Delete the conversation's content (text, messages, headers, attachments); the activity "
        "keeps its statistics and is marked anonymized",
    )


# --- retention -----------------------------------------------------------------------------------
@router.get(
    "/api/v6/retentionPolicies/preview.json",
    tags=[TAG],
    summary="What the next retention sweep would remove, per policy (recordings per queue): how many "
    "records, the oldest and newest",
)
@permitted(Permission.TENANT_SETTINGS_READ)
def retention_preview(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    result = retention.preview_all(session, caller.tenant_id, request.app.state.settings)
    tz = caller.timezone

    def wire(row: dict[str, Any]) -> None:
        for key in ("cutoff", "oldest", "newest"):
            if key in row:
                row[key] = to_wire(row[key], tz) if row[key] is not None else None

    for row in result:
        wire(row)
        for queue in row.get("queues", []):
            wire(queue)
    return ok(request, {"data": result, "total": len(result)})


@router.post(
    "/api/v6/retentionPolicies/sweep.json",
    tags=[TAG],
    status_code=202,
    summary="Sweep now: a retention job (the one waiting or running, if any); its progress in jobs.json",
)
@permitted(Permission.DPO_RETENTION_UPDATE)
def retention_sweep(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    job, new = start_sweep(request, session, caller)
    return ok(request, {"job": job.name, "state": job.state, "new": new, "link": job_link(job.name)}, 202)


def start_sweep(request: Request, session: Session, caller: Caller) -> tuple[Job, bool]:
    """The sweep's job asked for, audited and committed, the worker woken (the console's button too)."""
    job, new = retention.request_sweep(session, caller.tenant_id, caller.user)
    if new:
        actor = audit.actor_of(request)
        audit.record(session, caller.tenant_id, "privacy.retention.sweep", actor, "jobs", job.name)
    session.commit()
    wake_jobs(request)
    return job, new


def serialize_policy(policy: RetentionPolicy, ctx: Ctx) -> dict[str, Any]:
    kind = policies.KINDS.get(policy.name)
    return {
        "name": policy.name,
        "title": kind.title if kind else "Audit log entries (by their time)",
        "days": policy.days,
        "action": policy.action,
        "created": to_wire(policy.created, ctx.tz),
        "created_by": policy.created_by,
        "edited": to_wire(policy.edited, ctx.tz),
        "edited_by": policy.edited_by,
    }


register(
    Resource(
        endpoint="retentionPolicies",
        audit="privacy.retention_policy",
        title="Retention policies",
        model=RetentionPolicy,
        permission="dpo:retention",
        fields=[
            qf("name", RetentionPolicy.name),
            qf("days", RetentionPolicy.days, "int"),
            qf("action", RetentionPolicy.action),
            qf("created", RetentionPolicy.created, "datetime"),
            qf("edited", RetentionPolicy.edited, "datetime"),
        ],
        serialize=serialize_policy,
        create_schema=PolicyCreate,
        update_schema=PolicyUpdate,
        create=service.create_policy,
        update=service.update_policy,
        delete=service.delete_policy,
        default_order=[RetentionPolicy.name],
    )
)


# --- legal holds ---------------------------------------------------------------------------------
def serialize_hold(hold: LegalHold, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": hold.name,
        "object_type": hold.object_type,
        "object_key": hold.object_key,
        "reason": hold.reason,
        "until": to_wire(hold.until, ctx.tz),
        "created": to_wire(hold.created, ctx.tz),
        "created_by": hold.created_by,
    }


register(
    Resource(
        endpoint="legalHolds",
        audit="privacy.hold",
        title="Legal holds",
        model=LegalHold,
        permission="dpo:holds",
        fields=[
            qf("name", LegalHold.name),
            qf("object_type", LegalHold.object_type),
            qf("object_key", LegalHold.object_key),
            qf("reason", LegalHold.reason, filter=False, sort=False),
            qf("until", LegalHold.until, "datetime"),
            qf("created", LegalHold.created, "datetime"),
            qf("created_by", LegalHold.created_by),
        ],
        serialize=serialize_hold,
        create_schema=HoldCreate,
        update_schema=HoldUpdate,
        create=service.create_hold,
        update=service.update_hold,
        delete=service.release_hold,
        default_order=[LegalHold.created.desc()],
    )
)
