"""Queues with their recording retention, saved through the API's own update, which refuses a
value above the contract's ceiling with its message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.api.resource import REGISTRY
from hovor.api.router import update_record
from hovor.console import writes
from hovor.console.reads import not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.tenancy.models import Tenant

router = APIRouter(include_in_schema=False)
QUEUES_READ = Permission.ADMIN_QUEUES_READ
QUEUES_UPDATE = Permission.ADMIN_QUEUES_UPDATE
RETENTION = "options.recordings_retention"


# --- queues ------------------------------------------------------------------------------------
def _ceiling(request: Request, caller: Caller) -> int | None:
    """The contract's ceiling for recordings (days), set by the platform operator; None: none."""
    with request.app.state.read_session_factory() as session:
        tenant = session.get(Tenant, caller.tenant_id)
        return tenant.recordings_retention_days if tenant is not None else None


@router.get("/admin/queues", openapi_extra=needs(QUEUES_READ))
async def queues(request: Request) -> Response:
    caller = await require(request, QUEUES_READ)
    params = {"take": 500, "sort": "name", "dir": "asc"}
    try:
        found = await run_in_threadpool(read_list, request, caller, "queues", params)
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
        queue = await run_in_threadpool(read_one, request, caller, "queues", name)
    except NotFound:
        return not_found(request)
    ceiling = await run_in_threadpool(_ceiling, request, caller)
    options = queue.get("options") or {}
    values = {"queue": queue, "ceiling": ceiling, "days": options.get("recordings_retention"), **context}
    return render(request, "admin_queue.html", values, status=status)


@router.get("/admin/queues/{name}", openapi_extra=needs(QUEUES_UPDATE))
async def queue_page(request: Request, name: str) -> Response:
    caller = await require(request, QUEUES_UPDATE)
    return await _queue_page(request, caller, name, {})


def _save(request: Request, caller: Caller, name: str, days: Any) -> None:
    with writes.unit(request) as session:
        body = {"options": {"recordings_retention": days}}
        update_record(request, session, caller, REGISTRY["queues"], name, body)


@router.post("/admin/queues/{name}", openapi_extra=needs(QUEUES_UPDATE))
async def queue_save(request: Request, name: str) -> Response:
    caller = await require(request, QUEUES_UPDATE)
    form = await request.form()
    raw = form.get("recordings_retention")
    given = raw.strip()[:12] if isinstance(raw, str) else ""
    # Empty keeps recordings for the ceiling; anything else goes to the API as typed (a number as
    # a number), so what is refused is refused with the API's own message.
    days: Any = None if not given else int(given) if writes.digits(given) else given
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
