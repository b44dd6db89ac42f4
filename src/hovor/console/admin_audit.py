"""The audit log: its entries newest first, a page at a time, filtered by action (prefix), actor and
days (POSTed, paging too: an actor's name stays out of addresses), an entry's details (addressed by
its sequence number), and the chain's verification (the same check as ``GET auditLog/verify.json``).
Every read is the API's list and read of ``auditLog``, under ``audit:log:read``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.audit.chain import verify_tenant
from hovor.console import writes
from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import needs, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
AUDIT_READ = Permission.AUDIT_LOG_READ
AUDIT_PAGE = 100
MAX_SKIP = 10_000_000


def _day(value: str, end: bool) -> str | None:
    """A date of the filter (YYYY-MM-DD, as the date input sends it) as the API's time bound: its
    midnight, or for the last day the next midnight (``lt``: the day's last second and its
    fractions included)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-" or not writes.digits(value.replace("-", "")):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None  # 2026-02-30
    if end:
        day += dt.timedelta(days=1)
    return f"{day.isoformat()} 00:00:00"


def _audit_filter(form: dict[str, str]) -> list[dict[str, Any]]:
    conditions = []
    if form["action"]:
        conditions.append({"field": "action", "operator": "begins", "value": form["action"]})
    if form["actor"]:
        conditions.append(equal("actor", form["actor"]))
    start, end = _day(form["from"], False), _day(form["to"], True)
    if start:
        conditions.append({"field": "time", "operator": "gte", "value": start})
    if end:
        conditions.append({"field": "time", "operator": "lt", "value": end})
    return conditions


async def _audit(request: Request, chosen: dict[str, str], skip: int = 0) -> Response:
    caller = await require(request, AUDIT_READ)
    params: dict[str, Any] = {"take": AUDIT_PAGE, "skip": skip, "sort": "name", "dir": "desc"}
    conditions = _audit_filter(chosen)
    if conditions:
        params["filter"] = conditions
    try:
        found = await run_in_threadpool(read_list, request, caller, "auditLog", params)
    except ApiError:
        found = {"data": [], "total": 0, "failed": True}
    total = found["total"]
    context = {
        "rows": found["data"],
        "total": total,
        "failed": found.get("failed", False),
        "chosen": chosen,
        "filtered": bool(conditions),
        "skip": skip,
        "first": skip + 1,
        "last": skip + len(found["data"]),
        "newer": max(0, skip - AUDIT_PAGE) if skip > 0 else None,
        "older": skip + AUDIT_PAGE if skip + AUDIT_PAGE < total else None,
    }
    return render(request, "admin_audit.html", context)


FILTERS = {"action": 100, "actor": 320, "from": 10, "to": 10}


@router.get("/admin/audit", openapi_extra=needs(AUDIT_READ))
async def audit_log(request: Request) -> Response:
    return await _audit(request, dict.fromkeys(FILTERS, ""))


@router.post("/admin/audit", openapi_extra=needs(AUDIT_READ))
async def audit_filtered(request: Request) -> Response:
    await require(request, AUDIT_READ)
    form = await request.form()
    chosen = {
        k: v.strip()[:limit] if isinstance(v := form.get(k), str) else "" for k, limit in FILTERS.items()
    }
    raw = form.get("skip")
    # The page to show: entries skipped from the newest (the filters come with it, in the body).
    skip = min(int(raw), MAX_SKIP) if isinstance(raw, str) and writes.digits(raw) else 0
    return await _audit(request, chosen, skip)


def _verify(request: Request, caller: Caller) -> dict[str, Any]:
    state = request.app.state
    # As auditLog/verify.json: one consistent snapshot of the chain and its signed checkpoints.
    with state.snapshot_session_factory() as session:
        report = verify_tenant(session, caller.tenant_id, [state.audit_signer.public_key()])
    return report.as_dict()


@router.get("/admin/audit/verify", openapi_extra=needs(AUDIT_READ))
async def audit_verify(request: Request) -> Response:
    caller = await require(request, AUDIT_READ)
    report = await run_in_threadpool(_verify, request, caller)
    return render(request, "admin_audit_verify.html", {"report": report})


@router.get("/admin/audit/{name}", openapi_extra=needs(AUDIT_READ))
async def audit_entry(request: Request, name: str) -> Response:
    caller = await require(request, AUDIT_READ)
    if not writes.digits(name):
        return not_found(request)
    try:
        entry = await run_in_threadpool(read_one, request, caller, "auditLog", name)
    except NotFound:
        return not_found(request)
    return render(request, "admin_audit_entry.html", {"entry": entry})
