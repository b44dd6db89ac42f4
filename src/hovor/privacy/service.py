"""What the data protection officer's routes do (:mod:`hovor.privacy.api` parses, authorizes and
shapes the answers): find every record of one person, preview and request the erasure of a
contact, delete one recording or conversation, and keep retention policies and legal holds.

Nothing here commits: the route commits before it answers, so an answer never reports a change
that was not saved. Audit entries are queued in the same transaction, with the request's actor.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hovor.activities import channels
from hovor.activities.models import (
    Activity,
    Attachment,
    Message,
    Queue,
    Recording,
    TranscriptSegment,
)
from hovor.audit import log as audit
from hovor.campaigns.models import CampaignRecord, RecordType
from hovor.core.caller import Caller
from hovor.core.config import get_settings
from hovor.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.records import key_unchanged, new_key, time_field
from hovor.core.scope import find_visible
from hovor.crm.models import Account, Contact, CrmRecord
from hovor.files.service import Files
from hovor.helpdesk.models import Ticket
from hovor.index.service import unindex
from hovor.jobs import service as jobs
from hovor.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from hovor.privacy import erasure, holds, policies
from hovor.privacy.deletes import tombstone
from hovor.privacy.erasure.consents import suppress_person
from hovor.privacy.models import LegalHold, RetentionPolicy
from hovor.privacy.resolver import resolve
from hovor.privacy.schemas import HoldCreate, HoldUpdate, PolicyCreate, PolicyUpdate, SubjectQuery

# (tenant, value) → a keyed pseudonym: what the audit log keeps of a searched value.
Pseudonymize = Callable[[str, str], str]

ACTIVITY_GROUPS = ("activities", *channels.ENDPOINTS)


# The kinds of record a DPO names (by their endpoints, as on the wire) and their models.
KIND_MODELS: dict[str, Any] = {
    "contacts": Contact,
    "accounts": Account,
    "activities": Activity,
    "tickets": Ticket,
    "campaignsRecords": CampaignRecord,
    "crmRecords": CrmRecord,
    "campaignsTypes": RecordType,
    "queues": Queue,
    **{kind.endpoint: kind.model for kind in channels.KINDS},
}


def _visible(session: Session, caller: Caller, kind: str, raw_key: str) -> Any:
    """The record of ``kind`` under ``raw_key`` the caller may see, or 404 (also for another
    tenant's record)."""
    found = find_visible(session, KIND_MODELS[kind], caller, raw_key)
    if found is None:
        raise NotFound("Record not found.")
    return found


# --- subjects ------------------------------------------------------------------------------------
def _lookups(
    caller: Caller, query: SubjectQuery, pseudonymize: Pseudonymize
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The resolver's lookups for the identifiers given (normalized as they are stored) and what
    the audit log keeps of each; a 400 naming every identifier that cannot be one."""
    form: dict[str, list[str]] = {}
    lookups: list[dict[str, Any]] = []
    searched: dict[str, str] = {}
    tenant_id = caller.tenant_id
    if query.phone:
        try:
            e164 = normalize_phone(query.phone, caller.country)
            lookups.append({"phone": e164})
            searched["phone"] = pseudonymize(tenant_id, e164)
        except ValueError as exc:
            form["phone"] = [str(exc)]
    if query.email:
        try:
            folded = normalize_email(query.email)
            lookups.append({"email": folded})
            searched["email"] = pseudonymize(tenant_id, folded)
        except ValueError as exc:
            form["email"] = [str(exc)]
    if query.social:
        lookups.append({"social": query.social.strip()})
        searched["social"] = pseudonymize(tenant_id, query.social.strip())
    if query.ip:
        try:
            address = str(ipaddress.ip_address(query.ip.strip()))
            lookups.append({"ip": address})
            searched["ip"] = pseudonymize(tenant_id, address)
        except ValueError:
            form["ip"] = ["Not a valid IP address."]
    if query.name:
        parts = query.name.split()
        if len(parts) < 2:
            form["name"] = ["Give a given name and a surname."]
        else:
            lookups.append({"name": (" ".join(parts[:-1]), parts[-1])})
            searched["name"] = pseudonymize(tenant_id, " ".join(parts).casefold())
    if form:
        raise ValidationFailed(form)
    return lookups, searched


def _of_contact(session: Session, caller: Caller, contact: str) -> dict[str, set[str]]:
    """What an erasure of the contact would plan, and the unlinked records carrying her identifiers."""
    groups: dict[str, set[str]] = {}
    plan = erasure.make_plan(session, caller.tenant_id, contact, {})
    ident = erasure.identity(session, caller.tenant_id, plan)
    for kind, keys in plan.keys.items():
        if keys:
            groups.setdefault(kind, set()).update(keys)
    for group, keys in erasure.unlinked(session, caller, plan, ident).items():
        groups.setdefault(group, set()).update(keys)
    return groups


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
    for chunk in erasure.in_chunks(activities):
        for group, model in (
            ("activitiesMessages", Message),
            ("activitiesCallTranscripts", TranscriptSegment),
            ("attachments", Attachment),
        ):
            out[group] |= set(
                session.scalars(
                    select(model.name).where(model.tenant_id == tenant_id, model.activity.in_(chunk))
                )
            )
    for chunk in erasure.in_chunks(tickets):
        out["attachments"] |= set(
            session.scalars(
                select(Attachment.name).where(Attachment.tenant_id == tenant_id, Attachment.ticket.in_(chunk))
            )
        )
    return out


def search_subjects(
    session: Session, caller: Caller, query: SubjectQuery, pseudonymize: Pseudonymize, actor: audit.Actor
) -> tuple[dict[str, dict[str, Any]], int]:
    """Keys and counts by record kind of everything that concerns the person, and the total. The
    search is audited with keyed pseudonyms of what was searched, never the values."""
    lookups, searched = _lookups(caller, query, pseudonymize)
    groups: dict[str, set[str]] = {}
    if query.contact:
        found = _visible(session, caller, "contacts", query.contact)
        groups = _of_contact(session, caller, found.name)
        searched["contact"] = found.name
    if not lookups and not query.contact:
        raise BadRequest("Give at least one of: contact, phone, email, social, ip, name.")
    for lookup in lookups:
        for group, keys in resolve(session, caller, **lookup).items():
            groups.setdefault(group, set()).update(keys)
    groups.update(_held_by(session, caller.tenant_id, groups))
    result = {g: {"count": len(k), "keys": sorted(k)} for g, k in sorted(groups.items()) if k}
    total = sum(len(k) for k in groups.values())
    details = {"searched": searched, "found": total}
    audit.record(session, caller.tenant_id, "privacy.subjects.search", actor, "subjects", None, details)
    return result, total


# --- erasure -------------------------------------------------------------------------------------
def included(session: Session, caller: Caller, contact: str, raw: Any) -> dict[str, list[str]]:
    """The unlinked records the DPO included, by planned type, each checked visible to them."""
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
        for key in keys:
            try:
                found = _visible(session, caller, kind, key)
            except NotFound:
                raise ValidationFailed(
                    {f"include.{kind}": ["No such record, or your rights do not cover it."]}
                ) from None
            checked.setdefault(kind, []).append(str(found.name))
    return checked


def finished_erasure(session: Session, caller: Caller, name: str) -> Job | None:
    """Once the contact is erased, its latest erasure job (which holds the certificate); None while
    the contact exists; 404 when there is neither."""
    if session.get(Contact, (caller.tenant_id, name)) is not None:
        return None
    job = session.scalars(
        select(Job)
        .where(Job.tenant_id == caller.tenant_id, Job.kind == erasure.KIND, Job.target == name)
        .order_by(Job.created.desc())
        .limit(1)
    ).first()
    if job is None:
        raise NotFound("Record not found.")
    return job


def preview_erasure(
    session: Session,
    writer: sessionmaker[Session],
    caller: Caller,
    name: str,
    *,
    include_all: bool,
    actor: audit.Actor,
) -> dict[str, Any]:
    """What an erasure of the contact would change. The preview is audited in a transaction of its
    own (``writer``): the request's session only reads."""
    contact = _visible(session, caller, "contacts", name)
    chosen = included(session, caller, contact.name, "all" if include_all else None)
    result = erasure.preview(session, caller, contact.name, chosen)
    summary = result["summary"]
    with writer() as audit_session:
        audit.record(
            audit_session,
            caller.tenant_id,
            "privacy.erasure.preview",
            actor,
            "contacts",
            contact.name,
            {"records": summary["records"], "mentions": summary["mentions"]},
        )
        audit_session.commit()
    return result


def request_erasure(
    session: Session,
    caller: Caller,
    name: str,
    include_raw: Any,
    actor: audit.Actor,
    *,
    suppress: bool = False,
) -> Job:
    """Checks, plans and enqueues an erasure in the request's transaction: the job exists if and
    only if the request commits. One erasure of a contact at a time. With ``suppress`` the
    person's numbers and addresses go on the suppression list (keyed hashes) in this transaction,
    before anything is erased, and again when the job plans (records linked meanwhile)."""
    contact = _visible(session, caller, "contacts", name)
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
    include = included(session, caller, contact.name, include_raw)
    plan = erasure.make_plan(session, caller.tenant_id, contact.name, include)
    erasure.check_holds(session, caller.tenant_id, plan)
    params: dict[str, Any] = {"contact": contact.name, "include": include, "request_id": actor.request_id}
    suppressed = 0
    if suppress:
        params.update(suppress=True, by=caller.user)
        suppressed = suppress_person(session, caller.tenant_id, plan, caller.user)
    job = jobs.enqueue(
        session, caller.tenant_id, erasure.KIND, params, created_by=caller.user, target=contact.name
    )
    audit.record(
        session,
        caller.tenant_id,
        "privacy.erasure.request",
        actor,
        "contacts",
        contact.name,
        {
            "job": job.name,
            "records": {t: len(v) for t, v in plan.keys.items()},
            **({"suppressed": suppressed} if suppress else {}),
        },
    )
    return job


def wait_for(factory: sessionmaker[Session], tenant_id: str, name: str, seconds: float) -> str | None:
    """The job's state once it is done or failed, or None if it is still on its way after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with factory() as reader:
            current = reader.get(Job, (tenant_id, name))
            if current is not None and current.state in (DONE, FAILED):
                return current.state
        time.sleep(0.05)
    return None


# --- the DPO right: one recording, one conversation ---------------------------------------------
# The content of a conversation: everything the registry marks as the subject's, except the
# statistics; messages and attachments go whole.
CONVERSATIONS: dict[str, Any] = {kind.endpoint: kind.model for kind in channels.KINDS if kind.conversation}


def _dpo_target(session: Session, caller: Caller, endpoint: str, name: str) -> Activity:
    item = _visible(session, caller, endpoint, name)
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


def _finish_dpo(
    session: Session, caller: Caller, activity: Activity, action: str, fields: list[str], actor: audit.Actor
) -> None:
    """The activity stays, marked anonymized; a tombstone lists what went, and the audit log."""
    activity.anonymized = True
    tombstone(
        session,
        caller.tenant_id,
        "activities",
        activity.name,
        "dpo",
        fields=fields,
        request_id=actor.request_id,
    )
    audit.record(session, caller.tenant_id, action, actor, "activities", activity.name, {"removed": fields})


def delete_recording(session: Session, files: Files, caller: Caller, name: str, actor: audit.Actor) -> None:
    """The call's recording (its key destroyed now, the object after the commit) and transcript."""
    activity = _dpo_target(session, caller, "activitiesCall", name)
    recording = session.get(Recording, (caller.tenant_id, activity.name))
    segments = _transcript(session, activity)
    if recording is None and not segments:
        raise NotFound("The call has no recording or transcript.")
    fields = []
    if recording is not None:
        files.destroy_keys(session, caller.tenant_id, [recording.blob])
        session.delete(recording)
        fields.append("call_recordings")
    if segments:
        for segment in segments:
            session.delete(segment)
        fields.append("call_transcripts")
    _finish_dpo(session, caller, activity, "privacy.recording.delete", fields, actor)


def delete_transcript(session: Session, caller: Caller, name: str, actor: audit.Actor) -> None:
    activity = _dpo_target(session, caller, "activitiesCall", name)
    segments = _transcript(session, activity)
    if not segments:
        raise NotFound("The call has no transcript.")
    for segment in segments:
        session.delete(segment)
    _finish_dpo(session, caller, activity, "privacy.transcript.delete", ["call_transcripts"], actor)


def delete_conversation(
    session: Session, files: Files, caller: Caller, endpoint: str, name: str, actor: audit.Actor
) -> None:
    """Everything of the person in one conversation; the activity keeps its statistics."""
    activity = _dpo_target(session, caller, endpoint, name)
    fields: list[str] = []
    tenant_id = caller.tenant_id
    # What the registry marks as the subject's in the item (text, headers, name, address) and the
    # activity (title, description, form): cleared, not redacted: the content is what goes.
    for obj in (activity, session.get(CONVERSATIONS[endpoint], (tenant_id, activity.name))):
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
        files.destroy_keys(session, tenant_id, [attachment.blob])
        session.delete(attachment)
        if "attachments" not in fields:
            fields.append("attachments")
    _finish_dpo(session, caller, activity, "privacy.communication.delete", sorted(set(fields)), actor)


# --- retention policies --------------------------------------------------------------------------
def _settings(session: Session) -> Any:
    # A request's session carries its app's settings (hovor.api.deps.write_session); else the process's.
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


# --- legal holds ---------------------------------------------------------------------------------
def create_hold(session: Session, caller: Caller, body: HoldCreate) -> LegalHold:
    if body.object_type not in holds.HOLD_TYPES:
        raise ValidationFailed({"object_type": [f"Use one of: {', '.join(holds.HOLD_TYPES)}."]})
    try:
        target = _visible(session, caller, body.object_type, body.object_key)
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
