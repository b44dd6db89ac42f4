"""Request dependencies: the session a request owns, the caller, and permission checks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data
from sqlalchemy.orm import Session

from hovor.api.routeindex import ROUTE_KEY
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.db import unit_of_work
from hovor.core.errors import Forbidden, PermissionRefused, Unauthorized
from hovor.core.permissions import Permission
from hovor.core.reads import read_session
from hovor.edge import firewall


class TokenResolver(Protocol):
    """How a raw token becomes a caller. The HTTP machinery stands below the domains, so the auth
    domain's implementation (``hovor.auth.service``) is handed to it by the app factory
    (``app.state.tokens``) instead of being imported here."""

    def digest(self, raw: str) -> str: ...

    def resolve_token(
        self, factory: Any, cache: Any, raw: str, settings: Any, writer: Any = None
    ) -> Caller | None: ...

    def token_issued(self, factory: Any, raw: str) -> bool: ...


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
    if request.method in READ_METHODS:
        session: Session = state.read_session_factory()
    else:
        session = write_session(state)
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def wake_jobs(request: Request) -> None:
    """The job worker of this process starts on the job just queued instead of at its next poll."""
    worker = getattr(request.app.state, "job_worker", None)
    if worker is not None:
        worker.wake.set()


def write_session(state: Any) -> Session:
    """A session for a unit of work that may change records, set up as every request's is."""
    session: Session = state.session_factory()
    # A request that changes records must say so in the audit log (hovor.audit.log).
    audit.require(session)
    # What a write may need to check against (a retention policy against the audit log's floor).
    session.info["settings"] = state.settings
    return session


def token_from(request: Request) -> str | None:
    return (
        request.headers.get(TOKEN_HEADER)
        or request.cookies.get(TOKEN_COOKIE)
        or request.query_params.get(TOKEN_QUERY)
        or None
    )


# What a token that only sets up the second factor may reach.
SETUP_PATHS = frozenset({"/api/v6/whoim.json", "/api/v6/whoim/totp.json", "/api/v6/logout.json"})
SETUP_FIRST = (
    "Set up your second factor first: POST /api/v6/whoim/totp.json, add the secret to an authenticator "
    "app, then PUT the same path with its code as totp."
)


async def resolve(request: Request, raw: str) -> Caller | None:
    """The caller a token or web session stands for, or None. Most requests come with a token
    resolved a moment ago (the cache, no I/O); a miss reads the database (and may stamp a web
    session's last use) in the thread pool, off the event loop."""
    state = request.app.state
    tokens: TokenResolver = state.tokens
    caller: Caller | None = state.caller_cache.get(tokens.digest(raw)) if len(raw) <= 200 else None
    if caller is None:
        caller = await run_in_threadpool(
            tokens.resolve_token,
            state.read_session_factory,
            state.caller_cache,
            raw,
            state.settings,
            state.session_factory,
        )
    return caller


async def get_caller(request: Request) -> Caller:
    raw = token_from(request)
    if not raw:
        raise Unauthorized("Authentication required: send an access token in the X-AUTH-TOKEN header.")
    state = request.app.state
    tokens: TokenResolver = state.tokens
    caller = await resolve(request, raw)
    if caller is None:
        if len(raw) <= 200 and await run_in_threadpool(tokens.token_issued, state.read_session_factory, raw):
            # A token hovor issued that has expired or was revoked: an identified client that has
            # to sign in again (an extractor whose token ran out mid-run), not someone guessing.
            # Its 401s count against the token, not the address (hovor.edge.firewall).
            firewall.note_stale_token(request, tokens.digest(raw))
        raise Unauthorized("The access token is invalid, expired or revoked.")
    if request.method not in READ_METHODS and _from_cookie(request, raw):
        _same_origin(request)
    request.state.caller = caller
    if caller.token_kind in ("enroll", "confined") and request.url.path not in SETUP_PATHS:
        raise Forbidden(SETUP_FIRST)
    if caller.token_kind == "entry":
        await run_in_threadpool(_record_entry_access, request, caller)
    return caller


def _from_cookie(request: Request, raw: str) -> bool:
    return not request.headers.get(TOKEN_HEADER) and request.cookies.get(TOKEN_COOKIE) == raw


def _same_origin(request: Request) -> None:
    """A change authenticated by the cookie must come from a page of this service. A web session's
    cookie is SameSite=Strict already; the Origin (or Referer) check covers browsers that do not
    honour it, and tokens a client put in the cookie itself. "This service" is HOVOR_PUBLIC_URL
    when set (behind a proxy that rewrites Host), else the request's own scheme and Host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return  # not a browser's cross-site request: browsers send Origin with every cross-site write
    public = request.app.state.settings.public_url
    own = (
        urlsplit(public) if public else urlsplit(f"{request.url.scheme}://{request.headers.get('host', '')}")
    )
    parsed = urlsplit(origin)
    if (parsed.scheme.lower(), parsed.netloc.lower()) != (own.scheme.lower(), own.netloc.lower()):
        raise Forbidden("A change through a web session must come from this service's own pages.")


def _record_entry_access(request: Request, caller: Caller) -> None:
    """Processor staff inside a tenant: every request lands in that tenant's audit log."""
    route = request.scope.get(ROUTE_KEY) or request.scope.get("route")
    actor = audit.actor_of(request)  # "staff": the caller is an entry token's
    with unit_of_work(request.app.state.session_factory) as session:
        audit.record(
            session,
            caller.tenant_id,
            "platform.support.access",
            actor,
            None,
            None,
            {"method": request.method, "route": getattr(route, "path", None) or "?"},
        )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def check(caller: Caller, permission: str) -> None:
    if not caller.can(permission):
        raise PermissionRefused(permission)


async def reading(request: Request, permission: str, work: Callable[[Session, Caller], Any]) -> Any:
    """A read route's caller, permission and session resolved in its body rather than as
    dependencies (the generic list and get routes): FastAPI's machinery for a generator dependency
    (an exit stack, a context manager, a shielded exit) cost about an eighth of the instructions of
    a single record's read. The same steps in the same order of effect: the caller is authenticated
    (401) and the permission checked (403) before anything is read; the session reads on a
    connection of :func:`get_session`'s kind for a read (:mod:`hovor.core.reads`), and is closed
    however the read ends."""
    caller = await get_caller(request)
    check(caller, permission)
    session = read_session(request.app.state.read_session_factory)
    try:
        return work(session, caller)
    finally:
        session.close()


class ReadRoute(APIRoute):
    """The route of a read whose endpoint takes the request and the path's parameters as strings
    and authenticates in its body (:func:`reading`). FastAPI's own handler would still solve its
    (absent) dependencies and run every parameter of the path, query, headers and cookies through
    validation: about an eighth of the instructions of a single record's read. Its operation in
    OpenAPI is FastAPI's, from the endpoint's signature, as for any route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        taken = set(inspect.signature(endpoint).parameters)
        if not inspect.iscoroutinefunction(endpoint) or taken - {"request", *self.param_convertors}:
            # Anything else would have needed FastAPI's handler to read it.
            raise TypeError(
                f"{self.path}: a ReadRoute's endpoint is async and takes the request and the path only"
            )

        async def handle(request: Request) -> Response:
            telemetry = get_telemetry_data()
            if telemetry is not None:  # as FastAPI's handler: the route's request, for its span
                telemetry.request = request
            response: Response = await endpoint(request, **request.path_params)
            return response

        return handle


class AdmittedRoute(APIRoute):
    """A route that authenticates its caller and checks the permission its operation names
    (``x-permission``) before FastAPI's own handler reads and validates the body: 401, then 403,
    then the body's error, as with ``caller`` and ``admitted`` dependencies, without solving them as
    dependencies (about a fifth of a feed's single create on the event loop). One difference, on
    purpose: FastAPI parses the JSON before it solves dependencies, so there a body that is not
    JSON at all was told so before its missing token was told 401; here the caller comes first
    whatever the body holds. The endpoint takes the caller from ``request.state.caller``; its
    operation in OpenAPI is FastAPI's, from its signature, as for any route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        permission = str((self.openapi_extra or {})["x-permission"])
        if "caller" in inspect.signature(self.endpoint).parameters:
            raise TypeError(f"{self.path}: an AdmittedRoute's endpoint reads its caller from request.state")

        async def handle(request: Request) -> Response:
            check(await get_caller(request), permission)
            return await inner(request)

        return handle


def caller_of(request: Request) -> Caller:
    """The caller :func:`get_caller` resolved for this request (an :class:`AdmittedRoute`'s)."""
    caller: Caller = request.state.caller
    return caller


PERMISSION_ATTR = "__permission__"
# The parameter through which a route's permission is checked (see :func:`admission`).
ADMITTED = "admitted"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class _Admit:
    """Admits only callers holding ``permission``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, caller: CurrentCaller) -> Caller:
        check(caller, self.permission)
        return caller


def admission(permission: Permission) -> Any:
    """The default of a route's ``admitted`` parameter: a dependency, so FastAPI decides the
    permission before it validates the route's own input, and a caller without the right is told
    403 whatever they sent, learning nothing from validation messages."""
    return Depends(_Admit(permission))


def permitted(permission: Permission) -> Callable[[Endpoint], Endpoint]:
    """A hand-written route's access rule, stated once, on its function::

        @router.put("/api/v6/tenant.json", summary="…")
        @permitted(Permission.TENANT_SETTINGS_UPDATE)
        def update_tenant(request: Request, session: DbSession, caller: CurrentCaller, body: …)

    The route gains an ``admitted`` parameter (:func:`admission`): the permission is decided before
    the input is validated. Its OpenAPI operation names it (``x-permission``) from here
    (:func:`document_permissions`). Called directly by another route (download.php), the function
    checks its ``caller`` itself."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        signature = inspect.signature(endpoint)

        def admit(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if kwargs.pop(ADMITTED, None) is None:  # not through FastAPI
                check(signature.bind_partial(*args, **kwargs).arguments["caller"], permission)

        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                admit(args, kwargs)
                return await endpoint(*args, **kwargs)

        else:

            @functools.wraps(endpoint)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                admit(args, kwargs)
                return endpoint(*args, **kwargs)

        extra = inspect.Parameter(ADMITTED, inspect.Parameter.KEYWORD_ONLY, default=admission(permission))
        guarded.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), extra]
        )
        setattr(guarded, PERMISSION_ATTR, permission)
        return cast(Endpoint, guarded)

    return decorate


def document_permissions(routes: list[Any]) -> None:
    """Each route guarded by :func:`permitted` says so in its OpenAPI operation (``x-permission``)."""
    for route in routes:
        permission = getattr(getattr(route, "endpoint", None), PERMISSION_ATTR, None)
        if permission is not None:
            route.openapi_extra = {**(route.openapi_extra or {}), "x-permission": str(permission)}
