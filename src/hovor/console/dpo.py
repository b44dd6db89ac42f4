"""The data protection officer's workspace: find a person by any identifier (the resolver behind
``POST /api/v6/subjects.json``), the erasure preview, the erasure with a confirmation naming what
will happen, the job's progress (htmx polls it), and the signed certificate to download.

Each page calls :mod:`hovor.privacy.service` as the API routes do, under the same permissions.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.api.deps import wake_jobs
from hovor.api.resource import REGISTRY
from hovor.api.visible import list_result
from hovor.audit import log as audit
from hovor.console import writes
from hovor.console.web import needs, redirect, render, require, secure
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, Conflict, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.jobs.models import DONE, FAILED, Job
from hovor.privacy import service
from hovor.privacy.erasure.context import KIND as ERASURE
from hovor.privacy.schemas import SubjectQuery

router = APIRouter(include_in_schema=False)
SEARCH = Permission.DPO_SUBJECTS_SEARCH
ERASE = Permission.DPO_SUBJECTS_ERASE
IDENTIFIERS = ("phone", "email", "name", "social", "ip")


@router.get("/dpo", openapi_extra=needs(SEARCH))
async def workspace(request: Request) -> Response:
    await require(request, SEARCH)
    return render(request, "dpo.html")


def _titles(request: Request, caller: Caller, keys: list[str]) -> list[dict[str, Any]]:
    """The found contacts with their names, for the DPO to pick the one to erase."""
    if not keys:
        return []
    params = {"filter": {"field": "name", "operator": "in", "value": keys[:100]}, "take": 100}
    with request.app.state.read_session_factory() as session:
        return list(list_result(request, session, caller, REGISTRY["contacts"], params=params)["data"])


def _search(request: Request, caller: Caller, query: SubjectQuery) -> dict[str, Any]:
    with writes.unit(request) as session:
        pseudonyms = request.app.state.pseudonyms
        groups, total = service.search_subjects(session, caller, query, pseudonyms, audit.actor_of(request))
        session.commit()
    contacts = _titles(request, caller, groups.get("contacts", {}).get("keys", []))
    counts = {group: found["count"] for group, found in groups.items()}
    return {"groups": counts, "total": total, "contacts": contacts}


@router.post("/dpo/search", openapi_extra=needs(SEARCH))
async def search(request: Request) -> Response:
    caller = await require(request, SEARCH)
    form = await request.form()
    given = {k: v.strip() for k in IDENTIFIERS if isinstance(v := form.get(k), str) and v.strip()}
    if not given:
        return render(request, "dpo_results.html", {"empty_query": True})
    try:
        query = SubjectQuery.model_validate(given)
        found = await run_in_threadpool(_search, request, caller, query)
    except ValidationFailed as invalid:
        # Which identifier could not be one (the field's name, never the value typed).
        fields = sorted(invalid.form or {})
        return render(request, "dpo_results.html", {"invalid": fields}, status=400)
    except (ValidationError, ApiError):
        return render(request, "dpo_results.html", {"invalid": []}, status=400)
    return render(request, "dpo_results.html", found)


# --- erasure -----------------------------------------------------------------------------------
def _preview(request: Request, caller: Caller, name: str, include_all: bool = False) -> dict[str, Any]:
    """The API's preview; ``include_all``: with every unlinked record carrying the person's
    identifiers (the API's ``?include=all``: other contacts and accounts stay to be ticked)."""
    with request.app.state.read_session_factory() as session:
        done = service.finished_erasure(session, caller, name)
        if done is not None:
            return {"job": done.name}
        writer = request.app.state.session_factory
        actor = audit.actor_of(request)
        return service.preview_erasure(session, writer, caller, name, include_all=include_all, actor=actor)


def _grouped(preview: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in preview["records"]:
        by_kind.setdefault(record["type"], []).append(record)
    return by_kind


@router.get("/dpo/contacts/{name}", openapi_extra=needs(ERASE))
async def preview(request: Request, name: str) -> Response:
    caller = await require(request, ERASE)
    include_all = request.query_params.get("include") == "all"
    try:
        found = await run_in_threadpool(_preview, request, caller, name, include_all)
    except NotFound:
        return render(request, "error.html", {"status": 404}, status=404)
    if "job" in found:
        return redirect(request, f"/dpo/jobs/{found['job']}")
    context = {"preview": found, "by_kind": _grouped(found), "name": name, "include_all": include_all}
    return render(request, "dpo_preview.html", context)


def _included(form: Any) -> Any:
    """The unlinked records the DPO ticked on the preview (``group:key`` each), as the API's
    ``include`` takes them; the service checks each is one the caller may see. Or ``all``, as
    the preview with every unlinked record showed it (other contacts and accounts are not in it)."""
    if form.get("include_all") == "yes":
        return "all"
    chosen: dict[str, list[str]] = {}
    for value in form.getlist("include")[:1000]:
        if isinstance(value, str) and ":" in value:
            group, key = value.split(":", 1)
            chosen.setdefault(group[:64], []).append(key[:64])
    return chosen


def _erase(request: Request, caller: Caller, name: str, include: Any) -> str:
    with writes.unit(request) as session:
        job = service.request_erasure(session, caller, name, include or None, audit.actor_of(request))
        job_name = str(job.name)
        session.commit()
    return job_name


@router.post("/dpo/contacts/{name}/erase", openapi_extra=needs(ERASE))
async def erase(request: Request, name: str) -> Response:
    caller = await require(request, ERASE)
    form = await request.form()
    include_all = form.get("include_all") == "yes"
    if form.get("confirm") != "yes":
        found = await run_in_threadpool(_preview, request, caller, name, include_all)
        if "job" in found:
            return redirect(request, f"/dpo/jobs/{found['job']}")
        context = {
            "preview": found,
            "by_kind": _grouped(found),
            "name": name,
            "unconfirmed": True,
            "include_all": include_all,
        }
        return render(request, "dpo_preview.html", context, status=400)
    try:
        job_name = await run_in_threadpool(_erase, request, caller, name, _included(form))
    except NotFound:
        return render(request, "error.html", {"status": 404}, status=404)
    except (Conflict, ValidationFailed) as refused:
        # A legal hold, an erasure under way, an include refused: the API's reason (keys only).
        found = await run_in_threadpool(_preview, request, caller, name, include_all)
        if "job" in found:
            return redirect(request, f"/dpo/jobs/{found['job']}")
        context = {
            "preview": found,
            "by_kind": _grouped(found),
            "name": name,
            "refusal": writes.reason(refused),
            "include_all": include_all,
        }
        return render(request, "dpo_preview.html", context, status=refused.status)
    wake_jobs(request)
    return redirect(request, f"/dpo/jobs/{job_name}")


def _job(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    with request.app.state.read_session_factory() as session:
        job = session.get(Job, (caller.tenant_id, name))
        if job is None or job.kind != ERASURE:
            raise NotFound("Record not found.")
        progress = dict(job.progress or {})
        return {
            "name": job.name,
            "state": job.state,
            "step": job.step,
            "finished": job.finished,
            "created": job.created,
            "error": job.error,
            "records": progress.get("records") or {},
            "done": job.state == DONE,
            "failed": job.state == FAILED,
            "certificate": job.result is not None and job.state == DONE,
            "result": job.result,
        }


async def _job_or_404(request: Request, name: str) -> dict[str, Any] | Response:
    caller = await require(request, ERASE)
    try:
        return await run_in_threadpool(_job, request, caller, name)
    except NotFound:
        return render(request, "error.html", {"status": 404}, status=404)


@router.get("/dpo/jobs/{name}", openapi_extra=needs(ERASE))
async def job_page(request: Request, name: str) -> Response:
    found = await _job_or_404(request, name)
    if isinstance(found, Response):
        return found
    return render(request, "dpo_job.html", {"job": found})


@router.get("/dpo/jobs/{name}/progress", openapi_extra=needs(ERASE))
async def job_progress(request: Request, name: str) -> Response:
    found = await _job_or_404(request, name)
    if isinstance(found, Response):
        return found
    return render(request, "dpo_job_progress.html", {"job": found})


@router.get("/dpo/jobs/{name}/certificate", openapi_extra=needs(ERASE))
async def certificate(request: Request, name: str) -> Response:
    found = await _job_or_404(request, name)
    if isinstance(found, Response):
        return found
    if not found["certificate"]:
        return render(request, "error.html", {"status": 404}, status=404)
    body = json.dumps(found["result"], ensure_ascii=False, indent=2).encode()
    # Keys and counts only: the certificate holds no personal data (hovor.privacy.erasure.certificate).
    headers = {"Content-Disposition": f'attachment; filename="erasure-certificate-{found["name"]}.json"'}
    return secure(Response(body, media_type="application/json", headers=headers))
