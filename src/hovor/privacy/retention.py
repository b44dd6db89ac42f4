"""Retention that runs by itself: call recordings older than their queue's retention are deleted.

A tenant's ceiling (``tenants.recordings_retention_days``) is the platform operator's, set with the
contract; a queue may keep recordings for less (``options.recordings_retention``; 0 or empty means
the ceiling; more than the ceiling is refused when the queue is saved, and a ceiling lowered later
wins at sweep time). The age of a recording is the age of its call.

The sweep is a job (``retention``): chunks of :data:`CHUNK` recordings, each one transaction that
selects what is expired *now* (so every record is re-checked when it is deleted: its age, its
queue's retention, legal holds), deletes the transcript, destroys the blob's key, deletes the
recording row, writes a tombstone per call and one audit entry with counts and the key range. On
PostgreSQL a chunk locks its rows with ``SKIP LOCKED``, so several workers can sweep at once; on
SQLite chunks serialize on the writer lock. The call activity stays, with its statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, null, or_, select, type_coerce
from sqlalchemy.orm import Session

from hovor.activities.models import Activity, Queue, Recording, TranscriptSegment
from hovor.audit import log as audit
from hovor.db import new_name, unit_of_work, utcnow
from hovor.jobs import service as jobs
from hovor.jobs.models import QUEUED, RUNNING, Job
from hovor.privacy import compaction
from hovor.privacy.models import LegalHold, Tombstone
from hovor.tenancy.models import Tenant

KIND = "retention"
CHUNK = 1000  # the default of HOVOR_RETENTION_CHUNK
ACTOR = audit.Actor.system("retention")


@dataclass(frozen=True)
class Rule:
    """How long one queue (None: calls in no queue) keeps recordings, and the cutoff it gives."""

    queue: str | None
    days: int
    cutoff: dt.datetime


def rules(session: Session, tenant_id: str, now: dt.datetime) -> list[Rule]:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    ceiling = tenant.recordings_retention_days
    # No ceiling yet (a tenant from before ceilings): only queues with their own retention are swept.
    out = [Rule(None, ceiling, now - dt.timedelta(days=ceiling))] if ceiling else []
    for name, options in session.execute(
        select(Queue.name, Queue.options).where(Queue.tenant_id == tenant_id)
    ):
        own = int((options or {}).get("recordings_retention") or 0)
        days = min(d for d in (own, ceiling or 0) if d) if (own or ceiling) else 0
        if days:
            out.append(Rule(name, days, now - dt.timedelta(days=days)))
    return out


@dataclass(frozen=True)
class Held:
    """What legal holds in force keep (few rows: read once per chunk)."""

    activities: frozenset[str]
    queues: frozenset[str]
    contacts: frozenset[str]
    tickets: frozenset[int]


def held(session: Session, tenant_id: str, now: dt.datetime) -> Held:
    by: dict[str, set[str]] = {}
    for kind, key in session.execute(
        select(LegalHold.object_type, LegalHold.object_key).where(
            LegalHold.tenant_id == tenant_id, or_(LegalHold.until.is_(None), LegalHold.until > now)
        )
    ):
        by.setdefault(kind, set()).add(key)
    return Held(
        frozenset(by.get("activities", ())),
        frozenset(by.get("queues", ())),
        frozenset(by.get("contacts", ())),
        frozenset(int(t) for t in by.get("tickets", ()) if t.isdigit()),
    )


def _expired(tenant_id: str, all_rules: list[Rule], keep: Held) -> Any:
    """Recordings whose call is older than its queue's cutoff and that no hold keeps: one scan of
    the recordings for every queue at once (a query per queue would read them all per queue)."""

    # Cutoffs are bound as the column's own type (UTC, no zone): a zoned literal would be compared in
    # the database session's time zone.
    def at(moment: dt.datetime | None) -> Any:
        return type_coerce(moment, Activity.time.type) if moment is not None else null()

    default = next((r.cutoff for r in all_rules if r.queue is None), None)
    by_queue = [(Activity.queue == r.queue, at(r.cutoff)) for r in all_rules if r.queue is not None]
    cutoff = case(*by_queue, else_=at(default)) if by_queue else at(default)
    # A recording's age: from its call, or from its upload if that was earlier. The call's time can
    # be edited; moving it into the future must not keep a recording past the contract's ceiling.
    age_from = case((Recording.created < Activity.time, Recording.created), else_=Activity.time)
    conditions = [Recording.tenant_id == tenant_id, age_from < cutoff]
    if keep.queues:
        conditions.append(or_(Activity.queue.is_(None), Activity.queue.not_in(sorted(keep.queues))))
    if keep.activities:
        conditions.append(Activity.name.not_in(sorted(keep.activities)))
    if keep.contacts:
        conditions.append(or_(Activity.contact.is_(None), Activity.contact.not_in(sorted(keep.contacts))))
    if keep.tickets:
        conditions.append(or_(Activity.ticket.is_(None), Activity.ticket.not_in(sorted(keep.tickets))))
    return (
        select(Recording.name, Recording.blob, Activity.time, Activity.queue)
        .join(Activity, and_(Activity.tenant_id == Recording.tenant_id, Activity.name == Recording.name))
        .where(*conditions)
    )


def sweep_chunk(
    session: Session,
    files: Any,
    tenant_id: str,
    now: dt.datetime,
    job: str | None = None,
    actor: audit.Actor = ACTOR,
    chunk: int = CHUNK,
    after: str | None = None,
) -> list[tuple[str, str]]:
    """One transaction's worth: up to ``chunk`` expired recordings gone, in key order after
    ``after``. Returns (call, blob) of each.

    Each chunk starts where the last one stopped: starting from the first key every time would walk
    past every recording kept (and, on PostgreSQL, every call) again, chunk after chunk."""
    keep = held(session, tenant_id, now)
    stmt = _expired(tenant_id, rules(session, tenant_id, now), keep).order_by(Recording.name).limit(chunk)
    if after is not None:
        # On both sides of the join (the same key): PostgreSQL's merge join then starts both index
        # scans there instead of walking every call from the first.
        stmt = stmt.where(Recording.name > after, Activity.name > after)
    if session.get_bind().dialect.name == "postgresql":
        # Another worker sweeping the same tenant takes other rows instead of waiting for these.
        stmt = stmt.with_for_update(of=Recording, skip_locked=True)
    found = [(name, blob) for name, blob, _, _ in session.execute(stmt)]
    if not found:
        return found
    names = [name for name, _ in found]
    session.execute(
        delete(TranscriptSegment).where(
            TranscriptSegment.tenant_id == tenant_id, TranscriptSegment.activity.in_(names)
        )
    )
    files.destroy_keys(session, tenant_id, [blob for _, blob in found])
    session.execute(delete(Recording).where(Recording.tenant_id == tenant_id, Recording.name.in_(names)))
    at = utcnow()
    session.execute(
        insert(Tombstone),
        [
            {
                "tenant_id": tenant_id,
                "name": new_name("tombstones"),
                "record_type": "activitiesCallRecordings",
                "record_key": name,
                "action": "retention",
                "fields": ["call_recordings", "call_transcripts"],
                "at": at,
                "job": job,
            }
            for name in names
        ],
    )
    audit.record(
        session,
        tenant_id,
        "privacy.retention.chunk",
        actor,
        "activitiesCallRecordings",
        None,
        {"policy": "recordings", "records": len(names), "first": min(names), "last": max(names), "job": job},
    )
    return found


def sweep(
    factory: Any,
    files: Any,
    tenant_id: str,
    now: dt.datetime | None = None,
    *,
    job: str | None = None,
    actor: audit.Actor = ACTOR,
    after_chunk: Callable[[Session, int], None] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Chunks until nothing is expired. Safe to stop anywhere and to run beside another sweep."""
    now = now or utcnow()
    total = 0
    after: str | None = None
    while True:
        with unit_of_work(factory) as session:
            done = sweep_chunk(session, files, tenant_id, now, job, actor, chunk, after)
            if after_chunk is not None and done:
                after_chunk(session, len(done))
        if not done:
            return total
        # The keys are destroyed (committed); the files and their rows go now, not in a later pass.
        files.finish(factory, tenant_id, [blob for _, blob in done])
        total += len(done)
        after = max(name for name, _ in done)


def preview(session: Session, tenant_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per queue, what the next sweep would remove: how many recordings, the oldest and newest call."""
    now = now or utcnow()
    keep = held(session, tenant_id, now)
    all_rules = rules(session, tenant_id, now)
    sub = _expired(tenant_id, all_rules, keep).subquery()
    if not all_rules:
        return {"policy": "recordings", "count": 0, "queues": []}
    counts = {
        queue: (count, oldest, newest)
        for queue, count, oldest, newest in session.execute(
            select(sub.c.queue, func.count(), func.min(sub.c.time), func.max(sub.c.time)).group_by(
                sub.c.queue
            )
        )
    }
    queues = []
    for rule in all_rules:
        count, oldest, newest = counts.get(rule.queue, (0, None, None))
        queues.append(
            {
                "queue": rule.queue,
                "days": rule.days,
                "cutoff": rule.cutoff,
                "count": count,
                "oldest": oldest,
                "newest": newest,
                "held": rule.queue in keep.queues if rule.queue else False,
            }
        )
    return {"policy": "recordings", "count": sum(q["count"] for q in queues), "queues": queues}


# --- the job -------------------------------------------------------------------------------------
def step_recordings(run: jobs.Run) -> None:
    def count(session: Session, n: int) -> None:
        run.beat(session, removed={"call_recordings": n})
        run.fault("recordings.chunk")

    settings = run.env.settings
    sweep(
        run.env.factory,
        run.env.files,
        run.tenant_id,
        job=run.name,
        after_chunk=count,
        chunk=settings.retention_chunk,
    )


def step_shred(run: jobs.Run) -> None:
    while run.env.files.reap(run.env.factory, 1000):
        with unit_of_work(run.env.factory) as session:
            run.beat(session)


def step_compact(run: jobs.Run) -> None:
    if not (run.progress.get("removed") or {}).get("call_recordings"):
        return
    if run.env.engine.dialect.name != "postgresql":
        compaction.truncate_wal(run.env.engine)
        return
    with unit_of_work(run.env.factory) as session:
        tables = ["call_recordings", "call_transcripts", "blobs"]
        name = compaction.schedule(session, run.tenant_id, tables, run.env.settings)
        run.beat(session, {"compaction": name})


jobs.register(KIND, [("recordings", step_recordings), ("shred", step_shred), ("compact", step_compact)])


def schedule_sweeps(session: Session) -> list[str]:
    """A sweep job for every tenant that has something expired and no sweep waiting or running (the
    hourly scheduler). Nothing expired, no job: an hourly row per tenant would pile up for nothing."""
    busy = set(
        session.scalars(select(Job.tenant_id).where(Job.kind == KIND, Job.state.in_((QUEUED, RUNNING))))
    )
    made = []
    for tenant_id in list(session.scalars(select(Tenant.id).order_by(Tenant.id))):
        if tenant_id not in busy and preview(session, tenant_id)["count"]:
            # A sweep resumes wherever it stopped; workers restarted many times (deployments) must
            # not make it give up, so it has more attempts than a one-off job.
            made.append(jobs.enqueue(session, tenant_id, KIND, {}, created_by=None, max_attempts=50).name)
    return made
