"""The operator's changes to tickets: a new ticket (from the tickets list or a contact's card), a
comment, an attachment. Each goes through the API's own path: the resource's create
(:func:`hovor.api.router.create_record`: ``POST tickets.json``, ``POST activities.json``) and the
upload route of ``POST tickets/{name}/attachments.json``, so the same rules and rights answer.
Attachments are downloaded from the API's own ``/file/attachments/{name}`` (its rights, its audit)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.activities import schemas as activity_schemas
from hovor.activities.api.files import _upload_target
from hovor.console import writes
from hovor.console.operator import _categories, _ticket
from hovor.console.reads import not_found, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.helpdesk import schemas

router = APIRouter(include_in_schema=False)
CREATE = Permission.HELPDESK_TICKETS_CREATE
COMMENT = Permission.ACTIVITIES_ACTIVITIES_CREATE
ATTACH = Permission.ACTIVITIES_ATTACHMENTS_CREATE
PRIORITIES = ("LOW", "MEDIUM", "HIGH")
UPLOAD = _upload_target("tickets")  # the API's own upload of POST tickets/{name}/attachments.json
LIMIT = 70000


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:LIMIT].strip() if isinstance(value, str) else ""


# --- a new ticket ------------------------------------------------------------------------------
def _new_context(request: Request, caller: Caller, contact: str) -> dict[str, Any]:
    context: dict[str, Any] = {"categories": _categories(request, caller), "priorities": PRIORITIES}
    if contact:
        # The contact the ticket is for, as its reader sees it (a key the caller cannot see: 404).
        context["contact"] = read_one(request, caller, "contacts", contact)
    return context


@router.get("/new/ticket", openapi_extra=needs(CREATE))
async def new_ticket(request: Request) -> Response:
    caller = await require(request, CREATE)
    contact = request.query_params.get("contact", "")[:64]
    try:
        context = await run_in_threadpool(_new_context, request, caller, contact)
    except NotFound:
        return not_found(request)
    return render(request, "ticket_form.html", {**context, "values": {"priority": "MEDIUM"}})


@router.post("/new/ticket", openapi_extra=needs(CREATE))
async def create_ticket(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    contact = _text(form, "contact")[:64]
    try:
        context = await run_in_threadpool(_new_context, request, caller, contact)
    except NotFound:
        return not_found(request)
    values = {k: _text(form, k) for k in ("title", "category", "priority", "description")}
    wire: dict[str, Any] = {k: v for k, v in values.items() if v}
    if contact:
        wire["contact"] = contact
    try:
        body = schemas.TicketCreate.model_validate(wire)
        number = await run_in_threadpool(writes.create, request, caller, "tickets", body)
    except (ValidationFailed, ValidationError) as failed:
        context.update(values=values, errors=writes.field_messages(failed))
        return render(request, "ticket_form.html", context, status=400)
    except ApiError as refused:
        context.update(values=values, refusal=writes.reason(refused))
        return render(request, "ticket_form.html", context, status=refused.status)
    return redirect(request, f"/tickets/{number}?saved=1")


# --- a comment, an attachment ------------------------------------------------------------------
async def _ticket_page(request: Request, caller: Caller, name: str, status: int, **extra: Any) -> Response:
    try:
        found = await run_in_threadpool(_ticket, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "ticket.html", {**found, **extra}, status=status)


@router.post("/tickets/{name}/comments", openapi_extra=needs(COMMENT))
async def comment(request: Request, name: str) -> Response:
    caller = await require(request, COMMENT)
    form = await request.form()
    text = _text(form, "description")
    try:
        ticket = await run_in_threadpool(read_one, request, caller, "tickets", name)
    except NotFound:
        return not_found(request)
    try:
        body = activity_schemas.CommentCreate.model_validate({"ticket": ticket["name"], "description": text})
        await run_in_threadpool(writes.create, request, caller, "activities", body)
    except (ValidationFailed, ValidationError) as failed:
        errors = writes.field_messages(failed)
        return await _ticket_page(request, caller, name, 400, comment_errors=errors, comment_text=text)
    except ApiError as refused:
        reason = writes.reason(refused)
        return await _ticket_page(request, caller, name, refused.status, refusal=reason, comment_text=text)
    return redirect(request, f"/tickets/{ticket['name']}?saved=1#t-comments")


@router.post("/tickets/{name}/attachments", openapi_extra=needs(ATTACH))
async def attach(request: Request, name: str) -> Response:
    caller = await require(request, ATTACH)
    try:
        with writes.unit(request) as session:
            await UPLOAD(request=request, session=session, caller=caller, name=name)
    except NotFound:
        return not_found(request)
    except ApiError as refused:
        # No file, an empty one, one too large: the API's message (the unit rolled back).
        return await _ticket_page(
            request, caller, name, refused.status, upload_refusal=writes.reason(refused)
        )
    return redirect(request, f"/tickets/{name}?saved=1#t-attachments")
