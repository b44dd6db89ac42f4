"""The console's own pages: sign-in (with the second factor and its set-up), sign-out, the start
page, the language switch, the static files; and :func:`install`, which the app factory calls."""

from __future__ import annotations

import hmac
from typing import Any

import segno
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from hovor.api.deps import TOKEN_COOKIE, write_session
from hovor.audit import log as audit
from hovor.auth import api as auth_api
from hovor.auth import schemas as auth_schemas
from hovor.auth import service as auth_service
from hovor.console import (
    admin_audit,
    admin_forms,
    admin_networks,
    admin_queues,
    admin_retention,
    admin_tokens,
    admin_users,
    contact_form,
    deletes,
    dpo,
    dpo_holds,
    dpo_items,
    dpo_register,
    i18n,
    operator,
    threads,
    tickets,
    web,
)
from hovor.console.web import Refused, SetupNeeded, SignInNeeded, needs, redirect, render, require
from hovor.core.errors import ApiError
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
PUBLIC = {"x-permission": "public"}


@router.get("/static/{digest}/{name}", openapi_extra=PUBLIC)
def static(digest: str, name: str) -> Response:
    found = web.FILES.get(name)
    if found is None or not hmac.compare_digest(found.digest, digest):
        return Response(status_code=404)
    return FileResponse(
        found.path,
        media_type=found.media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/", openapi_extra=needs("authenticated"))
async def home(request: Request) -> Response:
    caller = await require(request)
    # Each role starts where its work is: the DPO in the workspace, the others at the contacts.
    if caller.can(Permission.DPO_SUBJECTS_SEARCH):
        return redirect(request, "/dpo")
    if caller.can(Permission.CRM_CONTACTS_READ):
        return redirect(request, "/contacts")
    return render(request, "home.html")


# --- sign-in -----------------------------------------------------------------------------------
@router.get("/login", openapi_extra=PUBLIC)
async def login_page(request: Request) -> Response:
    caller = await web.session_caller(request)
    if caller is not None and caller.token_kind == "session":
        return redirect(request, "/")
    ended = request.query_params.get("ended") == "1"
    return render(request, "login.html", {"ended": ended, "code": False})


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.post("/login", openapi_extra=PUBLIC)
async def login_submit(request: Request) -> Response:
    await web.check_csrf(request, None)
    form = await request.form()
    username, password = _text(form, "username", 320), _text(form, "password", 1024)
    code = _text(form, "totp", 16).replace(" ", "") or None
    try:
        body = auth_schemas.LoginIn(username=username, password=password, totp=code, session=True)
    except ValidationError:
        return render(request, "login.html", {"failed": True, "code": False}, status=400)
    session = write_session(request.app.state)
    try:
        result = await auth_api.sign_in(request, session, body)
    except auth_service.CodeNeeded:
        # The password was right: ask for the code, keeping the name and password in the form
        # (posted again with it; never put in a URL or a cookie).
        context = {"code": True, "username": username, "password": password}
        return render(request, "login.html", context)
    except ApiError as refused:
        status = refused.status if refused.status in (401, 429) else 400
        return render(
            request, "login.html", {"failed": True, "code": bool(code), "username": username}, status=status
        )
    finally:
        session.close()
    response = redirect(request, "/setup-2fa" if result.second_factor == "setup" else "/")
    lifetime = (
        auth_service.ENROLL_LIFETIME.seconds
        if result.second_factor == "setup"
        else request.app.state.settings.session_max_hours * 3600
    )
    auth_api.set_session_cookie(request, response, result.access_token, lifetime)
    response.delete_cookie(web.PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout", openapi_extra=needs("authenticated"))
async def logout(request: Request) -> Response:
    caller = await require(request, setup=True)
    session = write_session(request.app.state)
    try:
        await run_in_threadpool(_end_session, request, session, caller)
    finally:
        session.close()
    response = redirect(request, "/login")
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _end_session(request: Request, session: Any, caller: Any) -> None:
    auth_service.logout(session, caller)
    audit.record(session, caller.tenant_id, "auth.logout", audit.actor_of(request), "users", caller.user)
    session.commit()
    request.app.state.caller_cache.forget(caller.token_hash)


# --- the second factor's set-up ----------------------------------------------------------------
@router.get("/setup-2fa", openapi_extra=needs("authenticated"))
async def setup_page(request: Request) -> Response:
    await require(request, setup=True)
    return render(request, "setup.html", {"started": False})


@router.post("/setup-2fa", openapi_extra=needs("authenticated"))
async def setup_start(request: Request) -> Response:
    caller = await require(request, setup=True)
    form = await request.form()
    body = auth_schemas.TotpIn(password=_text(form, "password", 1024) or None)
    session = write_session(request.app.state)
    try:
        started = await run_in_threadpool(auth_api.begin_totp, request, session, caller, body)
    except ApiError:
        return render(request, "setup.html", {"started": False, "failed": True}, status=403)
    finally:
        session.close()
    qr = segno.make(started["uri"], error="m").svg_data_uri(scale=5, border=2)
    return render(request, "setup.html", {"started": True, "qr": qr, "secret": started["secret"]})


@router.post("/setup-2fa/confirm", openapi_extra=needs("authenticated"))
async def setup_confirm(request: Request) -> Response:
    caller = await require(request, setup=True)
    form = await request.form()
    code = _text(form, "totp", 16).replace(" ", "")
    body = auth_schemas.TotpIn(totp=code or None, session=True)
    session = write_session(request.app.state)
    try:
        result = await run_in_threadpool(auth_api.confirm_totp, request, session, caller, body)
    except ApiError:
        return render(request, "setup.html", {"started": True, "wrong": True}, status=403)
    finally:
        session.close()
    response = redirect(request, "/")
    max_age = request.app.state.settings.session_max_hours * 3600
    auth_api.set_session_cookie(request, response, result.access_token, max_age)
    return response


@router.post("/language", openapi_extra=PUBLIC)
async def language(request: Request) -> Response:
    caller = await web.session_caller(request)
    await web.check_csrf(request, caller)
    form = await request.form()
    chosen = _text(form, "lang", 5)
    back = _text(form, "back", 200)
    # Only a path of this console: an open redirect would let a link send people elsewhere.
    # (Browsers read "/\\host" and "/<tab>/host" as "//host": no backslash, no control character.)
    local = back.startswith("/") and not back.startswith("//") and back.isprintable() and "\\" not in back
    target = back if local else "/"
    response = redirect(request, target)
    if chosen in i18n.LOCALES:
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="strict")
    return response


# --- installation ------------------------------------------------------------------------------
def _sign_in_needed(request: Request, exc: Exception) -> Response:
    ended = isinstance(exc, SignInNeeded) and exc.ended
    response = redirect(request, "/login?ended=1" if ended else "/login")
    if ended:
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _setup_needed(request: Request, exc: Exception) -> Response:
    return redirect(request, "/setup-2fa")


def _refused(request: Request, exc: Exception) -> Response:
    # Nothing of the refused page: the same page whatever was asked for.
    return render(request, "forbidden.html", status=403)


def install(app: FastAPI) -> list[Any]:
    """The console's routes (for the app to add) and its refusal pages."""
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(SetupNeeded, _setup_needed)
    app.add_exception_handler(Refused, _refused)
    pages = (
        router,
        operator.router,
        contact_form.router,
        tickets.router,
        threads.router,
        deletes.router,
        admin_queues.router,
        admin_audit.router,
        admin_users.router,
        admin_retention.router,
        admin_networks.router,
        admin_forms.router,
        admin_tokens.router,
        dpo.router,
        dpo_items.router,
        dpo_holds.router,
        dpo_register.router,
    )
    return [route for page in pages for route in page.routes]
