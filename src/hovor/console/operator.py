"""The operator's pages: contacts found as one types (POSTed: what is typed is personal data), a
contact's card with its timeline across channels, tickets with a filter and a ticket's detail.

Every read is the API's own: the resource's list query (``q``, filters) and its serializer, through
the row-scoping choke point, under the permission of the API route it mirrors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import needs, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
CONTACTS_READ = Permission.CRM_CONTACTS_READ
TICKETS_READ = Permission.HELPDESK_TICKETS_READ
SEARCH_LIMIT = 20
TIMELINE_LIMIT = 100
STAGES = ("OPEN", "WAIT", "CLOSE", "ARCHIVE")


# --- contacts ----------------------------------------------------------------------------------
@router.get("/contacts", openapi_extra=needs(CONTACTS_READ))
async def contacts(request: Request) -> Response:
    await require(request, CONTACTS_READ)
    return render(request, "contacts.html")


@router.post("/contacts/search", openapi_extra=needs(CONTACTS_READ))
async def contacts_search(request: Request) -> Response:
    caller = await require(request, CONTACTS_READ)
    form = await request.form()
    raw = form.get("q")
    q = raw.strip()[:200] if isinstance(raw, str) else ""
    if len(q) < 2:
        return render(request, "contacts_results.html", {"q": q, "rows": [], "total": 0, "short": True})
    params = {"q": q, "take": SEARCH_LIMIT, "sort": "title", "dir": "asc"}
    try:
        found = await run_in_threadpool(read_list, request, caller, "contacts", params)
    except ApiError:
        return render(request, "contacts_results.html", {"failed": True, "rows": [], "total": 0}, status=400)
    return render(request, "contacts_results.html", {"q": q, "rows": found["data"], "total": found["total"]})


def _card(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    contact = read_one(request, caller, "contacts", name)
    key = contact["name"]
    newest = {"sort": "time", "dir": "desc", "take": TIMELINE_LIMIT}
    activities = read_list(request, caller, "activities", {**newest, "filter": equal("contact", key)})
    tickets = read_list(
        request,
        caller,
        "tickets",
        {"filter": equal("contact", key), "take": TIMELINE_LIMIT, "sort": "created", "dir": "desc"},
    )
    records = read_list(request, caller, "campaignsRecords", {"filter": equal("contact", key), "take": 50})
    return {"contact": contact, "activities": activities, "tickets": tickets, "records": records}


@router.get("/contacts/{name}", openapi_extra=needs(CONTACTS_READ))
async def contact_card(request: Request, name: str) -> Response:
    caller = await require(request, CONTACTS_READ)
    try:
        card = await run_in_threadpool(_card, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "contact.html", card)


# --- tickets -----------------------------------------------------------------------------------
def _ticket_filter(stage: str, category: str) -> list[dict[str, Any]]:
    conditions = []
    if stage in STAGES:
        conditions.append(equal("stage", stage))
    if category:
        conditions.append(equal("category", category))
    return conditions


def _categories(request: Request, caller: Caller) -> list[dict[str, Any]]:
    found = read_list(request, caller, "ticketsCategories", {"take": 200, "sort": "title", "dir": "asc"})
    return list(found["data"])


@router.get("/tickets", openapi_extra=needs(TICKETS_READ))
async def tickets(request: Request) -> Response:
    # Stage and category are the filter's only inputs: no personal data, so a plain GET form.
    caller = await require(request, TICKETS_READ)
    stage = request.query_params.get("stage", "")[:10]
    category = request.query_params.get("category", "")[:64]
    params: dict[str, Any] = {"take": 50, "sort": "created", "dir": "desc"}
    conditions = _ticket_filter(stage, category)
    if conditions:
        params["filter"] = conditions
    try:
        found = await run_in_threadpool(read_list, request, caller, "tickets", params)
        categories = await run_in_threadpool(_categories, request, caller)
    except ApiError:
        found, categories = {"data": [], "total": 0, "failed": True}, []
    context = {
        "rows": found["data"],
        "total": found["total"],
        "failed": found.get("failed", False),
        "stage": stage,
        "category": category,
        "stages": STAGES,
        "categories": categories,
    }
    return render(request, "tickets.html", context)


def _ticket(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    ticket = read_one(request, caller, "tickets", name)
    comments = read_list(
        request,
        caller,
        "activities",
        {"filter": equal("ticket", ticket["name"]), "sort": "time", "dir": "asc", "take": TIMELINE_LIMIT},
    )
    attachments = read_list(
        request, caller, "attachments", {"filter": equal("ticket", ticket["name"]), "take": TIMELINE_LIMIT}
    )
    return {"ticket": ticket, "comments": comments, "attachments": attachments}


@router.get("/tickets/{name}", openapi_extra=needs(TICKETS_READ))
async def ticket_detail(request: Request, name: str) -> Response:
    caller = await require(request, TICKETS_READ)
    try:
        found = await run_in_threadpool(_ticket, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "ticket.html", found)
