"""Legal holds in the DPO's workspace: the list, a new hold (on a contact, a ticket, an activity,
a queue or a campaign type, by its key: the record pages link here with it filled in), and the
release of one after a confirmation. Every step is the API's own: the ``legalHolds`` resource's
list, create (:func:`hovor.api.router.create_record`) and delete (:func:`~hovor.api.router.delete_record`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.api.resource import REGISTRY
from hovor.api.router import delete_record
from hovor.console import writes
from hovor.console.reads import not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.privacy.holds import HOLD_TYPES
from hovor.privacy.schemas import HoldCreate

router = APIRouter(include_in_schema=False)
READ = Permission.DPO_HOLDS_READ
CREATE = Permission.DPO_HOLDS_CREATE
RELEASE = Permission.DPO_HOLDS_DELETE
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIELDS = ("object_type", "object_key", "reason", "until")


def _holds(request: Request, caller: Caller) -> dict[str, Any]:
    return read_list(request, caller, "legalHolds", {"take": 200, "sort": "created", "dir": "desc"})


def _context(request: Request, caller: Caller, values: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"holds": _holds(request, caller), "types": HOLD_TYPES, "values": values, **extra}


@router.get("/dpo/holds", openapi_extra=needs(READ))
async def holds(request: Request) -> Response:
    # The record to hold may come from a record's page: its type and key (no personal data).
    caller = await require(request, READ)
    values = {k: request.query_params.get(k, "")[:64] for k in ("object_type", "object_key")}
    try:
        context = await run_in_threadpool(_context, request, caller, values)
    except ApiError:
        context = {"holds": {"data": [], "total": 0}, "failed": True, "types": HOLD_TYPES, "values": values}
    return render(request, "dpo_holds.html", context)


@router.post("/dpo/holds", openapi_extra=needs(CREATE))
async def create_hold(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    values = {k: v.strip()[:1000] if isinstance(v := form.get(k), str) else "" for k in FIELDS}
    wire: dict[str, Any] = {k: v for k, v in values.items() if v}
    if DATE.match(values["until"]):
        wire["until"] = values["until"] + " 23:59:59"  # to the end of that day, in the tenant's zone
    try:
        body = HoldCreate.model_validate(wire)
        name = await run_in_threadpool(writes.create, request, caller, "legalHolds", body)
    except (ValidationFailed, ValidationError) as failed:
        errors = writes.field_messages(failed)
        context = await run_in_threadpool(_context, request, caller, values, errors=errors)
        return render(request, "dpo_holds.html", context, status=400)
    except ApiError as refused:  # a conflict, a record that is not there: the API's message
        context = await run_in_threadpool(_context, request, caller, values, refusal=writes.reason(refused))
        return render(request, "dpo_holds.html", context, status=refused.status)
    return redirect(request, f"/dpo/holds?placed={name}")


@router.get("/dpo/holds/{name}/release", openapi_extra=needs(RELEASE))
async def release_page(request: Request, name: str) -> Response:
    caller = await require(request, RELEASE)
    try:
        hold = await run_in_threadpool(read_one, request, caller, "legalHolds", name)
    except NotFound:
        return not_found(request)
    return render(request, "dpo_hold_release.html", {"hold": hold})


def _release(request: Request, caller: Caller, name: str) -> None:
    with writes.unit(request) as session:
        delete_record(request, session, caller, REGISTRY["legalHolds"], name)


@router.post("/dpo/holds/{name}/release", openapi_extra=needs(RELEASE))
async def release(request: Request, name: str) -> Response:
    caller = await require(request, RELEASE)
    form = await request.form()
    try:
        hold = await run_in_threadpool(read_one, request, caller, "legalHolds", name)
    except NotFound:
        return not_found(request)
    if form.get("confirm") != "yes":
        return render(request, "dpo_hold_release.html", {"hold": hold, "unconfirmed": True}, status=400)
    try:
        await run_in_threadpool(_release, request, caller, name)
    except NotFound:
        return not_found(request)
    return redirect(request, "/dpo/holds?released=1")
