"""The data protection officer's routes: subjects, erasure (preview, request, certificate), the DPO
right to delete one recording or conversation, legal holds, and jobs."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities.models import (
    Activity,
    Attachment,
    EmailItem,
    FbmItem,
    Message,
    Recording,
    SmsItem,
    TranscriptSegment,
    WebItem,
)
from hovor.api import router as generic
from hovor.api.deps import CurrentCaller, DbSession, check
from hovor.api.envelope import no_content, ok
from hovor.api.resource import REGISTRY, Ctx, Resource, qf, register
from hovor.api.router import after_shredding, load_visible
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.validation import NoNulModel, form_from_pydantic
from hovor.core.wire import to_wire
from hovor.crm.models import Contact
from hovor.jobs import service as jobs
from hovor.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from hovor.privacy import erasure, holds, policies
from hovor.privacy.deletes import guard_delete, tombstone
from hovor.privacy.index import unindex
from hovor.privacy.models import LegalHold, RetentionPolicy
from hovor.privacy.resolver import resolve
from hovor.records import time_field

router = APIRouter()
TAG = "Data protection"


def _wake(request: Request) -> None:
    worker = getattr(request.app.state, "job_worker", None)
    if worker is not None:
        worker.wake.set()


def _job_link(job: Job) -> str:
    return f"/api/v6/jobs/{job.name}.json"


# --- subjects ------------------------------------------------------------------------------------
class SubjectQuery(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    contact: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=320)
    social: str | None = Field(None, max_length=128)
    ip: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=511, description="given name and surname")


@router.post(
    "/api/v6/subjects.json",
    tags=[TAG],
    summary="Every record that concerns one person: by contact, phone, e-mail, social id, IP address or "
    "name (in the JSON body, never in the URL: they are personal data)",
    openapi_extra={"x-permission": "dpo:subjects:search"},
)
def subjects(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    check(caller, "dpo:subjects:search")
    try:
        query = SubjectQuery.model_validate(body or {})
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None
    contact, phone, email = query.contact, query.phone, query.email
    social, ip, name = query.social, query.ip, query.name
    form: dict[str, list[str]] = {}
    lookups: list[dict[str, Any]] = []
    pseudonymize = request.app.state.pseudonyms
    searched: dict[str, str] = {}
    if phone:
        try:
            e164 = normalize_phone(phone, caller.country)
            lookups.append({"phone": e164})
            searched["phone"] = pseudonymize(caller.tenant_id, e164)
        except ValueError as exc:
            form["phone"] = [str(exc)]
    if email:
        try:
            folded = normalize_email(email)
            lookups.append({"email": folded})
            searched["email"] = pseudonymize(caller.tenant_id, folded)
        except ValueError as exc:
            form["email"] = [str(exc)]
    if social:
        lookups.append({"social": social.strip()})
        searched["social"] = pseudonymize(caller.tenant_id, social.strip())
    if ip:
        import ipaddress

        try:
            address = str(ipaddress.ip_address(ip.strip()))
            lookups.append({"ip": address})
            searched["ip"] = pseudonymize(caller.tenant_id, address)
        except ValueError:
            form["ip"] = ["Not a valid IP address."]
    if name:
        parts = name.split()
        if len(parts) < 2:
            form["name"] = ["Give a given name and a surname."]
        else:
            lookups.append({"name": (" ".join(parts[:-1]), parts[-1])})
            searched["name"] = pseudonymize(caller.tenant_id, " ".join(parts).casefold())
    if form:
        raise ValidationFailed(form)
    groups: dict[str, set[str]] = {}
    if contact:
        found = load_visible(session, REGISTRY["contacts"], caller, contact)
        plan = erasure.make_plan(session, caller.tenant_id, found.name, {})
        ident = erasure.identity(session, caller.tenant_id, plan)
        for kind, keys in plan.keys.items():
            if keys:
                groups.setdefault(kind, set()).update(keys)
        for group, keys in erasure.unlinked(session, caller, plan, ident).items():
            groups.setdefault(group, set()).update(keys)
        searched["contact"] = found.name
    if not lookups and not contact:
        raise BadRequest("Give at least one of: contact, phone, email, social, ip, name.")
    for lookup in lookups:
        for group, keys in resolve(session, caller, **lookup).items():
            groups.setdefault(group, set()).update(keys)
    groups.update(_held_by(session, caller.tenant_id, groups))
    result = {g: {"count": len(k), "keys": sorted(k)} for g, k in sorted(groups.items()) if k}
    total = sum(len(k) for k in groups.values())
    audit.record(
        session,
        caller.tenant_id,
        "privacy.subjects.search",
        audit.actor_of(request),
        "subjects",
        None,
        {"searched": searched, "found": total},
    )
    session.commit()
    return ok(request, {"data": result, "total": total})


ACTIVITY_GROUPS = (
    "activities",
    "activitiesCall",
    "activitiesEmail",
    "activitiesWeb",
    "activitiesSms",
    "activitiesFbm",
)


def _held_by(session: Session, tenant_id: str, groups: dict[str, set[str]]) -> dict[str, set[str]]:
    """What the found activities and tickets hold: messages, transcript segments, attachments (by
    the indexes on their parent's key)."""
    activities = sorted(set().union(*(groups.get(g, set()) for g in ACTIVITY_GROUPS)))
    tickets = sorted(int(t) for t in groups.get("tickets", set()) if t.isdigit())
    out: dict[str, set[str]] = {
        "activitiesMessages": set(),
        "activitiesCallTranscripts": set(),
        "attachments": set(),
    }
    for i in range(0, len(activities), 500):
        chunk = activities[i : i + 500]
        out["activitiesMessages"] |= set(
            session.scalars(
                select(Message.name).where(Message.tenant_id == tenant_id, Message.activity.in_(chunk))
            )
        )
        out["activitiesCallTranscripts"] |= set(
            session.scalars(
                select(TranscriptSegment.name).where(
                    TranscriptSegment.tenant_id == tenant_id, TranscriptSegment.activity.in_(chunk)
                )
            )
        )
        out["attachments"] |= set(
            session.scalars(
                select(Attachment.name).where(
                    Attachment.tenant_id == tenant_id, Attachment.activity.in_(chunk)
                )
            )
        )
    for i in range(0, len(tickets), 500):
        out["attachments"] |= set(
            session.scalars(
                select(Attachment.name).where(
                    Attachment.tenant_id == tenant_id, Attachment.ticket.in_(tickets[i : i + 500])
                )
            )
        )
    return out


# --- erasure -------------------------------------------------------------------------------------
class ErasureRequest(NoNulModel):
    model_config = ConfigDict(extra="forbid")
    include: dict[str, list[str]] | str | None = Field(
        None,
        description='Unlinked records to erase as well, by kind as subjects.json names them, or "all" '
        "for every unlinked match the preview lists.",
    )


def _include(session: Session, caller: Caller, contact: str, raw: Any) -> dict[str, list[str]]:
    if raw == "all":
        plan = erasure.make_plan(session, caller.tenant_id, contact, {})
        ident = erasure.identity(session, caller.tenant_id, plan)
        # Every unlinked record carrying her identifiers, but not other contacts and accounts
        # whole: a namesake or a household sharing a number is a person of their own. Those are
        # included by name only, from the preview's list.
        raw = {
            group: keys
            for group, keys in erasure.unlinked(session, caller, plan, ident).items()
            if group not in ("contacts", "accounts")
        }
    elif isinstance(raw, str):
        raise ValidationFailed({"include": ['Use "all" or a map of record kinds to keys.']})
    try:
        include = erasure.parse_include(raw)
    except ValueError as exc:
        raise ValidationFailed({"include": [str(exc)]}) from None
    # Only records the caller may see can be included (and they must exist).
    # Each key as the record stores it ("+5" finds ticket 5 and must plan ticket 5).
    checked: dict[str, list[str]] = {}
    for kind, keys in include.items():
        resource = REGISTRY[kind]
        for key in keys:
            try:
                found = load_visible(session, resource, caller, key)
            except NotFound:
                raise ValidationFailed(
                    {f"include.{kind}": ["No such record, or your rights do not cover it."]}
                ) from None
            checked.setdefault(kind, []).append(str(found.name))
    return checked


def _latest_erasure(session: Session, tenant_id: str, contact: str) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.tenant_id == tenant_id, Job.kind == erasure.KIND, Job.target == contact)
        .order_by(Job.created.desc())
        .limit(1)
    ).first()


def serialize_job(job: Job, ctx: Ctx) -> dict[str, Any]:
    progress = dict(job.progress or {})
    progress.pop("plan", None)  # record keys by the thousand; the counts say enough
    return {
        "name": job.name,
        "kind": job.kind,
        "target": job.target,
        "state": job.state,
        "step": job.step,
        "progress": progress,
        "attempts": job.attempts,
        "error": job.error,
        "created": to_wire(job.created, ctx.tz),
        "created_by": job.created_by,
        "started": to_wire(job.started, ctx.tz),
        "finished": to_wire(job.finished, ctx.tz),
        "result": job.result,
    }


@router.get(
    "/api/v6/contacts/{name}/erasure.json",
    tags=[TAG],
    summary="Preview a GDPR erasure of the contact (what changes, per record and field); after an "
    "erasure, its signed certificate",
    openapi_extra={"x-permission": "dpo:subjects:erase"},
)
def erasure_preview(
    request: Request, session: DbSession, caller: CurrentCaller, name: str, include: str | None = None
) -> Any:
    check(caller, "dpo:subjects:erase")
    contact = session.get(Contact, (caller.tenant_id, name))
    if contact is None:
        job = _latest_erasure(session, caller.tenant_id, name)
        if job is None:
            raise NotFound("Record not found.")
        return ok(request, serialize_job(job, Ctx(caller)))
    load_visible(session, REGISTRY["contacts"], caller, name)
    chosen = _include(session, caller, contact.name, "all" if include == "all" else None)
    result = erasure.preview(session, caller, contact.name, chosen)
    with request.app.state.session_factory() as writer:
        audit.record(
            writer,
            caller.tenant_id,
            "privacy.erasure.preview",
            audit.actor_of(request),
            "contacts",
            contact.name,
            {"records": result["summary"]["records"], "mentions": result["summary"]["mentions"]},
        )
        writer.commit()
    return ok(request, result)


def request_erasure(request: Request, session: Session, caller: Caller, name: str, include_raw: Any) -> Job:
    """Checks, plans and enqueues an erasure in the request's transaction (committed by the caller)."""
    check(caller, "dpo:subjects:erase")
    contact = load_visible(session, REGISTRY["contacts"], caller, name)
    running = session.scalars(
        select(Job.name).where(
            Job.tenant_id == caller.tenant_id,
            Job.kind == erasure.KIND,
            Job.target == contact.name,
            Job.state.in_((QUEUED, RUNNING)),
        )
    ).first()
    if running is not None:
        raise Conflict(f"An erasure of this contact is under way: job {running}.")
    include = _include(session, caller, contact.name, include_raw)
    plan = erasure.make_plan(session, caller.tenant_id, contact.name, include)
    erasure.check_holds(session, caller.tenant_id, plan)
    request_id = getattr(request.state, "request_id", None)
    job = jobs.enqueue(
        session,
        caller.tenant_id,
        erasure.KIND,
        {"contact": contact.name, "include": include, "request_id": request_id},
        created_by=caller.user,
        target=contact.name,
    )
    audit.record(
        session,
        caller.tenant_id,
        "privacy.erasure.request",
        audit.actor_of(request),
        "contacts",
        contact.name,
        {"job": job.name, "records": {t: len(v) for t, v in plan.keys.items()}},
    )
    return job


@router.post(
    "/api/v6/contacts/{name}/erasure.json",
    tags=[TAG],
    status_code=202,
    summary="Erase the contact under GDPR: delete it, anonymize its records, redact mentions (a job)",
    openapi_extra={"x-permission": "dpo:subjects:erase"},
)
def erasure_request(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    name: str,
    body: dict[str, Any] | None = Body(None, description='{"include": {kind: [keys]} | "all"}'),
) -> Any:
    # Validated after the permission check: a caller without the right learns nothing from a 400.
    check(caller, "dpo:subjects:erase")
    try:
        parsed = ErasureRequest.model_validate(body or {})
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None
    job = request_erasure(request, session, caller, name, parsed.include)
    result = serialize_job(job, Ctx(caller))
    session.commit()
    _wake(request)
    response = ok(request, result, status=202)
    response.headers["Location"] = _job_link(job)
    return response


def _anonymizing_delete(request: Request, session: Session, caller: Caller, name: str) -> Any:
    """``DELETE contacts/{name}.json?anonymize=1``: the erasure, for clients of the v6 reference.

    Waits (``erasure_wait_seconds``) for the job and answers 204 like a delete; a job still running
    by then is answered 202 with the job to follow."""
    if request.query_params.get("anonymize", "").lower() not in ("1", "true", "yes"):
        return None
    job = request_erasure(request, session, caller, name, None)
    job_name = job.name
    session.commit()
    _wake(request)
    state = request.app.state
    deadline = time.monotonic() + state.settings.erasure_wait_seconds
    while time.monotonic() < deadline:
        with state.read_session_factory() as reader:
            current = reader.get(Job, (caller.tenant_id, job_name))
            if current is not None and current.state in (DONE, FAILED):
                if current.state == DONE:
                    return no_content()
                break
        time.sleep(0.05)
    with state.read_session_factory() as reader:
        current = reader.get(Job, (caller.tenant_id, job_name))
        assert current is not None
        response = ok(request, serialize_job(current, Ctx(caller)), status=202)
    response.headers["Location"] = f"/api/v6/jobs/{job_name}.json"
    return response


generic.DELETE_VARIANTS["contacts"] = _anonymizing_delete
generic.DELETE_GUARD[0] = guard_delete


# --- the DPO right: one recording, one conversation ---------------------------------------------
def _dpo_target(session: Session, caller: Caller, endpoint: str, name: str) -> Activity:
    item = load_visible(session, REGISTRY[endpoint], caller, name)
    activity = session.get(Activity, (caller.tenant_id, item.name))
    assert activity is not None
    holds.check(session, caller.tenant_id, holds.of_activity(activity), "activity")
    return activity


def _transcript(session: Session, activity: Activity) -> list[TranscriptSegment]:
    return list(
        session.scalars(
            select(TranscriptSegment).where(
                TranscriptSegment.tenant_id == activity.tenant_id, TranscriptSegment.activity == activity.name
            )
        )
    )


@router.delete(
    "/api/v6/activitiesCall/{name}/recording.json",
    tags=[TAG],
    status_code=204,
    response_model=None,
    summary="Delete the call's recording (and its transcript); the call keeps its statistics",
    openapi_extra={"x-permission": "dpo:recordings:delete"},
)
def delete_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    check(caller, "dpo:recordings:delete")
    activity = _dpo_target(session, caller, "activitiesCall", name)
    recording = session.get(Recording, (caller.tenant_id, activity.name))
    segments = _transcript(session, activity)
    if recording is None and not segments:
        raise NotFound("The call has no recording or transcript.")
    fields = []
    if recording is not None:
        request.app.state.files.destroy_keys(session, caller.tenant_id, [recording.blob])
        session.delete(recording)
        fields.append("call_recordings")
    if segments:
        for segment in segments:
            session.delete(segment)
        fields.append("call_transcripts")
    _finish_dpo(request, session, caller, activity, "privacy.recording.delete", fields)
    return after_shredding(request, no_content())


@router.delete(
    "/api/v6/activitiesCall/{name}/transcript.json",
    tags=[TAG],
    status_code=204,
    response_model=None,
    summary="Delete the call's transcript only",
    openapi_extra={"x-permission": "dpo:recordings:delete"},
)
def delete_transcript(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    check(caller, "dpo:recordings:delete")
    activity = _dpo_target(session, caller, "activitiesCall", name)
    segments = _transcript(session, activity)
    if not segments:
        raise NotFound("The call has no transcript.")
    for segment in segments:
        session.delete(segment)
    _finish_dpo(request, session, caller, activity, "privacy.transcript.delete", ["call_transcripts"])
    return no_content()


def _finish_dpo(
    request: Request, session: Session, caller: Caller, activity: Activity, action: str, fields: list[str]
) -> None:
    activity.anonymized = True
    tombstone(
        session,
        caller.tenant_id,
        "activities",
        activity.name,
        "dpo",
        fields=fields,
        request_id=getattr(request.state, "request_id", None),
    )
    audit.record(
        session,
        caller.tenant_id,
        action,
        audit.actor_of(request),
        "activities",
        activity.name,
        {"removed": fields},
    )
    session.commit()


# The content of a conversation: everything the registry marks as the subject's, except the
# statistics; messages and attachments go whole.
_CONVERSATIONS: dict[str, Any] = {
    "activitiesEmail": EmailItem,
    "activitiesWeb": WebItem,
    "activitiesSms": SmsItem,
    "activitiesFbm": FbmItem,
}


def _delete_conversation(endpoint: str) -> Any:
    item_model = _CONVERSATIONS[endpoint]

    def delete_content(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
        check(caller, "dpo:communications:delete")
        activity = _dpo_target(session, caller, endpoint, name)
        fields: list[str] = []
        tenant_id = caller.tenant_id
        # What the registry marks as the subject's in the item (text, headers, name, address) and the
        # activity (title, description, form): cleared, not redacted: the content is what goes.
        for obj in (activity, session.get(item_model, (tenant_id, activity.name))):
            if obj is None:
                continue
            fields += erasure.clear_row(obj)
        # The phone numbers and addresses of its custom fields, held in the identifier index.
        unindex(session, tenant_id, "activities", activity.name)
        messages = session.scalars(
            select(Message).where(Message.tenant_id == tenant_id, Message.activity == activity.name)
        ).all()
        for message in messages:
            session.delete(message)
        if messages:
            fields.append("messages")
        for attachment in session.scalars(
            select(Attachment).where(Attachment.tenant_id == tenant_id, Attachment.activity == activity.name)
        ).all():
            request.app.state.files.destroy_keys(session, tenant_id, [attachment.blob])
            session.delete(attachment)
            if "attachments" not in fields:
                fields.append("attachments")
        _finish_dpo(request, session, caller, activity, "privacy.communication.delete", sorted(set(fields)))
        return after_shredding(request, no_content())

    return delete_content


for _endpoint in _CONVERSATIONS:
    router.add_api_route(
        f"/api/v6/{_endpoint}/{{name}}/content.json",
        _delete_conversation(_endpoint),
        methods=["DELETE"],
        tags=[TAG],
        status_code=204,
        response_model=None,
        summary="Delete the conversation's content (text, messages, headers, attachments); the activity "
        "keeps its statistics and is marked anonymized",
        openapi_extra={"x-permission": "dpo:communications:delete"},
    )


# --- retention -----------------------------------------------------------------------------------
@router.get(
    "/api/v6/retentionPolicies/preview.json",
    tags=[TAG],
    summary="What the next retention sweep would remove, per policy (recordings per queue): how many "
    "records, the oldest and newest",
    openapi_extra={"x-permission": "tenant:settings:read"},
)
def retention_preview(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    from hovor.privacy import retention

    check(caller, "tenant:settings:read")
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


class PolicyCreate(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(description="The kind of record: " + ", ".join(policies.NAMES))
    days: int = Field(description="Records older than this many days are swept")
    action: str | None = Field(None, description="delete | anonymize (default: the kind's own)")


class PolicyUpdate(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = None
    days: int | None = None
    action: str | None = None


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


def _settings(session: Session) -> Any:
    from hovor.core.config import get_settings

    return session.info.get("settings") or get_settings()


def create_policy(session: Session, caller: Caller, body: PolicyCreate) -> RetentionPolicy:
    name = body.name
    if name not in policies.NAMES:
        raise ValidationFailed({"name": [f"Use one of: {', '.join(policies.NAMES)}."]})
    action = body.action or (policies.KINDS[name].actions[0] if name in policies.KINDS else policies.DELETE)
    policies.check_policy(session, caller.tenant_id, _settings(session), name, body.days, action)
    if session.get(RetentionPolicy, (caller.tenant_id, name)) is not None:
        raise Conflict(f"A policy for {name} exists; change it with PUT retentionPolicies/{name}.json.")
    policy = RetentionPolicy(
        tenant_id=caller.tenant_id, name=name, days=body.days, action=action, created_by=caller.user
    )
    session.add(policy)
    session.flush()
    return policy


def update_policy(
    session: Session, caller: Caller, policy: RetentionPolicy, body: PolicyUpdate
) -> RetentionPolicy:
    from hovor.records import key_unchanged

    key_unchanged(body, policy.name)
    sent = body.model_fields_set
    for field in ("days", "action"):
        if field in sent and getattr(body, field) is None:
            raise ValidationFailed({field: ["This field cannot be empty."]})
    days = body.days if body.days is not None else policy.days
    action = body.action if body.action is not None else policy.action
    policies.check_policy(session, caller.tenant_id, _settings(session), policy.name, days, action)
    policy.days, policy.action, policy.edited_by = days, action, caller.user
    session.flush()
    return policy


def delete_policy(session: Session, caller: Caller, policy: RetentionPolicy) -> None:
    session.delete(policy)
    session.flush()


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
        create=create_policy,
        update=update_policy,
        delete=delete_policy,
        default_order=[RetentionPolicy.name],
    )
)


# --- legal holds ---------------------------------------------------------------------------------
class HoldCreate(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    object_type: str = Field(description="contacts | tickets | activities | queues | campaignsTypes")
    object_key: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)
    until: str | None = None


class HoldUpdate(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = None
    reason: str | None = Field(None, min_length=1, max_length=1000)
    until: str | None = None


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


def create_hold(session: Session, caller: Caller, body: HoldCreate) -> LegalHold:
    from hovor.records import new_key

    if body.object_type not in holds.HOLD_TYPES:
        raise ValidationFailed({"object_type": [f"Use one of: {', '.join(holds.HOLD_TYPES)}."]})
    resource = REGISTRY[body.object_type]
    try:
        target = load_visible(session, resource, caller, body.object_key)
    except NotFound:
        raise ValidationFailed({"object_key": ["No such record, or your rights do not cover it."]}) from None
    until = time_field(body.until, caller, "until")
    hold = LegalHold(
        tenant_id=caller.tenant_id,
        name=new_key(session, LegalHold, caller.tenant_id, body.name, "legalHolds"),
        object_type=body.object_type,
        object_key=str(target.name),
        reason=body.reason,
        until=until,
        created_by=caller.user,
    )
    session.add(hold)
    session.flush()
    return hold


def update_hold(session: Session, caller: Caller, hold: LegalHold, body: HoldUpdate) -> LegalHold:
    from hovor.records import key_unchanged

    key_unchanged(body, hold.name)
    sent = body.model_fields_set
    if "reason" in sent:
        if not body.reason:
            raise ValidationFailed({"reason": ["A hold needs a reason."]})
        hold.reason = body.reason
    if "until" in sent:
        hold.until = time_field(body.until, caller, "until")
    session.flush()
    return hold


def release_hold(session: Session, caller: Caller, hold: LegalHold) -> None:
    session.delete(hold)
    session.flush()


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
        create=create_hold,
        update=update_hold,
        delete=release_hold,
        default_order=[LegalHold.created.desc()],
    )
)

register(
    Resource(
        endpoint="jobs",
        title="Jobs",
        model=Job,
        permission="admin:jobs",
        fields=[
            qf("name", Job.name),
            qf("kind", Job.kind),
            qf("target", Job.target),
            qf("state", Job.state),
            qf("step", Job.step),
            qf("progress", Job.progress, filter=False, sort=False),
            qf("attempts", Job.attempts, "int"),
            qf("error", Job.error),
            qf("created", Job.created, "datetime"),
            qf("created_by", Job.created_by),
            qf("started", Job.started, "datetime"),
            qf("finished", Job.finished, "datetime"),
            qf("result", Job.result, filter=False, sort=False),
        ],
        serialize=serialize_job,
        default_order=[Job.created.desc()],
    )
)
