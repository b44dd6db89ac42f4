"""Sign-in, the second factor and whoim (the users, roles and profiles resources are
:mod:`hovor.auth.resources`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from hovor.api.deps import TOKEN_COOKIE, CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.api.resource import Ctx
from hovor.audit import log as audit
from hovor.auth import platform, schemas, service, totp, users
from hovor.auth.models import User
from hovor.auth.passwords import verify_password
from hovor.auth.resources import GROUPS, serialize_user
from hovor.core.db import unit_of_work
from hovor.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from hovor.core.permissions import Permission
from hovor.core.validation import form_from_pydantic
from hovor.core.wire import to_wire
from hovor.edge import firewall

router = APIRouter(tags=["Sign-in"])
log = logging.getLogger(__name__)
API_VERSION = "v6"  # whoim's version, which v6 clients check for (the API's, not the software's)
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


async def _body(request: Request) -> dict[str, Any]:
    """Login accepts JSON and, as older v6 clients send it, a form post."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        firewall.note(request, "malformed")
        raise BadRequest("Malformed JSON body.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


async def parsed(request: Request, model: type[M], *, query: tuple[str, ...] = ()) -> M:
    """The body (JSON or form post) as ``model``; a field that does not fit is a 400 naming it.
    ``query``: fields that may come as query parameters instead (the body wins)."""
    body = await _body(request)
    for name in query:
        if name not in body and name in request.query_params:
            body[name] = request.query_params[name]
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None


def _login_result(request: Request, result: service.LoginResult) -> dict[str, Any]:
    tz = request.app.state.settings.timezone
    return {
        # A web session's token is in its HttpOnly cookie only, out of the page scripts' reach.
        "accessToken": None if result.session_cookie else result.access_token,
        "refreshToken": result.refresh_token,
        "expires": to_wire(result.expires, tz),
        "accessTokenExpirationDate": to_wire(result.expires, tz),  # the reference's name of it
        "user": {"name": result.user.name, "title": result.user.title, "role": result.user.role},
        # "setup": the token is good only for setting up the second factor the role requires.
        "secondFactor": result.second_factor,
    }


def set_session_cookie(request: Request, response: Any, token: str, max_age: int) -> None:
    """A web session's token in its cookie: HttpOnly, SameSite=Strict, Secure over TLS (and always
    in production). The console sets a second-factor set-up token the same way."""
    settings = request.app.state.settings
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=request.url.scheme == "https" or settings.environment == "production",
        httponly=True,
        samesite="strict",
    )


def _answer(request: Request, result: service.LoginResult) -> Any:
    response = ok(request, _login_result(request, result))
    if result.session_cookie:
        set_session_cookie(
            request, response, result.access_token, request.app.state.settings.session_max_hours * 3600
        )
    return response


LOGIN_QUERY = ("username", "password", "totp")
BUSY = "Another sign-in of this account is being checked. Try again in a few seconds."


async def guarded(
    request: Request, model: Any, name: str, delay: Callable[[], float], sign_in: Callable[[], R]
) -> R:
    """Runs ``sign_in`` (the password check and what follows) under the sign-in limits, which hold
    however many requests arrive at once and in however many workers:

    * the attempt is counted against the client's address before the password is checked (at most
      the firewall's threshold of checks per address and window; failures that reach it ban the
      address, attempts still being checked make the next ones wait);
    * a slowed account (``delay`` seconds) is held for the check: at most one check of it in
      flight, the others answered 429 at once, with Retry-After, without checking anything.

    A right password gives its address's attempt back."""
    state = request.app.state
    attempt = await firewall.count_attempt(request)
    held: dt.datetime | None = None
    failed = False
    try:
        wait = await run_in_threadpool(delay)
        if wait:

            def hold() -> dt.datetime | None:
                with unit_of_work(state.session_factory) as session:
                    return service.hold_account(session, model, name, wait)

            held = await run_in_threadpool(hold)
            if not held:
                raise TooManyRequests(BUSY, retry_after=wait)
            await asyncio.sleep(wait)  # the account is slowed, not locked: nothing else waits for it
        try:
            return await run_in_threadpool(sign_in)
        except service.CodeNeeded:  # the right password: the code is the next step, not a failure
            firewall.note(request, "second-step")
            raise
        except Unauthorized:
            failed = True
            raise
    finally:
        await firewall.settle(attempt, failed=failed)
        if held is not None:
            until = held

            def release() -> None:
                with unit_of_work(state.session_factory) as session:
                    service.release_account(session, model, name, until)

            try:
                await run_in_threadpool(release)
            except Exception:  # the answer stands; the lease ends the hold by itself
                log.exception("could not release a sign-in's hold of its account")


@router.post("/api/v6/login.json", openapi_extra={"x-permission": "public"}, summary="Sign in")
async def login(request: Request, session: DbSession) -> Any:
    # v6 clients sign in with a JSON body, a form post, or (Keboola's extractor) query parameters.
    body = await parsed(request, schemas.LoginIn, query=LOGIN_QUERY)
    # only_token (sent by Keboola's extractor and the Dart example) changes nothing: the answer is
    # the sign-in object with accessToken, which is what those clients read.
    return _answer(request, await sign_in(request, session, body))


async def sign_in(request: Request, session: Any, body: schemas.LoginIn) -> service.LoginResult:
    """A sign-in under the sign-in limits, audited either way; the API's and the console's."""
    settings = request.app.state.settings
    state = request.app.state

    def check_and_start() -> service.LoginResult:
        # Argon2 is slow on purpose: it runs in the thread pool, in a read transaction, so neither
        # the event loop nor SQLite's write lock waits for it. Only the stamp and the tokens write.
        actor = audit.actor_of(request)
        try:
            with state.read_session_factory() as reader:
                verified = service.verify(reader, settings, body.username, body.password, body.totp)
            result = service.start_session(
                session, settings, verified, body.password, body.totp, web=body.session
            )
        except service.LoginFailed as failed:
            if not failed.keep:
                session.rollback()
            if failed.tenant_id is None:
                # Nobody by that name: the platform's chain, with the attempted name as a pseudonym.
                tenant, details = audit.PLATFORM, {"login": state.pseudonyms(audit.PLATFORM, body.username)}
            else:
                tenant, details = failed.tenant_id, {"reason": failed.reason}
            audit.record(session, tenant, "auth.login.fail", actor, "users", failed.user, details)
            session.commit()
            raise
        who = audit.Actor("user", verified.name, actor.ip, actor.request_id)
        details = {"second_factor": "totp" if verified.has_code else result.second_factor}
        if result.session_cookie:
            details["session"] = "web"
        audit.record(session, verified.tenant_id, "auth.login.success", who, "users", verified.name, details)
        session.commit()
        return result

    def delay() -> float:
        with state.read_session_factory() as reader:
            return service.login_delay(reader, settings, body.username)

    return await guarded(request, User, body.username, delay, check_and_start)


@router.put("/api/v6/login.json", openapi_extra={"x-permission": "public"}, summary="Refresh a token pair")
async def refresh(request: Request, session: DbSession) -> Any:
    body = await parsed(request, schemas.RefreshIn)

    def renew() -> service.LoginResult:
        result = service.refresh(session, request.app.state.settings, body.refreshToken)
        actor = audit.actor_of(request)
        who = audit.Actor("user", result.user.name, actor.ip, actor.request_id)
        audit.record(session, result.user.tenant_id, "auth.token.refresh", who, "users", result.user.name)
        session.commit()
        return result

    return ok(request, _login_result(request, await run_in_threadpool(renew)))


@router.post(
    "/api/v6/logout.json", openapi_extra={"x-permission": "authenticated"}, summary="Revoke this token"
)
def logout(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    if caller.token_kind == "entry":
        platform.revoke(session, caller.token_hash or "", with_entries=False)
        audit.record(session, caller.tenant_id, "platform.support.leave", audit.actor_of(request))
    else:
        service.logout(session, caller)
        audit.record(session, caller.tenant_id, "auth.logout", audit.actor_of(request), "users", caller.user)
    session.commit()
    request.app.state.caller_cache.forget(caller.token_hash)
    response = ok(request, True)
    if caller.token_kind == "session":
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _user_of(session: Any, caller: Any) -> User:
    if caller.token_kind == "entry":
        raise Forbidden("Processor staff have no account in the tenant.")
    user = session.get(User, (caller.tenant_id, caller.user))
    assert user is not None
    return user


def _no_api_token(caller: Any) -> None:
    if caller.token_kind == "api":
        raise Forbidden("An integration's token cannot change a sign-in factor; sign in as the user.")


def _sealer(request: Request) -> totp.Sealer:
    return totp.Sealer(request.app.state.settings.secret_key)


def _refuse(session: Any, request: Request, user: User, reason: str, message: str) -> NoReturn:
    """A wrong code (or password) where a signed-in user proves it again: counted, audited, refused."""
    audit.record(
        session,
        user.tenant_id,
        "auth.totp.fail",
        audit.actor_of(request),
        "users",
        user.name,
        {"reason": reason},
    )
    session.commit()
    raise Forbidden(message)


def _check_code(
    request: Request, session: Any, user: User, code: str | None, sealed: str | None = None
) -> int:
    """The time step of the user's current code (or of ``sealed``, a secret being set up); a wrong
    one counts against the account's limit of wrong codes (as at sign-in) and is refused."""
    try:
        step = service.user_code(session, request.app.state.settings, user, code, sealed)
    except service.CodeLimit:
        _refuse(session, request, user, "totp-limit", "Too many wrong one-time codes; try again later.")
    if step is None:
        _refuse(session, request, user, "totp", "The one-time code (totp) is missing or wrong.")
    return step


@router.post(
    "/api/v6/whoim/totp.json",
    openapi_extra={"x-permission": "authenticated"},
    summary="Set up a second factor (returns the secret to add to an authenticator app)",
)
async def totp_setup(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    body = await parsed(request, schemas.TotpIn)
    return ok(request, await run_in_threadpool(begin_totp, request, session, caller, body))


def begin_totp(request: Request, session: Any, caller: Any, body: schemas.TotpIn) -> dict[str, Any]:
    """A new secret being set up (pending until a code of it is confirmed); the API's and the
    console's. A signed-in session proves the password again, a working factor a code of it."""
    user = _user_of(session, caller)
    _no_api_token(caller)
    if caller.token_kind != "enroll":
        # A signed-in session proves the password again (the set-up token has just done so):
        # a session left open on someone's desk cannot tie the account to another phone.
        settings = request.app.state.settings
        if not verify_password(user.password_hash, body.password or "", settings.hash_profile):
            _refuse(session, request, user, "password", "The password (password) is missing or wrong.")
    if user.totp_secret:
        # Replacing a working factor takes a code of it too.
        _check_code(request, session, user, body.totp)
    secret = totp.new_secret()
    user.totp_pending = _sealer(request).seal(secret, totp.owner_of(user.tenant_id, user.name))
    audit.record(session, caller.tenant_id, "auth.totp.setup", audit.actor_of(request), "users", user.name)
    session.commit()
    return {"secret": secret, "uri": totp.uri(secret, user.name), "digits": 6, "period": totp.STEP}


@router.put(
    "/api/v6/whoim/totp.json",
    openapi_extra={"x-permission": "authenticated"},
    summary="Confirm the second factor being set up with a code from the app",
)
async def totp_confirm(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    body = await parsed(request, schemas.TotpIn)
    result = await run_in_threadpool(confirm_totp, request, session, caller, body)
    return _answer(request, result)


def confirm_totp(request: Request, session: Any, caller: Any, body: schemas.TotpIn) -> service.LoginResult:
    """The pending secret confirmed by a code of it; every earlier sign-in ends and a fresh one
    made with the factor takes their place. The API's and the console's."""
    state = request.app.state
    user = _user_of(session, caller)
    _no_api_token(caller)
    owner = totp.owner_of(user.tenant_id, user.name)
    if _sealer(request).open(user.totp_pending or "", owner) is None:
        raise Conflict("No second factor is being set up: POST /api/v6/whoim/totp.json first.")
    # Counted like every code check (and the step remembered), against the secret being set up.
    _check_code(request, session, user, body.totp, user.totp_pending)
    user.totp_secret, user.totp_pending = user.totp_pending, None
    audit.record(session, caller.tenant_id, "auth.totp.enable", audit.actor_of(request), "users", user.name)
    # Every sign-in from before (none of which gave a code of this factor) ends; a fresh one,
    # made with it, takes their place: a web session when asked for, else a token pair.
    service.revoke_tokens(session, user.tenant_id, user.name, keep_api=True)
    if body.session:
        raw, token = service.issue_token(
            session, user, "session", dt.timedelta(hours=state.settings.session_max_hours)
        )
        result = service.LoginResult(user, raw, None, token.expires, session_cookie=True)
    else:
        result = service.issue_pair(session, user, state.settings)
    session.commit()
    state.caller_cache.forget_user(caller.tenant_id, caller.user)
    return result


@router.delete(
    "/api/v6/whoim/totp.json",
    openapi_extra={"x-permission": "authenticated"},
    summary="Remove one's own second factor (with a current code)",
)
async def totp_remove(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    body = await parsed(request, schemas.TotpIn)

    def remove() -> None:
        user = _user_of(session, caller)
        _no_api_token(caller)
        if not user.totp_secret:
            raise Conflict("No second factor is set up.")
        if request.app.state.settings.totp_required and totp.required(caller.permissions):
            raise Conflict("Your role requires a second factor; an admin can reset it if the phone is lost.")
        _check_code(request, session, user, body.totp)
        user.totp_secret = user.totp_pending = None
        user.totp_last_step = None
        audit.record(
            session, caller.tenant_id, "auth.totp.disable", audit.actor_of(request), "users", user.name
        )
        session.commit()

    await run_in_threadpool(remove)
    return ok(request, True)


@router.delete(
    "/api/v6/users/{name}/totp.json",
    summary="Reset a user's second factor (a lost phone); their sign-ins end",
)
@permitted(Permission.ADMIN_USERS_UPDATE)
def totp_reset(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    user = session.get(User, (caller.tenant_id, name))
    if user is None:
        raise NotFound("User not found.")
    users.may_manage(session, caller, user)
    service.reset_second_factor(session, user)
    audit.record(session, caller.tenant_id, "auth.totp.reset", audit.actor_of(request), "users", user.name)
    session.commit()
    request.app.state.caller_cache.forget_user(user.tenant_id, user.name)
    return ok(request, True)


@router.get("/api/v6/whoim.json", openapi_extra={"x-permission": "authenticated"}, summary="Who am I")
def whoim(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    # Processor staff inside a tenant have no account of it.
    user = None if caller.token_kind == "entry" else session.get(User, (caller.tenant_id, caller.user))
    ctx = Ctx(caller)
    if user is not None:
        GROUPS(session, ctx, [user.name])  # the user's own groups, as users.json shows them
    return ok(
        request,
        {
            "version": API_VERSION,
            "user": serialize_user(user, ctx) if user is not None else None,
            "tenant": caller.tenant_id,
            "permissions": sorted(caller.permissions),
            "databases": None if caller.databases is None else sorted(caller.databases),
            "queues": None if caller.queues is None else sorted(caller.queues),
            "categories": None if caller.categories is None else sorted(caller.categories),
            "timezone": caller.timezone,
            "secondFactor": bool(user.totp_secret) if user is not None else None,
        },
    )
