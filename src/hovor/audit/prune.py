"""Retention of the audit log: the oldest entries go, and the chain stays verifiable.

Entries can only go up to a signed checkpoint (``audit_checkpoints``) whose entry is older than the
cutoff, and only when the whole chain verifies first (a prune must not bury earlier tampering):
the prefix through that entry is removed, the checkpoint stays. Before any entry goes, an
``audit.log.prune`` entry is appended to the chain naming the last entry removed (``through``), its
hash (``anchor``), and an Ed25519 signature over both with the audit signing key; the deletion then
runs in chunks from the oldest entry up. Verification (:func:`hovor.audit.chain.verify_tenant`)
accepts a chain that starts after entry 1 only when a marker with a valid signature covers the gap
(anyone who can write the database can append a well-hashed marker; only the key holder can sign
one), and checks what remains up to ``through`` against the anchor. A prune killed halfway resumes
from its marker.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, type_coerce
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit.chain import verify_tenant
from hovor.audit.keys import key_id
from hovor.audit.markers import ACTION, markers, message
from hovor.audit.models import AuditCheckpoint, AuditEntry
from hovor.core.db import unit_of_work


class PruneRefused(Exception):
    """The chain does not verify: nothing is pruned until it is looked into."""


def first_seq(session: Session, tenant_id: str) -> int | None:
    return session.scalar(select(func.min(AuditEntry.name)).where(AuditEntry.tenant_id == tenant_id))


def prunable_through(session: Session, tenant_id: str, cutoff: dt.datetime) -> int | None:
    """The newest checkpointed entry older than ``cutoff`` that is still stored, or None."""
    first = first_seq(session, tenant_id)
    if first is None:
        return None
    return session.scalar(
        select(func.max(AuditCheckpoint.seq))
        .join(
            AuditEntry,
            (AuditEntry.tenant_id == AuditCheckpoint.tenant_id) & (AuditEntry.name == AuditCheckpoint.seq),
        )
        .where(
            AuditCheckpoint.tenant_id == tenant_id,
            AuditCheckpoint.seq >= first,
            AuditEntry.at < type_coerce(cutoff, AuditEntry.at.type),
        )
    )


def preview(session: Session, tenant_id: str, cutoff: dt.datetime) -> tuple[int, Any, Any]:
    """How many entries the next prune removes, the oldest and newest time."""
    through = _pending(session, tenant_id) or prunable_through(session, tenant_id, cutoff)
    if through is None:
        return 0, None, None
    count, oldest, newest = session.execute(
        select(func.count(), func.min(AuditEntry.at), func.max(AuditEntry.at)).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.name <= through
        )
    ).one()
    return int(count or 0), oldest, newest


def _pending(session: Session, tenant_id: str) -> int | None:
    """A prune recorded but not finished (killed halfway): its ``through``."""
    first = first_seq(session, tenant_id)
    for through, _ in reversed(markers(session, tenant_id)):
        if first is not None and first <= through:
            return through
    return None


def prune(
    factory: Any,
    tenant_id: str,
    cutoff: dt.datetime,
    actor: audit.Actor,
    signer: Any,
    *,
    job: str | None = None,
    chunk: int = 5000,
    after_chunk: Callable[[Session, int], None] | None = None,
) -> int:
    """Removes the entries older than ``cutoff`` up to the newest checkpoint among them. Returns how
    many went. Refuses (:class:`PruneRefused`) while the chain does not verify."""
    with unit_of_work(factory) as session:
        through = _pending(session, tenant_id)
        if through is None:
            through = prunable_through(session, tenant_id, cutoff)
            if through is None:
                return 0
            report = verify_tenant(session, tenant_id, [signer.public_key()])
            if not report.ok:
                raise PruneRefused(f"the audit chain of {tenant_id} is broken at {report.first_broken}")
            checkpoint = session.get(AuditCheckpoint, (tenant_id, through))
            anchor = session.scalar(
                select(AuditEntry.hash).where(AuditEntry.tenant_id == tenant_id, AuditEntry.name == through)
            )
            if checkpoint is None or anchor != checkpoint.hash:
                raise PruneRefused(f"entry {through} differs from its signed checkpoint")
            first = first_seq(session, tenant_id)
            assert first is not None and anchor is not None
            signature = base64.b64encode(signer.sign(message(tenant_id, first, through, anchor))).decode()
            audit.record(
                session,
                tenant_id,
                ACTION,
                actor,
                "auditLog",
                None,
                {
                    "first": first,
                    "through": through,
                    "anchor": anchor,
                    "key_id": key_id(signer.public_key()),
                    "signature": signature,
                    "job": job,
                },
            )
    removed = 0
    while True:
        with unit_of_work(factory) as session:
            first = first_seq(session, tenant_id)
            if first is None or first > through:
                return removed
            last = min(through, first + chunk - 1)
            result = session.execute(
                delete(AuditEntry).where(
                    AuditEntry.tenant_id == tenant_id, AuditEntry.name >= first, AuditEntry.name <= last
                )
            )
            n = int(getattr(result, "rowcount", 0) or 0)
            removed += n
            if after_chunk is not None:
                after_chunk(session, n)
