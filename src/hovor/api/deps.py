"""Request dependencies: the session a request owns, the caller, and permission checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hovor.api.errors import Forbidden, Unauthorized
from hovor.auth import service as auth_service
from hovor.auth.caller import Caller

TOKEN_HEADER = "X-AUTH-TOKEN"
TOKEN_COOKIE = "c_user"
TOKEN_QUERY = "accessToken"


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work. Routes commit it before answering; anything else rolls back."""
    session: Session = request.app.state.session_factory()
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


def get_caller(request: Request, session: DbSession) -> Caller:
    raw = token_from(request)
    if not raw:
        raise Unauthorized("Authentication required: send an access token in the X-AUTH-TOKEN header.")
    caller = auth_service.caller_from_token(session, raw)
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

    def dependency(caller: CurrentCaller) -> Caller:
        check(caller, permission)
        return caller

    return Depends(dependency)
