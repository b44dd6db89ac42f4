"""Retention policies for every kind of record besides call recordings.

A tenant's policy for a kind of record says after how many days its records go and how: ``delete``
(the record with what it holds, as a plain delete does) or ``anonymize`` (as erasure does: personal
data cleared or replaced by the registry's strategy, blobs shredded, statistics kept). The
contract's retention (``tenants.retention_days``, the platform operator's) bounds every policy, and
a kind without a policy is kept for the contract's retention with its default action. The audit
log's own retention has a platform-wide floor (``HOVOR_AUDIT_RETENTION_FLOOR_DAYS``) that neither a
policy nor the contract goes below: it is the controller's evidence of what was done with the data.

What each kind of record sweeps and how is in :mod:`hovor.privacy.kinds`; this module decides which
policies apply (:func:`effective`), refuses those that cannot be (:func:`check_policy`) and sweeps
them: :func:`sweep_kind` runs one kind in chunks, one transaction each, with one audit entry per
chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit.prune import preview as audit_preview
from hovor.audit.prune import prunable_through
from hovor.auth.service import system_caller
from hovor.core.db import unit_of_work, utcnow
from hovor.core.errors import ValidationFailed
from hovor.files.service import Files
from hovor.privacy.holds import Held, held
from hovor.privacy.kinds import AUDIT_LOG, DELETE, KINDS, NAMES, ORDER, SweepChunk, SweptKind
from hovor.privacy.models import RetentionPolicy
from hovor.tenancy.models import Tenant
from hovor.tenancy.service import MAX_RETENTION_DAYS

ACTOR = audit.Actor.system("retention")


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
def _doomed(session: Session, kind: SweptKind, policy: Effective, keep: Held, obj: Any) -> bool:
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
    files: Files,
    tenant_id: str,
    policy: Effective,
    *,
    job: str | None,
    actor: audit.Actor,
    chunk: int,
    after: Any,
    now: dt.datetime,
    pseudonyms: Callable[[str, str], str] | None = None,
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
    caller = system_caller(session, tenant_id, user="retention", permissions=frozenset())
    ctx = SweepChunk(session, files, tenant_id, job, caller, pseudonyms)
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
    files: Files,
    tenant_id: str,
    policy: Effective,
    *,
    job: str | None = None,
    actor: audit.Actor = ACTOR,
    chunk: int = 1000,
    now: dt.datetime | None = None,
    after_chunk: Callable[[Session, int], None] | None = None,
    pseudonyms: Callable[[str, str], str] | None = None,
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
                session,
                files,
                tenant_id,
                policy,
                job=job,
                actor=actor,
                chunk=size,
                after=after,
                now=now,
                pseudonyms=pseudonyms,
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
