"""Retention policies for every kind of record besides call recordings.

A tenant's policy for a kind of record says after how many days its records go and how: ``delete``
(the record with what it holds, as a plain delete does) or ``anonymize`` (as erasure does: personal
data cleared or replaced by the registry's strategy, blobs shredded, statistics kept). The
contract's retention (``tenants.retention_days``, the platform operator's) bounds every policy, and
a kind without a policy is kept for the contract's retention with its default action. The audit
log's own retention has a platform-wide floor (``HOVOR_AUDIT_RETENTION_FLOOR_DAYS``) that neither a
policy nor the contract goes below: it is the controller's evidence of what was done with the data.

Each :class:`Kind` says which rows are expired (age and cheap hold filters in SQL, in key order
after the last key swept), which holds cover one record exactly (re-checked row by row in the
chunk's transaction) and what deleting or anonymizing a chunk does. :func:`sweep_kind` runs one
kind in chunks, one transaction each, with one audit entry per chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from hovor.activities.models import Activity, Attachment, TranscriptSegment
from hovor.audit import log as audit
from hovor.campaigns.models import CampaignRecord
from hovor.core.db import UTCDateTime, unit_of_work, utcnow
from hovor.core.errors import ValidationFailed
from hovor.crm.models import Contact
from hovor.helpdesk.models import Ticket
from hovor.jobs.models import DONE, FAILED, Job
from hovor.privacy import deletes, holds
from hovor.privacy.models import LegalHold, RetentionPolicy
from hovor.tenancy.models import Tenant

DELETE, ANONYMIZE = "delete", "anonymize"
AUDIT_LOG = "auditLog"
ACTOR = audit.Actor.system("retention")


# --- what legal holds keep -----------------------------------------------------------------------
@dataclass(frozen=True)
class Held:
    """What legal holds in force keep (few rows: read once per chunk)."""

    by_type: dict[str, frozenset[str]]

    def of(self, kind: str) -> frozenset[str]:
        return self.by_type.get(kind, frozenset())

    def covers(self, pairs: Iterable[holds.Pair]) -> bool:
        return any(key is not None and str(key) in self.of(kind) for kind, key in pairs)


def held(session: Session, tenant_id: str, now: dt.datetime) -> Held:
    by: dict[str, set[str]] = {}
    for kind, key in session.execute(
        select(LegalHold.object_type, LegalHold.object_key).where(
            LegalHold.tenant_id == tenant_id, or_(LegalHold.until.is_(None), LegalHold.until > now)
        )
    ):
        by.setdefault(kind, set()).add(key)
    return Held({k: frozenset(v) for k, v in by.items()})


def not_in(column: Any, keys: frozenset[str], *, numeric: bool = False) -> Any:
    """``column`` is empty or none of ``keys``: a hold filter in SQL (exact checks follow per row)."""
    if not keys:
        return None
    values: list[Any] = sorted(int(k) for k in keys if k.isdigit()) if numeric else sorted(keys)
    if not values:
        return None
    return or_(column.is_(None), column.not_in(values))


def at(column: Any, moment: dt.datetime) -> Any:
    """A cutoff bound as the column's own type (UTC, no zone): a zoned literal would be compared in
    the database session's time zone."""
    return type_coerce(moment, column.type)


# --- the kinds -----------------------------------------------------------------------------------
@dataclass
class Ctx:
    """What applying a chunk needs."""

    session: Session
    files: Any
    tenant_id: str
    job: str | None
    caller: Any


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    actions: tuple[str, ...]  # the first is the default (a kind kept by the contract alone)
    key: Any  # the key column, in whose order chunks go
    age: Any  # the column or expression a record's age is counted from
    # The expired rows in SQL: (tenant, cutoff, action, held) → where-conditions.
    where: Callable[[str, dt.datetime, str, Held], list[Any]]
    # The holds that cover one loaded record, exactly.
    pairs: Callable[[Session, Any], list[holds.Pair]]
    # Deletes or anonymizes the loaded records; returns rows changed per table.
    apply: Callable[[Ctx, list[Any], str], dict[str, int]]
    tombstone_type: str
    load: Any = None  # the model loaded for ``apply`` (default: the key's)
    # Whether a loaded record must stay though SQL found it expired (checked per record).
    alive: Callable[[Session, Any, dt.datetime], bool] | None = None

    def expired(self, tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> Any:
        return [c for c in self.where(tenant_id, cutoff, action, keep) if c is not None]


# Activities of one channel.
CHANNEL_TYPES = {
    "activitiesCall": "CALL",
    "activitiesEmail": "EMAIL",
    "activitiesWeb": "CHAT",
    "activitiesSms": "SMS",
    "activitiesFbm": "FBM",
}


def _anonymize(ctx: Ctx, kind: str, keys: list[Any], redactor: Any = None) -> dict[str, int]:
    """Erasure's anonymizing of ``keys`` (records of ``kind``) in the chunk's transaction, by the
    retention; returns the rows deleted per table."""
    from hovor.privacy.erasure import Blank, anonymize_records

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


def _apply_activities(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    from hovor.activities.service import delete_activity

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


def _apply_transcripts(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    from sqlalchemy import delete

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


def _apply_attachments(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    from hovor.activities.service import delete_attachment

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


def _apply_tickets(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    from hovor.helpdesk.service import delete_ticket

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
    return [
        Contact.tenant_id == tenant_id,
        at(Contact.created, cutoff) > CONTACT_AGE,
        ~recent,
        ~open_ticket,
        ~live_record,
        not_in(Contact.name, keep.of("contacts")),
    ]


def _contact_alive(session: Session, contact: Any, cutoff: dt.datetime) -> bool:
    """Whether anything erasure would change with the contact is not yet expired: a call made for
    one of its campaign records, a ticket's comment, ... (what the SQL filter cannot see)."""
    from hovor.privacy.erasure import in_chunks, make_plan

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
    return False


def _contact_pairs(session: Session, contact: Any) -> list[holds.Pair]:
    """The contact's own hold and those of every record linked to it (anonymizing it changes them)."""
    from hovor.privacy.erasure import hold_pairs, make_plan

    return [
        *holds.of_contact(contact),
        *hold_pairs(session, contact.tenant_id, make_plan(session, contact.tenant_id, contact.name, {})),
    ]


def _apply_contacts(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    """Delete: the contact goes, its records stay and lose the link (a plain delete). Anonymize:
    as erasure does without looking into other people's records: every record linked to the
    contact is anonymized (its name forms, numbers and addresses redacted from titles), then the
    contact goes."""
    from hovor.crm.service import delete_contact
    from hovor.privacy.erasure import TYPES, identity, make_plan, subject_fields

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


def _apply_records(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    from hovor.campaigns.service import delete_record

    if action == ANONYMIZE:
        _anonymize(ctx, "campaignsRecords", [o.name for o in objs])
        return {"campaign_records": len(objs)}
    for obj in objs:
        delete_record(ctx.session, ctx.caller, obj)
        deletes.tombstone(ctx.session, ctx.tenant_id, "campaignsRecords", obj.name, "retention", job=ctx.job)
    return {"campaign_records": len(objs)}


# Erasure jobs keep their signed certificates: the proof that a person was erased (counts only).
KEPT_JOBS = ("erasure",)


def _jobs_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        Job.tenant_id == tenant_id,
        Job.state.in_((DONE, FAILED)),
        Job.finished < at(Job.finished, cutoff),
        Job.kind.not_in(KEPT_JOBS),
    ]


def _apply_jobs(ctx: Ctx, objs: list[Any], action: str) -> dict[str, int]:
    for obj in objs:
        ctx.session.delete(obj)
        # Jobs carry record keys in their parameters: a restore must not bring them back either.
        deletes.tombstone(ctx.session, ctx.tenant_id, "jobs", obj.name, "retention", job=ctx.job)
    ctx.session.flush()
    return {"jobs": len(objs)}


def _none(session: Session, obj: Any) -> list[holds.Pair]:
    return []


KINDS: dict[str, Kind] = {
    **{
        name: Kind(
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
        for name, code, title in (
            ("activitiesCall", "CALL", "Calls"),
            ("activitiesEmail", "EMAIL", "E-mails"),
            ("activitiesWeb", "CHAT", "Web chats"),
            ("activitiesSms", "SMS", "SMS"),
            ("activitiesFbm", "FBM", "Messenger conversations"),
        )
    },
    "transcripts": Kind(
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
    "attachments": Kind(
        "attachments",
        "Attachments of e-mails, chats and tickets (by upload)",
        (DELETE,),
        Attachment.name,
        Attachment.created,
        _attachments_where,
        deletes._attachment_pairs,
        _apply_attachments,
        "attachments",
    ),
    "tickets": Kind(
        "tickets",
        "Closed tickets (by their last activity)",
        (ANONYMIZE, DELETE),
        Ticket.name,
        TICKET_AGE,
        _tickets_where,
        deletes._ticket_pairs,
        _apply_tickets,
        "tickets",
    ),
    "contacts": Kind(
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
    "campaignsRecords": Kind(
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
    "jobs": Kind(
        "jobs",
        "Finished jobs (by when they finished; erasure certificates are kept)",
        (DELETE,),
        Job.name,
        Job.finished,
        _jobs_where,
        _none,
        _apply_jobs,
        "jobs",
    ),
}
# Every kind a policy may name: the kinds above, and the audit log (see hovor.audit.prune).
NAMES = (*KINDS, AUDIT_LOG)
# Contacts go after the records that may keep them active.
ORDER = [n for n in KINDS if n != "contacts"] + ["contacts"]


# --- which policies apply ------------------------------------------------------------------------
@dataclass(frozen=True)
class Effective:
    name: str
    days: int
    action: str
    source: str  # "policy" | "contract" | "floor"
    cutoff: dt.datetime


def audit_floor(settings: Any) -> int:
    return int(settings.audit_retention_floor_days)


def effective(session: Session, tenant_id: str, settings: Any, now: dt.datetime) -> list[Effective]:
    """The policies a sweep applies now: each kind's own policy bounded by the contract; a kind
    without one at the contract's days with its default action; the audit log never below the
    floor."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    contract = tenant.retention_days
    own = {
        p.name: p
        for p in session.scalars(select(RetentionPolicy).where(RetentionPolicy.tenant_id == tenant_id))
    }
    out = []
    for name in (*ORDER, AUDIT_LOG):
        policy = own.get(name)
        if policy is not None:
            days, action, source = policy.days, policy.action, "policy"
            if contract is not None and contract < days:
                days, source = contract, "contract"
        elif contract is not None:
            days, action, source = contract, KINDS[name].actions[0] if name in KINDS else DELETE, "contract"
        else:
            continue
        if name == AUDIT_LOG and days < audit_floor(settings):
            days, source = audit_floor(settings), "floor"
        out.append(Effective(name, days, action, source, now - dt.timedelta(days=days)))
    return out


def check_policy(session: Session, tenant_id: str, settings: Any, name: str, days: int, action: str) -> None:
    """A clear 400 for a policy that cannot be: an unknown kind or action, more days than the
    contract, the audit log below the floor."""
    from hovor.tenancy.service import MAX_RETENTION_DAYS

    if name not in NAMES:
        raise ValidationFailed({"name": [f"Use one of: {', '.join(NAMES)}."]})
    allowed = KINDS[name].actions if name in KINDS else (DELETE,)
    if action not in allowed:
        raise ValidationFailed({"action": [f"{name} allows: {', '.join(allowed)}."]})
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed({"days": [f"Use 1 to {MAX_RETENTION_DAYS} days."]})
    floor = audit_floor(settings)
    if name == AUDIT_LOG and days < floor:
        raise ValidationFailed({"days": [f"At least {floor} days: the platform's floor for the audit log."]})
    tenant = session.get(Tenant, tenant_id)
    # The contract bounds every policy; the audit log's never below the floor.
    bound = None if tenant is None or tenant.retention_days is None else tenant.retention_days
    if bound is not None and name == AUDIT_LOG:
        bound = max(bound, floor)
    if bound is not None and days > bound:
        raise ValidationFailed({"days": [f"At most {bound} days: the contract's retention for this tenant."]})


# --- the sweep of one kind -----------------------------------------------------------------------
def system_caller(session: Session, tenant_id: str) -> Any:
    from hovor.privacy.erasure import _caller

    return _caller(session, tenant_id)


def _doomed(session: Session, kind: Kind, policy: Effective, keep: Held, obj: Any) -> bool:
    """The exact checks SQL could not make: the holds that cover this record, and whether it is
    still in use."""
    if keep.covers(kind.pairs(session, obj)):
        return False
    return not (kind.alive is not None and kind.alive(session, obj, policy.cutoff))


def _candidates(
    session: Session, tenant_id: str, policy: Effective, keep: Held, after: Any, limit: int, *, lock: bool
) -> list[Any]:
    """Up to ``limit`` records SQL finds expired, in key order after ``after``."""
    kind = KINDS[policy.name]
    stmt = select(kind.load or kind.key.class_).where(
        *kind.expired(tenant_id, policy.cutoff, policy.action, keep)
    )
    if after is not None:
        stmt = stmt.where(kind.key > after)
    stmt = stmt.order_by(kind.key).limit(limit)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def sweep_chunk(
    session: Session,
    files: Any,
    tenant_id: str,
    policy: Effective,
    *,
    job: str | None,
    actor: audit.Actor,
    chunk: int,
    after: Any,
    now: dt.datetime,
) -> tuple[int, Any]:
    """One transaction: up to ``chunk`` expired records of one kind after ``after``, each re-checked
    against the holds in force. Returns how many were removed and the last key looked at (None:
    nothing left)."""
    kind = KINDS[policy.name]
    keep = held(session, tenant_id, now)
    found = _candidates(session, tenant_id, policy, keep, after, chunk, lock=True)
    if not found:
        return 0, None
    last = getattr(found[-1], kind.key.key)
    doomed = [obj for obj in found if _doomed(session, kind, policy, keep, obj)]
    if not doomed:
        return 0, last
    ctx = Ctx(session, files, tenant_id, job, system_caller(session, tenant_id))
    rows = kind.apply(ctx, doomed, policy.action)
    keys = [str(getattr(o, kind.key.key)) for o in doomed]
    audit.record(
        session,
        tenant_id,
        "privacy.retention.chunk",
        actor,
        kind.tombstone_type,
        None,
        {
            "policy": policy.name,
            "action": policy.action,
            "records": len(doomed),
            "first": keys[0],
            "last": keys[-1],
            "rows": rows,
            "job": job,
        },
    )
    return len(doomed), last


def sweep_kind(
    factory: Any,
    files: Any,
    tenant_id: str,
    policy: Effective,
    *,
    job: str | None = None,
    actor: audit.Actor = ACTOR,
    chunk: int = 1000,
    now: dt.datetime | None = None,
    after_chunk: Callable[[Session, int], None] | None = None,
) -> int:
    """Chunks until nothing of the kind is expired. Safe to stop anywhere and to run beside another
    sweep (each chunk commits whole; PostgreSQL skips rows another sweep has locked)."""
    now = now or utcnow()
    total, after = 0, None
    # Contacts anonymized take their records with them: fewer per transaction.
    size = max(1, chunk // 10) if policy.name == "contacts" else chunk
    while True:
        with unit_of_work(factory) as session:
            done, after = sweep_chunk(
                session, files, tenant_id, policy, job=job, actor=actor, chunk=size, after=after, now=now
            )
            if after_chunk is not None and done:
                after_chunk(session, done)
        total += done
        if after is None:
            return total


def preview(
    session: Session, tenant_id: str, settings: Any, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Per policy in force: how many records the next sweep would remove, the oldest and newest age.
    (Records covered by a hold only through a linked record are counted; the sweep keeps them.)"""
    from hovor.audit.prune import preview as audit_preview

    now = now or utcnow()
    keep = held(session, tenant_id, now)
    out = []
    for policy in effective(session, tenant_id, settings, now):
        if policy.name == AUDIT_LOG:
            count, oldest, newest = audit_preview(session, tenant_id, policy.cutoff)
        else:
            kind = KINDS[policy.name]
            sub = (
                select(kind.age.label("age"))
                .select_from(kind.key.class_)
                .where(*kind.expired(tenant_id, policy.cutoff, policy.action, keep))
                .subquery()
            )
            count, oldest, newest = session.execute(
                select(func.count(), func.min(sub.c.age), func.max(sub.c.age))
            ).one()
        out.append(
            {
                "policy": policy.name,
                "days": policy.days,
                "action": policy.action,
                "source": policy.source,
                "cutoff": policy.cutoff,
                "count": int(count or 0),
                "oldest": oldest,
                "newest": newest,
            }
        )
    return out


def any_due(session: Session, tenant_id: str, settings: Any, now: dt.datetime | None = None) -> bool:
    """Whether any policy has something the sweep would remove: the first record that passes the
    exact checks too (records kept only by a hold on a linked record, or still in use, must not
    queue a sweep every hour for nothing)."""
    from hovor.audit.prune import prunable_through

    now = now or utcnow()
    keep = held(session, tenant_id, now)
    for policy in effective(session, tenant_id, settings, now):
        if policy.name == AUDIT_LOG:
            if prunable_through(session, tenant_id, policy.cutoff):
                return True
            continue
        kind = KINDS[policy.name]
        after = None
        while found := _candidates(session, tenant_id, policy, keep, after, 200, lock=False):
            if any(_doomed(session, kind, policy, keep, obj) for obj in found):
                return True
            after = getattr(found[-1], kind.key.key)
    return False
