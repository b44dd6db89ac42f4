"""Retention policies: the list (``retentionPolicies.json``) with what a sweep would remove now
(``retentionPolicies/preview.json``, counts per kind), a policy's form saved through the API's own
update or create, and the button that runs the sweep now as a job (``POST
retentionPolicies/sweep.json``'s work), whose progress page updates itself (htmx polling).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.console import writes
from hovor.console.admin_write import Refusal, save, text
from hovor.console.reads import not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission
from hovor.jobs.models import DONE, FAILED
from hovor.privacy import policies, retention
from hovor.privacy.api import start_sweep

router = APIRouter(include_in_schema=False)
READ = Permission.DPO_RETENTION_READ
UPDATE = Permission.DPO_RETENTION_UPDATE
CREATE = Permission.DPO_RETENTION_CREATE
PREVIEW = Permission.TENANT_SETTINGS_READ
JOBS = Permission.ADMIN_JOBS_READ


def _preview(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """What a sweep would remove now, per kind: the same figures as the API's preview."""
    with request.app.state.read_session_factory() as session:
        return retention.preview_all(session, caller.tenant_id, request.app.state.settings)


def _kinds() -> list[str]:
    return sorted(policies.NAMES)


@router.get("/admin/retention", openapi_extra=needs(READ))
async def retention_page(request: Request) -> Response:
    caller = await require(request, READ)
    params = {"take": 500, "sort": "name", "dir": "asc"}
    try:
        found = await run_in_threadpool(read_list, request, caller, "retentionPolicies", params)
    except ApiError:
        found = {"data": [], "total": 0, "failed": True}
    preview = None
    if caller.can(PREVIEW):
        preview = await run_in_threadpool(_preview, request, caller)
    set_up = {p["name"] for p in found["data"]}
    context = {
        "rows": found["data"],
        "failed": found.get("failed", False),
        "preview": preview,
        "unset": [k for k in _kinds() if k not in set_up],
    }
    return render(request, "admin_retention.html", context)


async def _policy_page(
    request: Request,
    caller: Caller,
    name: str,
    record: dict[str, Any] | None,
    refusal: Refusal | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    kind = policies.KINDS.get(name)
    context = {
        "name": name,
        "record": record,
        "editable": caller.can(UPDATE if record else CREATE),
        "actions": list(kind.actions) if kind else ["delete"],
        "refusal": refusal,
        "v": {**(record or {}), **(typed or {})},
    }
    return render(request, "admin_retention_policy.html", context, status=status)


async def _policy(request: Request, caller: Caller, name: str) -> dict[str, Any] | None:
    try:
        return await run_in_threadpool(read_one, request, caller, "retentionPolicies", name)
    except NotFound:
        return None


@router.get("/admin/retention/{name}", openapi_extra=needs(READ))
async def policy_page(request: Request, name: str) -> Response:
    caller = await require(request, READ)
    record = await _policy(request, caller, name)
    if record is None and name not in _kinds():
        return not_found(request)
    return await _policy_page(request, caller, name, record)


def _days(raw: str) -> Any:
    # A number as a number; anything else as typed, for the API to refuse with its message.
    return int(raw) if writes.digits(raw) else raw or None


@router.post("/admin/retention/sweep", openapi_extra=needs(UPDATE))
async def sweep(request: Request) -> Response:
    caller = await require(request, UPDATE)

    def run() -> str:
        with writes.unit(request) as session:
            job, _ = start_sweep(request, session, caller)
            return str(job.name)

    name = await run_in_threadpool(run)
    return redirect(request, f"/admin/retention/jobs/{name}")


@router.post("/admin/retention/{name}", openapi_extra=needs(UPDATE))
async def policy_save(request: Request, name: str) -> Response:
    caller = await require(request, UPDATE)
    record = await _policy(request, caller, name)
    if record is None and name not in _kinds():
        return not_found(request)
    if record is None and not caller.can(CREATE):
        return render(request, "forbidden.html", status=403)
    form = await request.form()
    body: dict[str, Any] = {"days": _days(text(form, "days", 12))}
    action = text(form, "action", 16)
    if action:
        body["action"] = action
    if record is None:
        body["name"] = name
    saved, refusal = await save(request, caller, "retentionPolicies", None if record is None else name, body)
    if saved is None:
        typed = {"days": text(form, "days", 12), "action": action}
        status = refusal.status if refusal and refusal.status in (400, 409) else 400
        return await _policy_page(request, caller, name, record, refusal, typed, status)
    return redirect(request, "/admin/retention?saved=1")


# --- the sweep's job ---------------------------------------------------------------------------
def _job(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    job = read_one(request, caller, "jobs", name)
    if job["kind"] != retention.KIND:
        raise NotFound("Record not found.")
    progress = job.get("progress") or {}
    removed = {**(progress.get("removed") or {}), **(progress.get("policies") or {})}
    return {**job, "removed": removed, "done": job["state"] == DONE, "failed": job["state"] == FAILED}


async def _job_or_404(request: Request, name: str) -> dict[str, Any] | None:
    caller = await require(request, JOBS)
    try:
        return await run_in_threadpool(_job, request, caller, name)
    except NotFound:
        return None


@router.get("/admin/retention/jobs/{name}", openapi_extra=needs(JOBS))
async def job_page(request: Request, name: str) -> Response:
    job = await _job_or_404(request, name)
    if job is None:
        return not_found(request)
    return render(request, "admin_retention_job.html", {"job": job})


@router.get("/admin/retention/jobs/{name}/progress", openapi_extra=needs(JOBS))
async def job_progress(request: Request, name: str) -> Response:
    job = await _job_or_404(request, name)
    if job is None:
        return not_found(request)
    return render(request, "admin_retention_progress.html", {"job": job})
