"""``auditLog.json`` in the v6 list conventions, and ``auditLog/verify.json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hovor.api.deps import CurrentCaller, permitted
from hovor.api.envelope import ok
from hovor.api.resource import Ctx, Resource, qf, register
from hovor.audit.chain import verify_tenant
from hovor.audit.models import AuditEntry
from hovor.core.permissions import Permission
from hovor.core.wire import to_wire

router = APIRouter()


def serialize_entry(entry: AuditEntry, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": entry.name,
        "time": to_wire(entry.at, ctx.tz),
        "actor_type": entry.actor_type,
        "actor": entry.actor,
        "ip": entry.ip,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_key": entry.object_key,
        "request_id": entry.request_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


register(
    Resource(
        endpoint="auditLog",
        title="Audit log",
        model=AuditEntry,
        permission="audit:log",
        fields=[
            qf("name", AuditEntry.name, "int"),
            qf("time", AuditEntry.at, "datetime"),
            qf("actor_type", AuditEntry.actor_type),
            qf("actor", AuditEntry.actor),
            qf("ip", AuditEntry.ip),
            qf("action", AuditEntry.action),
            qf("object_type", AuditEntry.object_type),
            qf("object_key", AuditEntry.object_key),
            qf("request_id", AuditEntry.request_id),
            qf("details", AuditEntry.details, filter=False, sort=False),
            qf("prev_hash", AuditEntry.prev_hash, sort=False),
            qf("hash", AuditEntry.hash, sort=False),
        ],
        serialize=serialize_entry,
        key_type=int,
        default_order=[AuditEntry.name.desc()],
    )
)


@router.get(
    "/api/v6/auditLog/verify.json",
    tags=["Audit log"],
    summary="Recompute this tenant's audit chain and check its signed checkpoints",
)
@permitted(Permission.AUDIT_LOG_READ)
def verify(request: Request, caller: CurrentCaller) -> Any:
    state = request.app.state
    # One consistent snapshot of the chain and its checkpoints, read with a server-side cursor.
    with state.snapshot_session_factory() as session:
        report = verify_tenant(session, caller.tenant_id, [state.audit_signer.public_key()])
    return ok(request, report.as_dict())
