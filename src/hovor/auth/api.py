"""Sign-in routes and the users, roles and profiles resources."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from hovor.api.deps import CurrentCaller, DbSession
from hovor.api.envelope import ok
from hovor.api.errors import BadRequest, ValidationFailed
from hovor.api.resource import Ctx, Resource, qf, register
from hovor.api.serialize import stamps
from hovor.api.validation import form_from_pydantic
from hovor.api.wire import to_wire
from hovor.audit import log as audit
from hovor.auth import schemas, service, users
from hovor.auth.models import Profile, Role, User
from hovor.edge import firewall

router = APIRouter(tags=["Sign-in"])


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
        import json

        data = json.loads(raw)
    except ValueError:
        firewall.note(request, "malformed")
        raise BadRequest("Malformed JSON body.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


def _login_result(request: Request, result: service.LoginResult) -> dict[str, Any]:
    tz = request.app.state.settings.timezone
    return {
        "accessToken": result.access_token,
        "refreshToken": result.refresh_token,
        "expires": to_wire(result.expires, tz),
        "user": {"name": result.user.name, "title": result.user.title, "role": result.user.role},
    }


@router.post("/api/v6/login.json", openapi_extra={"x-permission": "public"}, summary="Sign in")
async def login(request: Request, session: DbSession) -> Any:
    try:
        body = schemas.LoginIn.model_validate(await _body(request))
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None

    settings = request.app.state.settings

    state = request.app.state

    def sign_in() -> service.LoginResult:
        # Argon2 is slow on purpose: it runs in the thread pool, in a read transaction, so neither
        # the event loop nor SQLite's write lock waits for it. Only the stamp and the tokens write.
        actor = audit.actor_of(request)
        try:
            with state.read_session_factory() as reader:
                verified = service.verify(reader, settings, body.username, body.password)
        except service.LoginFailed as failed:
            if failed.tenant_id is None:
                # Nobody by that name: the platform's chain, with the attempted name as a pseudonym.
                tenant, details = audit.PLATFORM, {"login": state.pseudonyms(audit.PLATFORM, body.username)}
            else:
                tenant, details = failed.tenant_id, {"reason": failed.reason}
            audit.record(session, tenant, "auth.login.fail", actor, "users", failed.user, details)
            session.commit()
            raise
        result = service.start_session(session, settings, verified, body.password)
        who = audit.Actor("user", verified.name, actor.ip, actor.request_id)
        audit.record(session, verified.tenant_id, "auth.login.success", who, "users", verified.name)
        session.commit()
        return result

    def delay() -> float:
        with state.read_session_factory() as reader:
            return service.login_delay(reader, settings, body.username)

    wait = await run_in_threadpool(delay)
    if wait:
        await asyncio.sleep(wait)  # the account is slowed, not locked: nothing else waits for it
    return ok(request, _login_result(request, await run_in_threadpool(sign_in)))


@router.put("/api/v6/login.json", openapi_extra={"x-permission": "public"}, summary="Refresh a token pair")
async def refresh(request: Request, session: DbSession) -> Any:
    try:
        body = schemas.RefreshIn.model_validate(await _body(request))
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None

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
    service.logout(session, caller)
    audit.record(session, caller.tenant_id, "auth.logout", audit.actor_of(request), "users", caller.user)
    session.commit()
    request.app.state.caller_cache.forget(caller.token_hash)
    return ok(request, True)


@router.get("/api/v6/whoim.json", openapi_extra={"x-permission": "authenticated"}, summary="Who am I")
def whoim(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    user = session.get(User, (caller.tenant_id, caller.user))
    assert user is not None
    return ok(
        request,
        {
            "user": serialize_user(user, Ctx(caller)),
            "tenant": caller.tenant_id,
            "permissions": sorted(caller.permissions),
            "databases": None if caller.databases is None else sorted(caller.databases),
            "queues": None if caller.queues is None else sorted(caller.queues),
            "categories": None if caller.categories is None else sorted(caller.categories),
            "timezone": caller.timezone,
        },
    )


def serialize_user(user: User, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": user.name,
        "title": user.title,
        "email": user.email,
        "phone": user.phone,
        "extension": user.extension,
        "role": user.role,
        "profile": user.profile,
        "deactivated": user.deactivated,
        "last_login": to_wire(user.last_login, ctx.tz),
        **stamps(user, ctx),
    }


def serialize_role(role: Role, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": role.name,
        "title": role.title,
        "description": role.description,
        "permissions": list(role.permissions or []),
        "builtin": role.builtin,
        "created": to_wire(role.created, ctx.tz),
        "edited": to_wire(role.edited, ctx.tz),
    }


def serialize_profile(profile: Profile, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": profile.name,
        "title": profile.title,
        "description": profile.description,
        "databases": None if profile.databases is None else list(profile.databases),
        "queues": None if profile.queues is None else list(profile.queues),
        "categories": None if profile.categories is None else list(profile.categories),
        "builtin": profile.builtin,
        "created": to_wire(profile.created, ctx.tz),
        "edited": to_wire(profile.edited, ctx.tz),
    }


def _forget_user(state: Any, user: User) -> None:
    # A new password, deactivation, or another role or profile applies at once in this worker.
    state.caller_cache.forget_user(user.tenant_id, user.name)


def _forget_everyone(state: Any, _: Any) -> None:
    # A role's permissions or a profile's scope changed: every cached caller may be affected.
    state.caller_cache.clear()


def _role_change(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if before.get("role") == after.get("role"):
        return []
    return [("auth.role.change", {"from": before.get("role"), "to": after.get("role")})]


register(
    Resource(
        endpoint="users",
        audit="auth.user",
        title="Users",
        model=User,
        permission="admin:users",
        fields=[
            qf("name", User.name),
            qf("title", User.title),
            qf("email", User.email),
            qf("phone", User.phone),
            qf("extension", User.extension),
            qf("role", User.role),
            qf("profile", User.profile),
            qf("deactivated", User.deactivated, "bool"),
            qf("last_login", User.last_login, "datetime"),
            qf("created", User.created, "datetime"),
            qf("edited", User.edited, "datetime"),
            qf("created_by", User.created_by),
            qf("edited_by", User.edited_by),
        ],
        serialize=serialize_user,
        create_schema=schemas.UserCreate,
        update_schema=schemas.UserUpdate,
        create=users.create_user,
        update=users.update_user,
        delete=users.delete_user,
        after_change=_forget_user,
        audit_also=_role_change,
        q_columns=[User.name, User.title, User.email],
        default_order=[User.name.asc()],
    )
)

register(
    Resource(
        endpoint="roles",
        audit="auth.role",
        title="Roles (accesses)",
        model=Role,
        permission="admin:roles",
        fields=[
            qf("name", Role.name),
            qf("title", Role.title),
            qf("description", Role.description),
            qf("builtin", Role.builtin, "bool"),
            qf("permissions", Role.permissions, filter=False, sort=False),
            qf("created", Role.created, "datetime"),
            qf("edited", Role.edited, "datetime"),
        ],
        serialize=serialize_role,
        create_schema=schemas.RoleCreate,
        update_schema=schemas.RoleUpdate,
        create=users.create_role,
        update=users.update_role,
        delete=users.delete_role,
        after_change=_forget_everyone,
        q_columns=[Role.name, Role.title],
        default_order=[Role.name.asc()],
    )
)

register(
    Resource(
        endpoint="profiles",
        audit="auth.profile",
        title="Profiles (rights)",
        model=Profile,
        permission="admin:profiles",
        fields=[
            qf("name", Profile.name),
            qf("title", Profile.title),
            qf("description", Profile.description),
            qf("builtin", Profile.builtin, "bool"),
            qf("databases", Profile.databases, filter=False, sort=False),
            qf("queues", Profile.queues, filter=False, sort=False),
            qf("categories", Profile.categories, filter=False, sort=False),
            qf("created", Profile.created, "datetime"),
            qf("edited", Profile.edited, "datetime"),
        ],
        serialize=serialize_profile,
        create_schema=schemas.ProfileCreate,
        update_schema=schemas.ProfileUpdate,
        create=users.create_profile,
        update=users.update_profile,
        delete=users.delete_profile,
        after_change=_forget_everyone,
        q_columns=[Profile.name, Profile.title],
        default_order=[Profile.name.asc()],
    )
)
