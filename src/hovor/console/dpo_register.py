"""The DPO's register of subject requests (Art. 12, 15-21): the requests with their due dates,
one request with its exports (the packages, downloaded from the API's own ``/file/exports/{name}``),
a new request, an export made for one; and a contact's consent history (the ledger and the
current state per purpose and channel). Every read and change is the API's own: the
``subjectRequests``, ``subjectExports`` and ``consentEvents`` resources, and
:func:`hovor.privacy.consent.state_of` behind ``GET contacts/{name}/consents.json``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.api.deps import wake_jobs
from hovor.api.resource import REGISTRY
from hovor.api.visible import load_visible
from hovor.console import writes
from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.privacy import consent, requests_api, schemas
from hovor.privacy.requests import OPEN

router = APIRouter(include_in_schema=False)
READ = Permission.DPO_REQUESTS_READ
UPDATE = Permission.DPO_REQUESTS_UPDATE
CREATE = Permission.DPO_REQUESTS_CREATE
EXPORT = Permission.DPO_EXPORTS_CREATE
CONSENTS = Permission.CRM_CONSENTS_READ
KINDS = get_args(schemas.RequestKind)
VIAS = get_args(schemas.Via)
FIELDS = ("kind", "received_via", "contact", "phone", "email", "name", "answer_via", "answer_to")
SHOWN = ("open", "closed", "all")
LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
METHODS = get_args(schemas.RequestVerify.model_fields["method"].annotation)


# --- the register ------------------------------------------------------------------------------
def _register(request: Request, caller: Caller, shown: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"take": 200, "sort": "due", "dir": "asc"}
    if shown != "all":
        operator = "in" if shown == "open" else "notin"
        params["filter"] = {"field": "state", "operator": operator, "value": list(OPEN)}
    found = read_list(request, caller, "subjectRequests", params)
    return {"requests": found, "shown": shown, "kinds": KINDS, "vias": VIAS, "values": {}, **extra}


@router.get("/dpo/requests", openapi_extra=needs(READ))
async def register(request: Request) -> Response:
    caller = await require(request, READ)
    shown = request.query_params.get("shown", "open")
    shown = shown if shown in SHOWN else "open"
    try:
        context = await run_in_threadpool(_register, request, caller, shown)
    except ApiError:
        context = {"requests": {"data": [], "total": 0}, "failed": True, "shown": shown, "kinds": KINDS}
    return render(request, "dpo_requests.html", context)


@router.post("/dpo/requests", openapi_extra=needs(CREATE))
async def register_request(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    values = {k: v.strip()[:511] if isinstance(v := form.get(k), str) else "" for k in FIELDS}
    wire = {k: v for k, v in values.items() if v}
    try:
        body = schemas.RequestCreate.model_validate(wire)
        name = await run_in_threadpool(writes.create, request, caller, "subjectRequests", body)
    except (ValidationFailed, ValidationError) as failed:
        context = await run_in_threadpool(
            _register, request, caller, "open", values=values, errors=writes.field_messages(failed)
        )
        return render(request, "dpo_requests.html", context, status=400)
    return redirect(request, f"/dpo/requests/{name}?saved=1")


# --- one request -------------------------------------------------------------------------------
def _request(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    found = read_one(request, caller, "subjectRequests", name)
    exports = read_list(
        request,
        caller,
        "subjectExports",
        {"filter": equal("request", found["name"]), "take": 50, "sort": "created", "dir": "desc"},
    )
    # When the person was told of an extension: now (the next whole second, so never before a
    # request received this very second), in the tenant's zone, unless changed.
    now = (dt.datetime.now(ZoneInfo(caller.timezone)) + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    return {"req": found, "exports": exports, "methods": METHODS, "now": now}


@router.get("/dpo/requests/{name}", openapi_extra=needs(READ))
async def request_page(request: Request, name: str) -> Response:
    caller = await require(request, READ)
    try:
        context = await run_in_threadpool(_request, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "dpo_request.html", context)


@router.get("/dpo/requests/{name}/exports", openapi_extra=needs(READ))
async def request_exports(request: Request, name: str) -> Response:
    """The request's exports alone: what the page's section polls while one is being built."""
    caller = await require(request, READ)
    try:
        context = await run_in_threadpool(_request, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "dpo_request_exports.html", context)


@router.post("/dpo/requests/{name}/export", openapi_extra=needs(EXPORT))
async def export(request: Request, name: str) -> Response:
    """An access or portability package for the request's person: the API's create of
    ``POST subjectExports.json`` (a job builds it; the page shows its state)."""
    caller = await require(request, EXPORT)
    try:
        found = await run_in_threadpool(read_one, request, caller, "subjectRequests", name)
        body = schemas.ExportCreate(request=found["name"])
        await run_in_threadpool(writes.create, request, caller, "subjectExports", body)
    except NotFound:
        return not_found(request)
    except ApiError as refused:
        # No contact on the request yet, and the like: the API's message.
        context = await run_in_threadpool(_request, request, caller, name)
        context["refusal"] = writes.reason(refused)
        return render(request, "dpo_request.html", context, status=refused.status)
    wake_jobs(request)
    return redirect(request, f"/dpo/requests/{name}?saved=1#exports")


# --- the request's steps ------------------------------------------------------------------------
def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip()[:1000] if isinstance(value, str) else ""


def _months(form: Any) -> Any:
    months = _text(form, "months")
    return int(months) if writes.digits(months) and len(months) < 3 else months


def _told(form: Any) -> str:
    # The browser's date and time (YYYY-MM-DDTHH:MM[:SS]) as the API's wall time in the tenant's zone.
    told = _text(form, "told")
    if LOCAL.match(told):
        told = told.replace("T", " ") + (":00" if len(told) == 16 else "")
    return told


# Each step as its API route takes it (``POST subjectRequests/{name}/{step}.json``), with its body.
STEPS: dict[str, tuple[Any, Any]] = {
    "verify": (requests_api.verify, lambda form: {"method": _text(form, "method")}),
    "extend": (
        requests_api.extend,
        lambda form: {"months": _months(form), "reason": _text(form, "reason"), "told": _told(form)},
    ),
    "answer": (requests_api.answer, lambda form: {"outcome": _text(form, "outcome")}),
    "refuse": (requests_api.refuse, lambda form: {"outcome": _text(form, "outcome")}),
}


def _step(request: Request, caller: Caller, name: str, step: str, body: dict[str, Any]) -> None:
    """The API's own route of the step, called with the caller (it checks the right again,
    changes, audits and commits as for ``POST subjectRequests/{name}/{step}.json``)."""
    route = STEPS[step][0]
    with writes.unit(request) as session:
        route(request=request, session=session, caller=caller, name=name, body=body)


def _step_route(step: str) -> None:
    async def take_step(request: Request, name: str) -> Response:
        caller = await require(request, UPDATE)
        form = await request.form()
        try:
            await run_in_threadpool(_step, request, caller, name, step, STEPS[step][1](form))
        except NotFound:
            return not_found(request)
        except ApiError as refused:
            # Not verified yet, extended already, closed already, a missing outcome: the API's message.
            context = await run_in_threadpool(_request, request, caller, name)
            context.update(refusal=writes.reason(refused), step=step)
            return render(request, "dpo_request.html", context, status=refused.status)
        return redirect(request, f"/dpo/requests/{name}?saved=1")

    router.add_api_route(
        f"/dpo/requests/{{name}}/{step}",
        take_step,
        methods=["POST"],
        name=f"console.dpo.request.{step}",
        openapi_extra=needs(UPDATE),
    )


for _step_name in STEPS:
    _step_route(_step_name)


# --- a contact's consent history ---------------------------------------------------------------
def _consents(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    with request.app.state.read_session_factory() as session:
        contact = load_visible(session, REGISTRY["contacts"], caller, name)
        current = consent.state_of(session, caller, contact)
        title = contact.title
    events = read_list(
        request,
        caller,
        "consentEvents",
        {"filter": equal("contact", name), "take": 200, "sort": "time", "dir": "desc"},
    )
    return {"name": name, "title": title, "current": current, "events": events}


@router.get("/contacts/{name}/consents", openapi_extra=needs(CONSENTS))
async def consent_history(request: Request, name: str) -> Response:
    caller = await require(request, CONSENTS)
    try:
        context = await run_in_threadpool(_consents, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "consents.html", context)
