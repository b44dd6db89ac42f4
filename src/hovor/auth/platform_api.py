"""The platform operator's routes: sign-in (with a second factor), sign-out, entering a tenant.

Their tokens are not tenant tokens: a tenant route refuses a ``platform`` token (401, it resolves
to no tenant caller), and a platform route refuses a tenant's token (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from hovor.api.deps import TOKEN_HEADER, DbSession
from hovor.api.envelope import ok
from hovor.audit import log as audit
from hovor.auth import platform, service
from hovor.auth.api import guarded, parsed
from hovor.auth.models import PlatformOperator, PlatformToken
from hovor.core.errors import Forbidden, Unauthorized
from hovor.core.validation import NoNulModel
from hovor.core.wire import to_wire

router = APIRouter(tags=["Platform"])
PLATFORM = {"x-permission": "platform"}


class StaffLoginIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(None, max_length=16)


class EnterIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tenant: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=32, description=f"One of {', '.join(platform.PURPOSES)}.")
    reference: str = Field(min_length=1, max_length=64, description="The support case's reference.")


def _staff_actor(request: Request, operator: str) -> audit.Actor:
    actor = audit.actor_of(request)
    return audit.Actor("staff", operator, actor.ip, actor.request_id)


async def get_operator(request: Request) -> PlatformToken:
    """The platform operator's live sign-in behind the request's token."""
    # The header only: never a cookie a cross-site page could ride on, nor a URL a log could keep.
    raw = request.headers.get(TOKEN_HEADER)
    if not raw:
        raise Unauthorized("Authentication required: send a platform operator's token in X-AUTH-TOKEN.")
    state = request.app.state
    token = await run_in_threadpool(platform.resolve, state.read_session_factory, raw)
    if token is None:
        caller = await run_in_threadpool(
            service.resolve_token, state.read_session_factory, state.caller_cache, raw, state.settings
        )
        if caller is not None:
            request.state.caller = caller  # who tried: the refusal goes in their tenant's audit log
            raise Forbidden("This route is for the platform operator (POST /api/v6/platform/login.json).")
        raise Unauthorized("The access token is invalid, expired or revoked.")
    return token


Operator = Annotated[PlatformToken, Depends(get_operator)]


@router.post(
    "/api/v6/platform/login.json",
    openapi_extra={"x-permission": "public"},
    summary="Sign in as platform operator (password and one-time code)",
)
async def staff_login(request: Request, session: DbSession) -> Any:
    body: StaffLoginIn = await parsed(request, StaffLoginIn)
    state = request.app.state
    settings = state.settings

    def delay() -> float:
        with state.read_session_factory() as reader:
            return service.failures_delay(
                reader, settings, audit.PLATFORM, "operators", body.username, "platform.login.fail"
            )

    def sign_in() -> dict[str, Any]:
        actor = audit.actor_of(request)
        try:
            with state.read_session_factory() as reader:
                platform.verify(reader, settings, body.username, body.password, body.totp)
            raw, token = platform.start(session, settings, body.username, body.password, body.totp)
        except platform.StaffLoginFailed as failed:
            if not failed.keep:
                session.rollback()
            details: dict[str, Any] = {"reason": failed.reason}
            if failed.operator is None:
                details["login"] = state.pseudonyms(audit.PLATFORM, body.username)
            audit.record(
                session, audit.PLATFORM, "platform.login.fail", actor, "operators", failed.operator, details
            )
            session.commit()
            raise
        audit.record(
            session,
            audit.PLATFORM,
            "platform.login.success",
            _staff_actor(request, token.operator),
            "operators",
            token.operator,
        )
        staff = session.get(PlatformOperator, token.operator)
        session.commit()
        assert staff is not None
        return {
            "accessToken": raw,
            "expires": to_wire(token.expires, settings.timezone),
            "operator": {"name": staff.name, "title": staff.title},
        }

    return ok(request, await guarded(request, PlatformOperator, body.username, delay, sign_in))


@router.post(
    "/api/v6/platform/logout.json", openapi_extra=PLATFORM, summary="Sign out (ends open entries too)"
)
def staff_logout(request: Request, session: DbSession, token: Operator) -> Any:
    actor = _staff_actor(request, token.operator)
    for entry in platform.revoke(session, token.hash, with_entries=True):
        assert entry.tenant_id is not None
        audit.record(session, entry.tenant_id, "platform.support.leave", actor)
        request.app.state.caller_cache.forget(entry.hash)
    audit.record(session, audit.PLATFORM, "platform.logout", actor, "operators", token.operator)
    session.commit()
    return ok(request, True)


@router.post(
    "/api/v6/platform/enter.json",
    openapi_extra=PLATFORM,
    summary="Enter a tenant (read only) for a stated purpose and support case",
)
async def staff_enter(request: Request, session: DbSession, token: Operator) -> Any:
    body: EnterIn = await parsed(request, EnterIn)
    settings = request.app.state.settings

    def enter() -> dict[str, Any]:
        raw, entry = platform.enter(session, settings, token, body.tenant, body.purpose, body.reference)
        details = {
            "purpose": entry.purpose,
            "reference": entry.reference,
            "until": audit.stamp(entry.expires),
        }
        actor = _staff_actor(request, token.operator)
        # In the tenant's own log, where its controller looks, and in the platform's.
        audit.record(session, body.tenant, "platform.support.enter", actor, "tenants", body.tenant, details)
        audit.record(
            session, audit.PLATFORM, "platform.support.enter", actor, "tenants", body.tenant, details
        )
        session.commit()
        return {
            "accessToken": raw,
            "tenant": body.tenant,
            "expires": to_wire(entry.expires, settings.timezone),
            "permissions": sorted(service.SUPPORT_PERMISSIONS),
        }

    return ok(request, await run_in_threadpool(enter))
