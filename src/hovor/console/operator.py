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

from hovor.api.resource import REGISTRY
from hovor.api.router import list_result, make_ctx, read_visible
from hovor.console.web import Refused, needs, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
CONTACTS_READ = Permission.CRM_CONTACTS_READ
TICKETS_READ = Permission.HELPDESK_TICKETS_READ
SEARCH_LIMIT = 20
TIMELINE_LIMIT = 100
STAGES = ("OPEN", "WAIT", "CLOSE", "ARCHIVE")


def _equal(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": "eq", "value": value}


def _list(request: Request, caller: Caller, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """A page of ``endpoint`` as its list route answers it, or nothing when the caller's role does
    not read that kind of record (a card shows what its reader may see)."""
    resource = REGISTRY[endpoint]
    if not caller.can(resource.perm("read")):
        return {"data": [], "total": 0, "hidden": True}
    with request.app.state.read_session_factory() as session:
        return list_result(request, session, caller, resource, params=params)


def _one(request: Request, caller: Caller, endpoint: str, key: str) -> dict[str, Any]:
    """One record as its read route answers it. A caller whose role does not read that kind of
    record is refused (the 403 page), whatever right brought her to the page: a refused comment
    or step must not show her the record it was refused on."""
    resource = REGISTRY[endpoint]
    if not caller.can(resource.perm("read")):
        raise Refused()
    with request.app.state.read_session_factory() as session:
        obj = read_visible(session, resource, caller, key)
        return resource.serialize(obj, make_ctx(session, resource, caller, obj.name))


def not_found(request: Request) -> Response:
    return render(request, "error.html", {"status": 404}, status=404)


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
        found = await run_in_threadpool(_list, request, caller, "contacts", params)
    except ApiError:
        return render(request, "contacts_results.html", {"failed": True, "rows": [], "total": 0}, status=400)
    return render(request, "contacts_results.html", {"q": q, "rows": found["data"], "total": found["total"]})


def _card(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    contact = _one(request, caller, "contacts", name)
    key = contact["name"]
    newest = {"sort": "time", "dir": "desc", "take": TIMELINE_LIMIT}
    activities = _list(request, caller, "activities", {**newest, "filter": _equal("contact", key)})
    tickets = _list(
        request,
        caller,
        "tickets",
        {"filter": _equal("contact", key), "take": TIMELINE_LIMIT, "sort": "created", "dir": "desc"},
    )
    records = _list(request, caller, "campaignsRecords", {"filter": _equal("contact", key), "take": 50})
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
        conditions.append(_equal("stage", stage))
    if category:
        conditions.append(_equal("category", category))
    return conditions


def _categories(request: Request, caller: Caller) -> list[dict[str, Any]]:
    found = _list(request, caller, "ticketsCategories", {"take": 200, "sort": "title", "dir": "asc"})
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
        found = await run_in_threadpool(_list, request, caller, "tickets", params)
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
    ticket = _one(request, caller, "tickets", name)
    comments = _list(
        request,
        caller,
        "activities",
        {"filter": _equal("ticket", ticket["name"]), "sort": "time", "dir": "asc", "take": TIMELINE_LIMIT},
    )
    attachments = _list(
        request, caller, "attachments", {"filter": _equal("ticket", ticket["name"]), "take": TIMELINE_LIMIT}
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
