"""The administrator's pages: queues with their recording retention (saved through the API's own
update, which refuses a value above the contract's ceiling with its message), and the audit log
with its filters (POSTed: an actor's name stays out of addresses) and the chain's verification
(the same check as ``GET auditLog/verify.json``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.api.deps import write_session
from hovor.api.resource import REGISTRY
from hovor.api.router import update_record
from hovor.audit.chain import verify_tenant
from hovor.console.operator import _equal, _list, _one, not_found
from hovor.console.web import redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.tenancy.models import Tenant

router = APIRouter(include_in_schema=False)
QUEUES_READ = Permission.ADMIN_QUEUES_READ
QUEUES_UPDATE = Permission.ADMIN_QUEUES_UPDATE
AUDIT_READ = Permission.AUDIT_LOG_READ
RETENTION = "options.recordings_retention"
AUDIT_PAGE = 100


def _page(permission: str) -> dict[str, Any]:
    return {"x-permission": str(permission)}


# --- queues ------------------------------------------------------------------------------------
def _ceiling(request: Request, caller: Caller) -> int | None:
    """The contract's ceiling for recordings (days), set by the platform operator; None: none."""
    with request.app.state.read_session_factory() as session:
        tenant = session.get(Tenant, caller.tenant_id)
        return tenant.recordings_retention_days if tenant is not None else None


@router.get("/admin/queues", openapi_extra=_page(QUEUES_READ))
async def queues(request: Request) -> Response:
    caller = await require(request, QUEUES_READ)
    params = {"take": 500, "sort": "name", "dir": "asc"}
    try:
        found = await run_in_threadpool(_list, request, caller, "queues", params)
    except ApiError:
        found = {"data": [], "total": 0, "failed": True}
    ceiling = await run_in_threadpool(_ceiling, request, caller)
    context = {"rows": found["data"], "total": found["total"], "failed": found.get("failed")}
    context["ceiling"] = ceiling
    return render(request, "admin_queues.html", context)


async def _queue_page(
    request: Request, caller: Caller, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    try:
        queue = await run_in_threadpool(_one, request, caller, "queues", name)
    except NotFound:
        return not_found(request)
    ceiling = await run_in_threadpool(_ceiling, request, caller)
    options = queue.get("options") or {}
    values = {"queue": queue, "ceiling": ceiling, "days": options.get("recordings_retention"), **context}
    return render(request, "admin_queue.html", values, status=status)


@router.get("/admin/queues/{name}", openapi_extra=_page(QUEUES_UPDATE))
async def queue_page(request: Request, name: str) -> Response:
    caller = await require(request, QUEUES_UPDATE)
    return await _queue_page(request, caller, name, {})


def _save(request: Request, caller: Caller, name: str, days: Any) -> None:
    session = write_session(request.app.state)
    try:
        body = {"options": {"recordings_retention": days}}
        update_record(request, session, caller, REGISTRY["queues"], name, body)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@router.post("/admin/queues/{name}", openapi_extra=_page(QUEUES_UPDATE))
async def queue_save(request: Request, name: str) -> Response:
    caller = await require(request, QUEUES_UPDATE)
    form = await request.form()
    raw = form.get("recordings_retention")
    given = raw.strip()[:12] if isinstance(raw, str) else ""
    # Empty keeps recordings for the ceiling; anything else goes to the API as typed (a number as
    # a number), so what is refused is refused with the API's own message.
    days: Any = None if not given else int(given) if given.isdigit() else given
    try:
        await run_in_threadpool(_save, request, caller, name, days)
    except NotFound:
        return not_found(request)
    except ValidationFailed as invalid:
        form_errors = invalid.form or {}
        messages = form_errors.get(RETENTION) or [m for ms in form_errors.values() for m in ms]
        context = {"refusal": messages[0] if messages else "", "typed": given}
        return await _queue_page(request, caller, name, context, status=400)
    return redirect(request, "/admin/queues?saved=1")


# --- the audit log -----------------------------------------------------------------------------
def _day(value: str, end: bool) -> str | None:
    """A date of the filter (YYYY-MM-DD, as the date input sends it) as the API's time bound."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-" or not value.replace("-", "").isdigit():
        return None
    return f"{value} 23:59:59" if end else f"{value} 00:00:00"


def _audit_filter(form: dict[str, str]) -> list[dict[str, Any]]:
    conditions = []
    if form["action"]:
        conditions.append({"field": "action", "operator": "begins", "value": form["action"]})
    if form["actor"]:
        conditions.append(_equal("actor", form["actor"]))
    start, end = _day(form["from"], False), _day(form["to"], True)
    if start:
        conditions.append({"field": "time", "operator": "gte", "value": start})
    if end:
        conditions.append({"field": "time", "operator": "lte", "value": end})
    return conditions


async def _audit(request: Request, chosen: dict[str, str], status: int = 200) -> Response:
    caller = await require(request, AUDIT_READ)
    params: dict[str, Any] = {"take": AUDIT_PAGE, "sort": "name", "dir": "desc"}
    conditions = _audit_filter(chosen)
    if conditions:
        params["filter"] = conditions
    try:
        found = await run_in_threadpool(_list, request, caller, "auditLog", params)
    except ApiError:
        found = {"data": [], "total": 0, "failed": True}
    context = {
        "rows": found["data"],
        "total": found["total"],
        "failed": found.get("failed", False),
        "chosen": chosen,
        "filtered": bool(conditions),
    }
    return render(request, "admin_audit.html", context, status=status)


FILTERS = {"action": 100, "actor": 320, "from": 10, "to": 10}


@router.get("/admin/audit", openapi_extra=_page(AUDIT_READ))
async def audit_log(request: Request) -> Response:
    return await _audit(request, dict.fromkeys(FILTERS, ""))


@router.post("/admin/audit", openapi_extra=_page(AUDIT_READ))
async def audit_filtered(request: Request) -> Response:
    await require(request, AUDIT_READ)
    form = await request.form()
    chosen = {
        k: v.strip()[:limit] if isinstance(v := form.get(k), str) else "" for k, limit in FILTERS.items()
    }
    return await _audit(request, chosen)


def _verify(request: Request, caller: Caller) -> dict[str, Any]:
    state = request.app.state
    # As auditLog/verify.json: one consistent snapshot of the chain and its signed checkpoints.
    with state.snapshot_session_factory() as session:
        report = verify_tenant(session, caller.tenant_id, [state.audit_signer.public_key()])
    return report.as_dict()


@router.get("/admin/audit/verify", openapi_extra=_page(AUDIT_READ))
async def audit_verify(request: Request) -> Response:
    caller = await require(request, AUDIT_READ)
    report = await run_in_threadpool(_verify, request, caller)
    return render(request, "admin_audit_verify.html", {"report": report})
