"""A tenant's API tokens over HTTP (``apiTokens.json``): the long-lived tokens of integrations,
listed, issued (the secret shown once, only a SHA-256 of it is kept) and revoked, under
``admin:tokens:*``. The console's page calls the same functions.

A token acts with its user's role. An administrator issues one only for a user whose role holds
no right the administrator does not hold: a token must not be a way to rights one lacks.
A token is addressed by the first 16 hex digits of its digest (as its audit entries name it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.audit import log as audit
from hovor.auth.api import parsed
from hovor.auth.models import Token, User
from hovor.auth.service import issue_api_token
from hovor.auth.users import may_manage
from hovor.core.caller import Caller
from hovor.core.db import utcnow
from hovor.core.errors import Conflict, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.validation import StrictModel
from hovor.core.wire import RefIn, to_wire

router = APIRouter(tags=["API tokens"])
KEY_LENGTH = 16
MAX_DAYS = 3650


class TokenIn(StrictModel):
    user: RefIn
    title: str | None = Field(None, max_length=255)
    days: int | None = Field(None, ge=1, le=MAX_DAYS, description="Lifetime (default from settings)")


def key_of(token: Token) -> str:
    return token.hash[:KEY_LENGTH]


def _wire(token: Token, tz: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "name": key_of(token),
        "user": token.user,
        "title": token.title,
        "created": to_wire(token.created, tz),
        "expires": to_wire(token.expires, tz),
        "revoked": to_wire(token.revoked, tz),
        "last_used": to_wire(token.last_used, tz),
        "active": token.revoked is None and token.expires > now,
    }


def api_tokens(session: Session, caller: Caller) -> list[dict[str, Any]]:
    """The tenant's API tokens, newest first (never their secrets, which are not kept)."""
    rows = session.scalars(
        select(Token)
        .where(Token.tenant_id == caller.tenant_id, Token.kind == "api")
        .order_by(Token.created.desc())
    )
    now = utcnow()
    return [_wire(t, caller.timezone, now) for t in rows]


def create_api_token(request: Request, session: Session, caller: Caller, body: TokenIn) -> dict[str, Any]:
    """A token issued for one of the tenant's users, audited and committed; its secret in the answer,
    the only time it is shown."""
    user = session.get(User, (caller.tenant_id, body.user))
    if user is None:
        raise ValidationFailed({"user": ["No such user."]})
    if user.deactivated:
        raise Conflict("The user is deactivated: a token of theirs would not work.")
    may_manage(session, caller, user)
    settings = request.app.state.settings
    raw, token = issue_api_token(session, settings, caller.tenant_id, user.name, body.title, body.days)
    details = {"kind": "api", "token": key_of(token)}
    audit.record(
        session, caller.tenant_id, "auth.token.create", audit.actor_of(request), "users", user.name, details
    )
    session.commit()
    return {**_wire(token, caller.timezone, utcnow()), "token": raw}


def revoke_api_token(request: Request, session: Session, caller: Caller, name: str) -> None:
    """The token ends now; another tenant's, or a sign-in's, is not found."""
    if len(name) != KEY_LENGTH or any(c not in "0123456789abcdef" for c in name):
        raise NotFound("No such token.")
    token = session.scalar(
        select(Token).where(
            Token.tenant_id == caller.tenant_id,
            Token.kind == "api",
            Token.hash >= name,
            Token.hash < name + "g",
        )
    )
    if token is None:
        raise NotFound("No such token.")
    holder = session.get(User, (caller.tenant_id, token.user))
    if holder is not None:
        may_manage(session, caller, holder)
    if token.revoked is None:
        token.revoked = utcnow()
        details = {"kind": "api", "token": key_of(token)}
        actor = audit.actor_of(request)
        audit.record(session, caller.tenant_id, "auth.token.revoke", actor, "users", token.user, details)
    session.commit()
    request.app.state.caller_cache.forget(token.hash)


@router.get("/api/v6/apiTokens.json", summary="The tenant's API tokens (never their secrets)")
@permitted(Permission.ADMIN_TOKENS_READ)
def list_tokens(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    rows = api_tokens(session, caller)
    return ok(request, {"data": rows, "total": len(rows)})


@router.post(
    "/api/v6/apiTokens.json",
    status_code=201,
    summary="Issue an API token for a user (an integration): its secret is in this answer only",
)
@permitted(Permission.ADMIN_TOKENS_CREATE)
async def create_token(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    body: TokenIn = await parsed(request, TokenIn)
    return ok(request, await run_in_threadpool(create_api_token, request, session, caller, body), 201)


@router.delete("/api/v6/apiTokens/{name}.json", summary="Revoke an API token now")
@permitted(Permission.ADMIN_TOKENS_DELETE)
def delete_token(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    revoke_api_token(request, session, caller, name)
    return ok(request, True)
