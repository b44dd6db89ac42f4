"""Signed checkpoints of the chains, their export, and verification.

A checkpoint signs (tenant, sequence, head hash, time) with the platform's Ed25519 key. Kept in
the database they let ``verify`` prove the chain up to them; exported and held elsewhere they also
expose a chain that was truncated or rewritten wholesale with fresh hashes, which no check inside
the database alone can see.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.audit.keys import decode_public, encode_public, key_id
from hovor.audit.log import GENESIS, canonical, chain_hash, content_of, head, stamp
from hovor.audit.markers import markers
from hovor.audit.models import AuditCheckpoint, AuditEntry
from hovor.core.db import utcnow


def chain_entries(session: Session, tenant_id: str) -> Iterator[AuditEntry]:
    """A tenant's entries in sequence order, streamed (a server-side cursor on PostgreSQL)."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id)
        .order_by(AuditEntry.name)
        .execution_options(yield_per=2000)
    )
    yield from session.scalars(stmt)


def entry_content(entry: AuditEntry) -> dict[str, Any]:
    """What an entry's hash covers, as stored."""
    return content_of(
        entry.tenant_id,
        int(entry.name),
        entry.at,
        entry.actor_type,
        entry.actor,
        entry.ip,
        entry.action,
        entry.object_type,
        entry.object_key,
        entry.request_id,
        entry.details,
    )


def _message(tenant_id: str, seq: int, hash_: str, at: str) -> bytes:
    return canonical({"tenant": tenant_id, "seq": seq, "hash": hash_, "at": at})


def tenants_with_entries(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.tenant_id).distinct().order_by(AuditEntry.tenant_id)))


def sign_checkpoints(
    session: Session, key: Ed25519PrivateKey, tenant_id: str | None = None
) -> list[AuditCheckpoint]:
    """A checkpoint of every chain (or one) whose head moved since its last checkpoint."""
    made = []
    kid = key_id(key.public_key())
    for tid in [tenant_id] if tenant_id else tenants_with_entries(session):
        seq, hash_ = head(session, tid)
        last = session.scalar(select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.tenant_id == tid))
        if seq == 0 or (last is not None and last >= seq):
            continue
        at = utcnow()
        signature = key.sign(_message(tid, seq, hash_, stamp(at)))
        cp = AuditCheckpoint(
            tenant_id=tid,
            seq=seq,
            hash=hash_,
            at=at,
            key_id=kid,
            signature=base64.b64encode(signature).decode(),
        )
        session.add(cp)
        made.append(cp)
    session.flush()
    return made


def export_checkpoints(
    session: Session, public: Ed25519PublicKey, tenant_id: str | None = None
) -> Iterator[dict[str, Any]]:
    """Checkpoints as self-contained JSON objects (each carries the public key that verifies it)."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.tenant_id, AuditCheckpoint.seq)
    if tenant_id:
        stmt = stmt.where(AuditCheckpoint.tenant_id == tenant_id)
    encoded = encode_public(public)
    kid = key_id(public)
    for cp in session.scalars(stmt):
        yield {
            "tenant": cp.tenant_id,
            "seq": cp.seq,
            "hash": cp.hash,
            "at": stamp(cp.at),
            "key_id": cp.key_id,
            "public_key": encoded if cp.key_id == kid else None,
            "signature": cp.signature,
        }


@dataclass
class Broken:
    seq: int
    reason: str


@dataclass
class TenantReport:
    tenant: str
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    pruned_through: int = 0
    checkpoints: int = 0
    exported_checkpoints: int = 0
    problems: list[Broken] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Broken | None:
        return min(self.problems, key=lambda b: b.seq) if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        first = self.first_broken
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "pruned_through": self.pruned_through,
            "checkpoints": self.checkpoints,
            "exported_checkpoints": self.exported_checkpoints,
            "first_broken": asdict(first) if first else None,
            "problems": [asdict(p) for p in self.problems],
        }


@dataclass(frozen=True)
class Checkpoint:
    tenant: str
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str
    public_key: str | None = None


def read_exported(lines: Iterable[str]) -> list[Checkpoint]:
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out.append(
                Checkpoint(
                    str(data["tenant"]),
                    int(data["seq"]),
                    str(data["hash"]),
                    str(data["at"]),
                    str(data["key_id"]),
                    str(data["signature"]),
                    data.get("public_key"),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"line {n} of the checkpoint file is not a checkpoint") from None
    return out


def _signature_ok(cp: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(cp.key_id)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(cp.signature), _message(cp.tenant, cp.seq, cp.hash, cp.at))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_tenant(
    session: Session,
    tenant_id: str,
    trusted: Iterable[Ed25519PublicKey],
    exported: Iterable[Checkpoint] = (),
    progress: Callable[[int], None] | None = None,
) -> TenantReport:
    """Recompute the chain of ``tenant_id`` and check every checkpoint against it."""
    report = TenantReport(tenant_id)
    stored = [
        Checkpoint(c.tenant_id, c.seq, c.hash, stamp(c.at), c.key_id, c.signature)
        for c in session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.tenant_id == tenant_id))
    ]
    outside = [c for c in exported if c.tenant == tenant_id]
    keys = _trusted_keys(trusted, outside)
    report.checkpoints, report.exported_checkpoints = len(stored), len(outside)
    # A chain whose oldest entries were removed by its retention (hovor.audit.prune) starts after
    # entry 1: the prune's marker, later in the chain, names the last entry removed and its hash.
    # Only markers signed by a trusted key count: a well-hashed marker is easy to append.
    walk = _Walk(report, dict(markers(session, tenant_id, keys)), {c.seq for c in [*stored, *outside]})
    for entry in chain_entries(session, tenant_id):
        walk.step(entry)
        if progress and report.entries % 2000 == 0:
            progress(2000)
    if progress:
        progress(report.entries % 2000)
    for origin, checkpoints in (("stored", stored), ("exported", outside)):
        for cp in sorted(checkpoints, key=lambda c: c.seq):
            if cp.seq < walk.first_kept and cp.seq <= report.pruned_through:
                continue  # its entries were removed by the log's retention
            problem = _checkpoint_problem(cp, origin, keys, report.head_seq, walk.hashes)
            if problem is not None:
                report.problems.append(problem)
    return report


def _trusted_keys(trusted: Iterable[Ed25519PublicKey], outside: list[Checkpoint]) -> dict[str, Any]:
    keys = {key_id(k): k for k in trusted}
    for cp in outside:
        # An exported checkpoint carries its public key; it was made outside the attacker's reach.
        if cp.public_key and cp.key_id not in keys:
            try:
                key = decode_public(cp.public_key)
            except ValueError:
                continue
            if key_id(key) == cp.key_id:
                keys[cp.key_id] = key
    return keys


class _Walk:
    """The chain read in order: each entry must follow the one before (or the prune's anchor)."""

    def __init__(self, report: TenantReport, anchors: dict[int, str], wanted: set[int]) -> None:
        self.report, self.anchors, self.wanted = report, anchors, wanted
        report.pruned_through = max(anchors, default=0)
        self.hashes: dict[int, str] = {}
        self.expected, self.prev, self.first_kept, self.broken = 1, GENESIS, 1, False

    def _break(self, seq: int, why: str) -> None:
        self.report.problems.append(Broken(seq, why))
        self.broken = True

    def _first(self, seq: int, prev_hash: str) -> bool:
        """The first entry stored; False when it cannot follow the pruned ones."""
        self.first_kept = seq
        if 1 < seq <= self.report.pruned_through + 1:
            # Its link to the removed one is taken as stored, and checked against the anchor
            # (here, or at the last entry the prune covers).
            self.expected, self.prev = seq, prev_hash
            if seq - 1 in self.anchors and self.anchors[seq - 1] != prev_hash:
                self._break(seq, "the first entry kept does not follow the pruned ones")
                return False
        elif seq > 1:
            self.expected = self.report.pruned_through + 1
        return True

    def step(self, entry: AuditEntry) -> None:
        report = self.report
        report.entries += 1
        seq = int(entry.name)
        if seq in self.wanted:
            self.hashes[seq] = entry.hash
        report.head_seq, report.head_hash = seq, entry.hash
        if self.broken or (report.entries == 1 and not self._first(seq, entry.prev_hash)):
            return
        if seq != self.expected:
            self._break(self.expected, f"entry {self.expected} is missing (the next entry is {seq})")
        elif entry.prev_hash != self.prev:
            self._break(seq, "the link to the previous entry is broken")
        elif chain_hash(self.prev, entry_content(entry)) != entry.hash:
            self._break(seq, "the entry does not match its hash (it was altered)")
        self.expected, self.prev = seq + 1, entry.hash
        if seq in self.anchors and self.anchors[seq] != entry.hash:
            self._break(seq, "the entry differs from the one its prune recorded")


def _checkpoint_problem(
    cp: Checkpoint, origin: str, keys: dict[str, Any], head_seq: int, hashes: dict[int, str]
) -> Broken | None:
    if not _signature_ok(cp, keys):
        return Broken(cp.seq, f"the {origin} checkpoint at {cp.seq} has no valid signature")
    if cp.seq > head_seq:
        return Broken(
            head_seq + 1,
            f"the chain ends at {head_seq} but a {origin} checkpoint signed entry {cp.seq}"
            " (entries were removed from its end)",
        )
    if hashes.get(cp.seq) != cp.hash:
        return Broken(cp.seq, f"entry {cp.seq} differs from the {origin} signed checkpoint (rewritten chain)")
    return None
