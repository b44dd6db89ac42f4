"""The tenant's API tokens: listed, issued (the secret shown once, in the answer of the POST, never
in an address) and revoked, each the work of ``apiTokens.json``'s own routes
(:mod:`hovor.auth.tokens_api`: the same rule on whose token an administrator may issue, the same
audit entries), under their permissions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.auth.tokens_api import TokenIn, api_tokens, create_api_token, revoke_api_token
from hovor.console import writes
from hovor.console.admin_write import Refusal, optional, refusal_of, text
from hovor.console.reads import not_found, read_list
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.validation import form_from_pydantic

router = APIRouter(include_in_schema=False)
READ = Permission.ADMIN_TOKENS_READ
CREATE = Permission.ADMIN_TOKENS_CREATE
DELETE = Permission.ADMIN_TOKENS_DELETE


def _read(request: Request, caller: Caller) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    with request.app.state.read_session_factory() as session:
        tokens = api_tokens(session, caller)
    users = read_list(request, caller, "users", {"take": 500, "sort": "name", "dir": "asc"})
    return tokens, None if users.get("hidden") else list(users["data"])


async def _page(
    request: Request,
    caller: Caller,
    *,
    issued: dict[str, Any] | None = None,
    refusal: Refusal | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    try:
        tokens, users = await run_in_threadpool(_read, request, caller)
        failed = False
    except ApiError:
        tokens, users, failed = [], None, True
    context = {
        "rows": tokens,
        "users": users,
        "failed": failed,
        "issued": issued,
        "refusal": refusal,
        "v": typed or {},
    }
    return render(request, "admin_tokens.html", context, status=refusal.status if refusal else 200)


@router.get("/admin/tokens", openapi_extra=needs(READ))
async def tokens(request: Request) -> Response:
    caller = await require(request, READ)
    return await _page(request, caller)


def _issue(request: Request, caller: Caller, given: dict[str, Any]) -> dict[str, Any]:
    try:
        body = TokenIn.model_validate(given)
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None
    with writes.unit(request) as session:
        return create_api_token(request, session, caller, body)


@router.post("/admin/tokens", openapi_extra=needs(CREATE))
async def token_issue(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    days = text(form, "days", 12)
    given = {
        "user": text(form, "user", 64),
        "title": optional(form, "title", 255),
        "days": int(days) if writes.digits(days) else days or None,
    }
    try:
        issued = await run_in_threadpool(_issue, request, caller, given)
    except ApiError as refused:
        refusal = refusal_of(refused)
        refusal.status = refused.status if refused.status in (400, 403, 409) else 400
        return await _page(request, caller, refusal=refusal, typed=given)
    # The secret is in this page only: not kept, not in an address, not cached (no-store).
    return await _page(request, caller, issued=issued)


def _revoke(request: Request, caller: Caller, name: str) -> None:
    with writes.unit(request) as session:
        revoke_api_token(request, session, caller, name)


@router.post("/admin/tokens/{name}/revoke", openapi_extra=needs(DELETE))
async def token_revoke(request: Request, name: str) -> Response:
    caller = await require(request, DELETE)
    try:
        await run_in_threadpool(_revoke, request, caller, name)
    except NotFound:
        return not_found(request)
    return redirect(request, "/admin/tokens?saved=1")
