"""Retention that runs by itself: call recordings older than their queue's retention are deleted.

A tenant's ceiling (``tenants.recordings_retention_days``) is the platform operator's, set with the
contract; a queue may keep recordings for less (``options.recordings_retention``; 0 or empty means
the ceiling; more than the ceiling is refused when the queue is saved, and a ceiling lowered later
wins at sweep time). The age of a recording is the age of its call.

Every other kind of record follows its retention policy (:mod:`hovor.privacy.policies`): the same
job sweeps them after the recordings, kind by kind, and then the audit log's oldest entries
(:mod:`hovor.audit.prune`).

The sweep is a job (``retention``): chunks of :data:`CHUNK` recordings, each one transaction that
selects what is expired *now* (so every record is re-checked when it is deleted: its age, its
queue's retention, legal holds), deletes the transcript, destroys the blob's key, deletes the
recording row, writes a tombstone per call and one audit entry with counts and the key range. On
PostgreSQL a chunk locks its rows with ``SKIP LOCKED``, so several workers can sweep at once; on
SQLite chunks serialize on the writer lock. The call activity stays, with its statistics.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, null, select
from sqlalchemy.orm import Session

from hovor.activities.models import Activity, Queue, Recording, TranscriptSegment
from hovor.audit import log as audit
from hovor.audit import prune
from hovor.audit.keys import Pseudonyms
from hovor.core.db import new_name, one_of, unit_of_work, utcnow
from hovor.index import search
from hovor.index.models import SearchEntry
from hovor.jobs import service as jobs
from hovor.jobs.models import QUEUED, RUNNING, Job
from hovor.privacy import compaction, policies
from hovor.privacy.erasure import CHILDREN, MODELS
from hovor.privacy.holds import Held, held
from hovor.privacy.kinds import AUDIT_LOG, CHANNEL_TYPES, at, not_in
from hovor.privacy.models import Tombstone
from hovor.tenancy.models import Tenant

KIND = "retention"
log = logging.getLogger(__name__)
CHUNK = 1000  # the default of HOVOR_RETENTION_CHUNK
ACTOR = audit.Actor.system("retention")


@dataclass(frozen=True)
class QueueCutoff:
    """How long one queue (None: calls in no queue) keeps recordings, and the cutoff it gives."""

    queue: str | None
    days: int
    cutoff: dt.datetime


def rules(session: Session, tenant_id: str, now: dt.datetime) -> list[QueueCutoff]:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    # The recordings' ceiling, bounded by the contract's retention when that is shorter.
    bounds = [d for d in (tenant.recordings_retention_days, tenant.retention_days) if d]
    ceiling = min(bounds) if bounds else None
    # No ceiling yet (a tenant from before ceilings): only queues with their own retention are swept.
    out = [QueueCutoff(None, ceiling, now - dt.timedelta(days=ceiling))] if ceiling else []
    for name, options in session.execute(
        select(Queue.name, Queue.options).where(Queue.tenant_id == tenant_id)
    ):
        own = int((options or {}).get("recordings_retention") or 0)
        days = min(d for d in (own, ceiling or 0) if d) if (own or ceiling) else 0
        if days:
            out.append(QueueCutoff(name, days, now - dt.timedelta(days=days)))
    return out


def _expired(tenant_id: str, all_rules: list[QueueCutoff], keep: Held) -> Any:
    """Recordings whose call is older than its queue's cutoff and that no hold keeps: one scan of
    the recordings for every queue at once (a query per queue would read them all per queue)."""

    # Cutoffs are bound as the column's own type (UTC, no zone): a zoned literal would be compared in
    # the database session's time zone.
    def bound(moment: dt.datetime | None) -> Any:
        return at(Activity.time, moment) if moment is not None else null()

    default = next((r.cutoff for r in all_rules if r.queue is None), None)
    by_queue = [(Activity.queue == r.queue, bound(r.cutoff)) for r in all_rules if r.queue is not None]
    cutoff = case(*by_queue, else_=bound(default)) if by_queue else bound(default)
    # A recording's age: from its call, or from its upload if that was earlier. The call's time can
    # be edited; moving it into the future must not keep a recording past the contract's ceiling.
    age_from = case((Recording.created < Activity.time, Recording.created), else_=Activity.time)
    conditions = [
        c
        for c in (
            Recording.tenant_id == tenant_id,
            age_from < cutoff,
            not_in(Activity.queue, keep.of("queues")),
            not_in(Activity.name, keep.of("activities")),
            not_in(Activity.contact, keep.of("contacts")),
            not_in(Activity.ticket, keep.of("tickets"), numeric=True),
        )
        if c is not None
    ]
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
) -> tuple[list[tuple[str, str]], str | None]:
    """One transaction's worth: the next ``chunk`` recordings in key order after ``after`` are
    looked at, and those expired go. Returns (call, blob) of each removed, and the last key looked
    at (None: there are no more).

    The candidates are taken from the recordings alone, then checked against their calls by key:
    joining first made PostgreSQL walk the whole calls index (a merge join) to find a thousand
    recordings, a second and more per chunk on a million calls."""
    candidates = list(
        session.scalars(
            select(Recording.name)
            .where(Recording.tenant_id == tenant_id, *([Recording.name > after] if after is not None else []))
            .order_by(Recording.name)
            .limit(chunk)
        )
    )
    if not candidates:
        return [], None
    keep = held(session, tenant_id, now)
    # No ORDER BY: with one, SQLite walks every recording of the tenant in key order instead of
    # looking up these thousand.
    stmt = _expired(tenant_id, rules(session, tenant_id, now), keep).where(
        one_of(Recording.name, candidates), one_of(Activity.name, candidates)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Another worker sweeping the same tenant takes other rows instead of waiting for these.
        stmt = stmt.with_for_update(of=Recording, skip_locked=True)
    found = sorted((name, blob) for name, blob, _, _ in session.execute(stmt))
    if not found:
        return found, candidates[-1]
    names = [name for name, _ in found]
    session.execute(
        delete(TranscriptSegment).where(
            TranscriptSegment.tenant_id == tenant_id, one_of(TranscriptSegment.activity, names)
        )
    )
    files.destroy_keys(session, tenant_id, [blob for _, blob in found])
    session.execute(delete(Recording).where(Recording.tenant_id == tenant_id, one_of(Recording.name, names)))
    removed_at = utcnow()
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
                "at": removed_at,
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
    return found, candidates[-1]


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
            done, after = sweep_chunk(session, files, tenant_id, now, job, actor, chunk, after)
            if after_chunk is not None and done:
                after_chunk(session, len(done))
        if done:
            # The keys are destroyed (committed); the files and their rows go now, not in a later pass.
            files.finish(factory, tenant_id, [blob for _, blob in done])
            total += len(done)
        if after is None:
            return total


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
                "held": rule.queue in keep.of("queues") if rule.queue else False,
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


def step_policies(run: jobs.Run) -> None:
    """Every other kind of record, by its policy (the contract's retention where it has none)."""
    settings = run.env.settings
    with run.env.reader() as reader:
        todo = [
            p for p in policies.effective(reader, run.tenant_id, settings, utcnow()) if p.name != AUDIT_LOG
        ]
    for policy in todo:

        def count(session: Session, n: int, name: str = policy.name) -> None:
            run.beat(session, policies={name: n})
            run.fault("policies.chunk")

        policies.sweep_kind(
            run.env.factory,
            run.env.files,
            run.tenant_id,
            policy,
            job=run.name,
            chunk=settings.retention_chunk,
            after_chunk=count,
            pseudonyms=Pseudonyms(settings.secret_key),
        )


def step_audit(run: jobs.Run) -> None:
    """The audit log's oldest entries, through a signed checkpoint older than its retention."""
    with run.env.reader() as reader:
        policy = next(
            (
                p
                for p in policies.effective(reader, run.tenant_id, run.env.settings, utcnow())
                if p.name == AUDIT_LOG
            ),
            None,
        )
    if policy is None:
        return

    def count(session: Session, n: int) -> None:
        run.beat(session, policies={AUDIT_LOG: n})
        run.fault("audit.chunk")

    try:
        prune.prune(
            run.env.factory,
            run.tenant_id,
            policy.cutoff,
            ACTOR,
            run.env.signer,
            job=run.name,
            after_chunk=count,
        )
    except prune.PruneRefused:
        # A broken chain is for people to look into (hovor audit verify); the rest of the sweep stands.
        log.warning("audit log of %s not pruned: its chain does not verify", run.tenant_id)
        with unit_of_work(run.env.factory) as session:
            run.beat(session, {"audit_prune": "refused: the chain does not verify"})


def step_shred(run: jobs.Run) -> None:
    while run.env.files.reap(run.env.factory, 1000):
        with unit_of_work(run.env.factory) as session:
            run.beat(session)


# The tables each policy's sweep rewrites rows of (for the compaction on PostgreSQL).
TABLES = {
    "call_recordings": ["call_recordings", "call_transcripts", "blobs"],
    "transcripts": ["call_transcripts"],
    "attachments": ["attachments", "blobs"],
    "tickets": ["tickets", "activities", "attachments", "identifiers", "blobs"],
    "contacts": [
        "crm_contacts",
        "activities",
        "tickets",
        "campaign_records",
        "crm_records",
        "identifiers",
        "blobs",
    ],
    "campaignsRecords": ["campaign_records", "identifiers"],
    "crmRecords": ["crm_records", "identifiers"],
    "pausesTaken": ["pauses_taken"],
    "jobs": ["jobs"],
    AUDIT_LOG: ["audit_entries"],
}


def _activity_tables() -> list[str]:
    """An activity's own table and those of the rows that go with it (erasure's declaration), and
    the identifier index and blobs they touch."""
    tables = [MODELS["activities"].__tablename__, *(m.__tablename__ for m, _ in CHILDREN["activities"])]
    return [*tables, "identifiers", "blobs"]


def touched_tables(progress: dict[str, Any]) -> list[str]:
    done = {
        **{k: v for k, v in (progress.get("policies") or {}).items() if v},
        **{k: v for k, v in (progress.get("removed") or {}).items() if v},
    }
    tables: set[str] = set()
    for name in done:
        tables |= set(_activity_tables() if name in CHANNEL_TYPES else TABLES.get(name, []))
    if "activities" in tables:
        # An activity anonymized with a contact or a ticket takes its channel item, messages and
        # transcript with it (erasure's declaration): their old row versions are rewritten too.
        tables |= set(_activity_tables())
    searched = {model.__tablename__ for model in search.SEARCHABLE}  # type: ignore[attr-defined]
    if tables & searched:  # their records' search entries were rewritten or dropped with them
        tables.add(SearchEntry.__tablename__)
    return sorted(tables)


def step_compact(run: jobs.Run) -> None:
    tables = touched_tables(run.progress)
    if not tables:
        return
    if run.env.engine.dialect.name != "postgresql":
        compaction.compact_sqlite(run.env.engine)
        return
    with unit_of_work(run.env.factory) as session:
        name = compaction.schedule(session, run.tenant_id, tables, run.env.settings)
        run.beat(session, {"compaction": name})


jobs.register(
    KIND,
    [
        ("recordings", step_recordings),
        ("policies", step_policies),
        ("audit", step_audit),
        ("shred", step_shred),
        ("compact", step_compact),
    ],
)


def preview_all(
    session: Session, tenant_id: str, settings: Any, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """What the next sweep would remove: the recordings (per queue), then every other policy."""
    now = now or utcnow()
    return [preview(session, tenant_id, now), *policies.preview(session, tenant_id, settings, now)]


def due(session: Session, tenant_id: str, settings: Any) -> bool:
    return bool(preview(session, tenant_id)["count"]) or policies.any_due(session, tenant_id, settings)


def schedule_sweeps(session: Session, settings: Any) -> list[str]:
    """A sweep job for every tenant that has something expired and no sweep waiting or running (the
    hourly scheduler). Nothing expired, no job: an hourly row per tenant would pile up for nothing."""
    busy = set(
        session.scalars(select(Job.tenant_id).where(Job.kind == KIND, Job.state.in_((QUEUED, RUNNING))))
    )
    made = []
    for tenant_id in list(session.scalars(select(Tenant.id).order_by(Tenant.id))):
        if tenant_id not in busy and due(session, tenant_id, settings):
            # A sweep resumes wherever it stopped; workers restarted many times (deployments) must
            # not make it give up, so it has more attempts than a one-off job.
            made.append(jobs.enqueue(session, tenant_id, KIND, {}, created_by=None, max_attempts=50).name)
    return made


def request_sweep(session: Session, tenant_id: str, created_by: str) -> tuple[Job, bool]:
    """A sweep of the tenant now (an administrator's button), in the caller's transaction: the one
    waiting or running if there is one (two sweeps of a tenant would race for the same rows), else
    a new job. Whether it is new."""
    if session.get_bind().dialect.name == "postgresql":
        # Two requests at once must not both find none and both enqueue (on SQLite the write
        # transaction already holds the database's one write lock).
        key = audit.lock_key(f"{tenant_id}:{KIND}")
        session.execute(select(func.pg_advisory_xact_lock(key)))
    running = session.scalar(
        select(Job)
        .where(Job.tenant_id == tenant_id, Job.kind == KIND, Job.state.in_((QUEUED, RUNNING)))
        .order_by(Job.created)
        .limit(1)
    )
    if running is not None:
        return running, False
    return jobs.enqueue(session, tenant_id, KIND, {}, created_by=created_by, max_attempts=50), True
