"""Writing the audit log: entries recorded during a unit of work are chained in at its commit.

``record(session, ...)`` queues an entry on the session; a ``before_commit`` listener appends the
queued entries to their tenant's chain inside the same transaction, so a change and its entry
commit together or not at all. Appending takes the chain's lock only at the very end of the
transaction (a transaction-scoped advisory lock on PostgreSQL; on SQLite the writer already holds
the database's only write lock), which keeps every chain linear under concurrent writers while
holding the lock for the shortest possible time.

A session marked with :func:`require` (every request that may write) refuses to commit a change
to any record without at least one entry: a route that forgets to audit fails loudly in the test
suite instead of writing silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Table, bindparam, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from hovor.audit.actions import ACTIONS
from hovor.audit.models import AuditEntry
from hovor.core.db import unit_of_work, utcnow

PLATFORM = "_platform"  # the chain of platform-level events that belong to no tenant
GENESIS = "0" * 64

AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]

_PENDING = "hovor_audit_pending"
_REQUIRED = "hovor_audit_required"
_CHANGED = "hovor_audit_changed"

ACTOR_KINDS = frozenset({"user", "token", "system", "staff", "anonymous"})


class AuditMissing(RuntimeError):
    """A unit of work that must be audited changed records without recording an entry."""


@dataclass(frozen=True)
class Actor:
    kind: str  # user | token | system | staff | anonymous
    id: str | None
    ip: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"unknown actor kind {self.kind}")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls("system", job)


def actor_of(request: Any) -> Actor:
    """The actor of an HTTP request: its authenticated caller (if any), address and request id."""
    caller = getattr(request.state, "caller", None)
    ip = request.client.host if request.client else None
    request_id = getattr(request.state, "request_id", None)
    if caller is None:
        return Actor("anonymous", None, ip, request_id)
    kind = {"api": "token", "entry": "staff"}.get(caller.token_kind, "user")
    return Actor(kind, caller.user, ip, request_id)


@dataclass(frozen=True)
class Event:
    tenant_id: str
    action: str
    actor: Actor
    object_type: str | None
    object_key: str | None
    details: dict[str, Any] | None


def _check_details(value: Any, depth: int = 0) -> None:
    """Details are ids, field names, counts and pseudonyms: plain JSON scalars in small shapes."""
    if depth > 4:
        raise ValueError("audit details nest too deeply")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError("audit detail keys must be strings")
            _check_details(v, depth + 1)
        return
    if isinstance(value, list | tuple):
        for v in value:
            _check_details(v, depth + 1)
        return
    raise ValueError(f"audit details cannot hold {type(value).__name__}")


def record(
    session: Session,
    tenant_id: str,
    action: str,
    actor: Actor,
    object_type: str | None = None,
    object_key: Any = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Queue an entry; it is chained in when ``session`` commits, in the same transaction."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not in the vocabulary")
    _check_details(details)
    key = None if object_key is None else str(object_key)
    event_ = Event(tenant_id, action, actor, object_type, key, dict(details) if details else None)
    session.info.setdefault(_PENDING, []).append(event_)


def record_now(factory: sessionmaker[Session], tenant_id: str, action: str, actor: Actor, **kw: Any) -> None:
    """An entry on its own (a read that matters): its own short write transaction."""
    with unit_of_work(factory) as session:
        record(session, tenant_id, action, actor, **kw)


def require(session: Session) -> None:
    """Refuse to commit changes of this session that were not recorded."""
    session.info[_REQUIRED] = True


# --- the chain ---------------------------------------------------------------------------------
def stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_of(
    tenant_id: str,
    seq: int,
    at: dt.datetime,
    actor_type: str,
    actor: str | None,
    ip: str | None,
    action: str,
    object_type: str | None,
    object_key: str | None,
    request_id: str | None,
    details: Any,
) -> dict[str, Any]:
    # What an entry's hash covers. ``prepare`` builds the same content in pieces, before the
    # chain's lock: a field added here goes there too (the audit tests hash both ways).
    return {
        "tenant": tenant_id,
        "seq": seq,
        "at": stamp(at),
        "actor_type": actor_type,
        "actor": actor,
        "ip": ip,
        "action": action,
        "object_type": object_type,
        "object_key": object_key,
        "request_id": request_id,
        "details": details,
    }


def chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


def lock_key(tenant_id: str) -> int:
    return int.from_bytes(
        hashlib.sha256(b"hovor-audit:" + tenant_id.encode()).digest()[:8], "big", signed=True
    )


# Built once: the statements of every append (their SQLAlchemy cache keys are memoized on them).
_HEAD = (
    select(AUDIT_TABLE.c.seq, AUDIT_TABLE.c.hash)
    .where(AUDIT_TABLE.c.tenant_id == bindparam("tenant"))
    .order_by(AUDIT_TABLE.c.seq.desc())
    .limit(1)
)
_INSERT = insert(AUDIT_TABLE)
_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


def head(session: Session, tenant_id: str) -> tuple[int, str]:
    return _head(session.connection(), tenant_id)


def _head(conn: Connection, tenant_id: str) -> tuple[int, str]:
    # On the connection itself: asking the session for it again costs more than the read.
    row = conn.execute(_HEAD, {"tenant": tenant_id}).one_or_none()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


@dataclass
class _Prepared:
    """An entry ready to be chained: its row, and its canonical JSON in the pieces around the
    values known only under the chain's lock (its time, its sequence number).

    The canonical form sorts its keys: ``action``, ``actor``, ``actor_type`` come before ``at``;
    ``details`` … ``request_id`` between ``at`` and ``seq``; ``tenant`` last. The content hashed is
    ``before + at + between + seq + after``, the same bytes as :func:`canonical` of
    :func:`content_of` (which verification still uses)."""

    row: dict[str, Any]
    before: bytes
    between: bytes
    after: bytes

    def chain(self, seq: int, prev: str, at: dt.datetime, stamped: bytes) -> str:
        row = self.row
        row["seq"], row["at"], row["prev_hash"] = seq, at, prev
        content = (self.before, stamped, self.between, str(seq).encode(), self.after)
        row["hash"] = digest = hashlib.sha256(b"".join((prev.encode(), b"\n", *content))).hexdigest()
        return digest


def prepare(ev: Event) -> _Prepared:
    """Everything of an entry that does not depend on its place in the chain."""
    actor = ev.actor
    row = {
        "tenant_id": ev.tenant_id,
        "actor_type": actor.kind,
        "actor": actor.id,
        "ip": actor.ip,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_key": ev.object_key,
        "request_id": actor.request_id,
        "details": ev.details,
    }
    first = canonical({"action": ev.action, "actor": actor.id, "actor_type": actor.kind})
    rest = canonical(
        {
            "details": ev.details,
            "ip": actor.ip,
            "object_key": ev.object_key,
            "object_type": ev.object_type,
            "request_id": actor.request_id,
        }
    )
    return _Prepared(
        row,
        first[:-1] + b',"at":',
        b"," + rest[1:-1] + b',"seq":',
        b',"tenant":' + canonical(ev.tenant_id) + b"}",
    )


def append(session: Session, events: Sequence[Event]) -> None:
    """Chain ``events`` in, tenant by tenant (in a fixed order, so two writers never deadlock).

    What does not depend on the chain's head (the rows, most of their canonical JSON) is built
    before the lock; under it are only the head's read, the time, a hash per entry and the
    insert."""
    conn = session.connection()
    by_tenant: dict[str, list[_Prepared]] = {}
    for ev in events:
        by_tenant.setdefault(ev.tenant_id, []).append(prepare(ev))
    postgres = conn.dialect.name == "postgresql"
    for tenant_id in sorted(by_tenant):
        entries = by_tenant[tenant_id]
        if postgres:
            conn.execute(_LOCK, {"key": lock_key(tenant_id)})
        seq, prev = _head(conn, tenant_id)
        at = utcnow()  # under the lock: times follow the chain's order
        stamped = canonical(stamp(at))
        for entry in entries:
            seq += 1
            prev = entry.chain(seq, prev, at, stamped)
        conn.execute(_INSERT, [e.row for e in entries])


# --- session hooks -----------------------------------------------------------------------------
def _exempt(obj: Any) -> bool:
    return bool(getattr(type(obj), "__audit_exempt__", False))


@event.listens_for(Session, "after_flush")
def _track(session: Session, _flush_context: Any) -> None:
    if not session.info.get(_REQUIRED) or session.info.get(_CHANGED):
        return
    changed = [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))]
    if any(not _exempt(o) for o in changed):
        session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.info.get(_REQUIRED):
        session.flush()
    pending: list[Event] = session.info.pop(_PENDING, [])
    if session.info.pop(_CHANGED, False) and not pending:
        raise AuditMissing("a change was about to commit without an audit entry")
    if pending:
        append(session, pending)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_CHANGED, None)
