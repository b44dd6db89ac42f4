"""The tenant's allowed networks (its offices' public addresses, which the firewall never bans):
the list, adding one and removing one, each the work of the API's own route
(``hovor.auth.firewall_api``: the same checks, the same audit entry), under its permission. What
the API refuses (a private or too wide network, one listed already) is shown with its message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.auth.firewall_api import AllowIn, add_allowed, allowed_networks, remove_allowed
from hovor.console import writes
from hovor.console.admin_write import Refusal, optional, refusal_of, text
from hovor.console.reads import not_found
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.validation import form_from_pydantic

router = APIRouter(include_in_schema=False)
READ = Permission.ADMIN_FIREWALL_READ
CREATE = Permission.ADMIN_FIREWALL_CREATE
DELETE = Permission.ADMIN_FIREWALL_DELETE


def _rows(request: Request, caller: Caller) -> list[dict[str, Any]]:
    with request.app.state.read_session_factory() as session:
        return allowed_networks(session, caller)


async def _page(
    request: Request, caller: Caller, refusal: Refusal | None = None, typed: dict[str, Any] | None = None
) -> Response:
    try:
        rows, failed = await run_in_threadpool(_rows, request, caller), False
    except ApiError:
        rows, failed = [], True
    context = {"rows": rows, "failed": failed, "refusal": refusal, "v": typed or {}}
    return render(request, "admin_networks.html", context, status=refusal.status if refusal else 200)


@router.get("/admin/networks", openapi_extra=needs(READ))
async def networks(request: Request) -> Response:
    caller = await require(request, READ)
    return await _page(request, caller)


def _add(request: Request, caller: Caller, given: dict[str, Any]) -> None:
    try:
        body = AllowIn.model_validate(given)
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None
    with writes.unit(request) as session:
        add_allowed(request, session, caller, body)


@router.post("/admin/networks", openapi_extra=needs(CREATE))
async def network_add(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    given = {"network": text(form, "network", 64), "note": optional(form, "note", 255)}
    try:
        await run_in_threadpool(_add, request, caller, given)
    except ApiError as refused:
        refusal = refusal_of(refused)
        refusal.status = refused.status if refused.status in (400, 409) else 400
        return await _page(request, caller, refusal, given)
    return redirect(request, "/admin/networks?saved=1")


def _remove(request: Request, caller: Caller, name: str) -> None:
    with writes.unit(request) as session:
        remove_allowed(request, session, caller, name)


@router.post("/admin/networks/{name}/delete", openapi_extra=needs(DELETE))
async def network_remove(request: Request, name: str) -> Response:
    caller = await require(request, DELETE)
    try:
        await run_in_threadpool(_remove, request, caller, name)
    except NotFound:
        return not_found(request)
    return redirect(request, "/admin/networks?deleted=1")
