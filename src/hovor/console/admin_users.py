"""The administrator's pages of users, roles and profiles: lists, a record's detail, creating and
editing. Every read is the API's list and read (``users.json``, ``roles.json``, ``profiles.json``)
and every change the API's own create or update (:mod:`hovor.console.admin_write`), under the
permission of the API route it mirrors: what the API refuses is refused here with its message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.console.admin_write import Refusal, optional, save, text
from hovor.console.reads import not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import VOCABULARY, Permission

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 500
# A profile's rights dimensions and the records each names.
DIMENSIONS = {"databases": "databases", "queues": "queues", "categories": "ticketsCategories"}


def _perm(endpoint: str, action: str) -> Permission:
    area = {"users": "USERS", "roles": "ROLES", "profiles": "PROFILES"}[endpoint]
    return Permission[f"ADMIN_{area}_{action.upper()}"]


async def _rows(request: Request, caller: Caller, endpoint: str) -> dict[str, Any]:
    params = {"take": LIST_LIMIT, "sort": "name", "dir": "asc"}
    try:
        return await run_in_threadpool(read_list, request, caller, endpoint, params)
    except ApiError:
        return {"data": [], "total": 0, "failed": True}


def _choices(request: Request, caller: Caller, endpoint: str) -> list[dict[str, Any]] | None:
    """The records a form offers (roles, profiles, databases …); None: the caller does not read them."""
    found = read_list(request, caller, endpoint, {"take": LIST_LIMIT, "sort": "name", "dir": "asc"})
    return None if found.get("hidden") else list(found["data"])


async def _list_page(request: Request, endpoint: str) -> Response:
    caller = await require(request, _perm(endpoint, "read"))
    found = await _rows(request, caller, endpoint)
    context = {
        "kind": endpoint,
        "rows": found["data"],
        "total": found["total"],
        "failed": found.get("failed", False),
        "can_create": caller.can(_perm(endpoint, "create")),
    }
    return render(request, f"admin_{endpoint}.html", context)


# --- the forms ---------------------------------------------------------------------------------
def _user_body(form: Any, creating: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": text(form, "title"),
        "email": optional(form, "email", 320),
        "phone": optional(form, "phone", 32),
        "extension": optional(form, "extension", 32),
        "role": text(form, "role", 64),
        "profile": text(form, "profile", 64),
        "deactivated": form.get("deactivated") == "yes",
    }
    password = form.get("password")
    if isinstance(password, str) and password:
        body["password"] = password[:1024]
    if creating:
        body["name"] = text(form, "name", 64)
        # What was left empty is not given (the audit entry names the fields given).
        body = {k: v for k, v in body.items() if v not in (None, False, "")}
    return body


def _role_body(form: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"title": text(form, "title"), "description": optional(form, "description", 4000)}
    chosen = sorted({p for p in form.getlist("permissions") if isinstance(p, str)})
    # Permissions go to the API when they change (a built-in role's title may be edited; its
    # permissions cannot, which the API says when they are changed).
    if current is None or chosen != sorted(current.get("permissions") or []):
        body["permissions"] = chosen
    if current is None:
        body["name"] = text(form, "name", 64)
    return body


def _profile_body(form: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"title": text(form, "title"), "description": optional(form, "description", 4000)}
    for dimension in DIMENSIONS:
        limited = form.get(f"{dimension}_scope") == "some"
        names = sorted({n for n in form.getlist(dimension) if isinstance(n, str)})
        body[dimension] = names if limited else None
    if current is None:
        body["name"] = text(form, "name", 64)
    return body


BODIES: dict[str, Callable[[Any, dict[str, Any] | None], dict[str, Any]]] = {
    "users": lambda form, current: _user_body(form, current is None),
    "roles": _role_body,
    "profiles": _profile_body,
}


def _areas() -> list[tuple[str, list[str]]]:
    by_area: dict[str, list[str]] = {}
    for perm in sorted(VOCABULARY):
        by_area.setdefault(perm.split(":")[0], []).append(perm)
    return sorted(by_area.items())


def _form_context(request: Request, caller: Caller, endpoint: str) -> dict[str, Any]:
    if endpoint == "users":
        return {
            "roles": _choices(request, caller, "roles"),
            "profiles": _choices(request, caller, "profiles"),
        }
    if endpoint == "roles":
        return {"areas": _areas()}
    return {"choices": {d: _choices(request, caller, ep) for d, ep in DIMENSIONS.items()}}


async def _record_page(
    request: Request,
    caller: Caller,
    endpoint: str,
    record: dict[str, Any] | None,
    refusal: Refusal | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    creating = record is None
    editable = caller.can(_perm(endpoint, "create" if creating else "update"))
    context = await run_in_threadpool(_form_context, request, caller, endpoint)
    context.update(
        {
            "kind": endpoint,
            "record": record,
            "creating": creating,
            "editable": editable,
            "refusal": refusal,
            # What was typed stays in a refused form (a new password never comes back).
            "v": {**(record or {}), **{k: v for k, v in (typed or {}).items() if k != "password"}},
        }
    )
    return render(request, f"admin_{endpoint[:-1]}.html", context, status=status)


async def _new_page(request: Request, endpoint: str) -> Response:
    caller = await require(request, _perm(endpoint, "create"))
    return await _record_page(request, caller, endpoint, None)


async def _create(request: Request, endpoint: str) -> Response:
    caller = await require(request, _perm(endpoint, "create"))
    form = await request.form()
    body = BODIES[endpoint](form, None)
    made, refusal = await save(request, caller, endpoint, None, body)
    if made is None:
        return await _record_page(request, caller, endpoint, None, refusal, body, status=_status(refusal))
    return redirect(request, f"/admin/{endpoint}/{made['name']}?saved=1")


async def _detail(request: Request, endpoint: str, name: str) -> Response:
    caller = await require(request, _perm(endpoint, "read"))
    try:
        record = await run_in_threadpool(read_one, request, caller, endpoint, name)
    except NotFound:
        return not_found(request)
    return await _record_page(request, caller, endpoint, record)


async def _update(request: Request, endpoint: str, name: str) -> Response:
    caller = await require(request, _perm(endpoint, "update"))
    try:
        record = await run_in_threadpool(read_one, request, caller, endpoint, name)
        form = await request.form()
        body = BODIES[endpoint](form, record)
        saved, refusal = await save(request, caller, endpoint, name, body)
    except NotFound:
        return not_found(request)
    if saved is None:
        return await _record_page(request, caller, endpoint, record, refusal, body, status=_status(refusal))
    return redirect(request, f"/admin/{endpoint}/{name}?saved=1")


def _status(refusal: Refusal | None) -> int:
    return refusal.status if refusal is not None and refusal.status in (400, 403, 409) else 400


# --- the routes: the same five for each kind ---------------------------------------------------
def _routes(endpoint: str) -> None:
    base = f"/admin/{endpoint}"

    async def listing(request: Request) -> Response:
        return await _list_page(request, endpoint)

    async def new(request: Request) -> Response:
        return await _new_page(request, endpoint)

    async def create(request: Request) -> Response:
        return await _create(request, endpoint)

    async def detail(request: Request, name: str) -> Response:
        return await _detail(request, endpoint, name)

    async def update(request: Request, name: str) -> Response:
        return await _update(request, endpoint, name)

    router.add_api_route(base, listing, methods=["GET"], openapi_extra=needs(_perm(endpoint, "read")))
    router.add_api_route(f"{base}/new", new, methods=["GET"], openapi_extra=needs(_perm(endpoint, "create")))
    router.add_api_route(
        f"{base}/new", create, methods=["POST"], openapi_extra=needs(_perm(endpoint, "create"))
    )
    router.add_api_route(
        f"{base}/{{name}}", detail, methods=["GET"], openapi_extra=needs(_perm(endpoint, "read"))
    )
    router.add_api_route(
        f"{base}/{{name}}", update, methods=["POST"], openapi_extra=needs(_perm(endpoint, "update"))
    )


for _endpoint in ("users", "roles", "profiles"):
    _routes(_endpoint)
