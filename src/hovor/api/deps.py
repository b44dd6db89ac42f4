"""Request dependencies: the session a request owns, the caller, and permission checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hovor.api.errors import Forbidden, Unauthorized
from hovor.audit import log as audit
from hovor.auth import service as auth_service
from hovor.auth.caller import Caller

TOKEN_HEADER = "X-AUTH-TOKEN"
TOKEN_COOKIE = "c_user"
TOKEN_QUERY = "accessToken"


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work. Routes commit it before answering; anything else rolls back.

    Reads get a session that does not take the write lock (SQLite), so they never queue behind
    writers or each other.

    The dependencies are ``async`` on purpose: making a session and resolving a cached token do no
    slow I/O, and every sync dependency would cost a hop to the thread pool (about 0.4 ms each on
    this machine). The route itself still runs in the pool, so a slow query never blocks the loop.
    """
    state = request.app.state
    factory = state.read_session_factory if request.method in READ_METHODS else state.session_factory
    session: Session = factory()
    if request.method not in READ_METHODS:
        # A request that changes records must say so in the audit log (hovor.audit.log).
        audit.require(session)
        # What a write may need to check against (a retention policy against the audit log's floor).
        session.info["settings"] = state.settings
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def token_from(request: Request) -> str | None:
    return (
        request.headers.get(TOKEN_HEADER)
        or request.cookies.get(TOKEN_COOKIE)
        or request.query_params.get(TOKEN_QUERY)
        or None
    )


async def get_caller(request: Request) -> Caller:
    raw = token_from(request)
    if not raw:
        raise Unauthorized("Authentication required: send an access token in the X-AUTH-TOKEN header.")
    state = request.app.state
    caller = auth_service.resolve_token(state.read_session_factory, state.caller_cache, raw)
    if caller is None:
        raise Unauthorized("The access token is invalid, expired or revoked.")
    request.state.caller = caller
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def check(caller: Caller, permission: str) -> None:
    if not caller.can(permission):
        raise Forbidden(f"Your role does not allow {permission}.")


def require(permission: str) -> object:
    """A dependency that admits only callers holding ``permission``."""

    async def dependency(caller: CurrentCaller) -> Caller:
        check(caller, permission)
        return caller

    return Depends(dependency)
