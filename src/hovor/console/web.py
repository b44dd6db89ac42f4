"""What every console page shares: the signed-in caller (the API's web session, read from its
cookie), the CSRF token bound to that session, the templates, the static files under a content
hash, the security headers, and the two ways a page refuses (sign in first; not yours: 403).

There is no second rights model: a page names the permission of the API route it mirrors and
reads through the same services and the same row-scoping choke point (``hovor.core.scope``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hovor.api import deps
from hovor.api.deps import TOKEN_COOKIE, _same_origin
from hovor.console import i18n
from hovor.core.caller import Caller
from hovor.core.errors import Forbidden

HERE = Path(__file__).parent
STATIC = HERE / "static"

# No inline script or style anywhere: every script and style sheet is a file under /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    # Same-origin: forms must carry their Origin (the CSRF check); other sites learn nothing.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# Before sign-in there is no session to bind a token to: the sign-in form's token is bound to a
# random value in a cookie of its own instead.
PRESESSION_COOKIE = "c_pre"


# --- static files ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaticFile:
    path: Path
    digest: str
    media_type: str


MEDIA = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain; charset=utf-8"}


def _static_files() -> dict[str, StaticFile]:
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and path.suffix in MEDIA:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            found[path.name] = StaticFile(path, digest, MEDIA[path.suffix])
    return found


FILES = _static_files()


def static_url(name: str) -> str:
    """The file's address with its content hash in it: cached for a year, a new release a new URL."""
    return f"/static/{FILES[name].digest}/{name}"


# --- refusals ----------------------------------------------------------------------------------
class SignInNeeded(Exception):
    """No session, or it ended (idle or absolute limit): the sign-in page."""

    def __init__(self, ended: bool = False) -> None:
        self.ended = ended


class SetupNeeded(Exception):
    """The role asks for a second factor that is not set up yet: the set-up page."""


class Refused(Exception):
    """Signed in, but not allowed here: the 403 page, which shows nothing of the refused page."""


def needs(permission: str) -> dict[str, Any]:
    """A page route's ``openapi_extra``: the permission it needs, where the authorization matrix
    reads it (as it reads an API route's)."""
    return {"x-permission": str(permission)}


# --- the caller --------------------------------------------------------------------------------
async def session_caller(request: Request) -> Caller | None:
    """The caller of the request's web session cookie, as the API resolves it (idle and absolute
    limits, revocation), or None."""
    raw = request.cookies.get(TOKEN_COOKIE)
    if not raw or len(raw) > 200:
        return None
    return await deps.resolve(request, raw)


async def require(request: Request, *permissions: str, setup: bool = False) -> Caller:
    """The signed-in caller holding every one of ``permissions``; ``setup``: a page of the
    second factor's set-up, which a set-up token may reach (and nothing else may)."""
    caller = await session_caller(request)
    if caller is None:
        raise SignInNeeded(ended=TOKEN_COOKIE in request.cookies)
    if caller.token_kind == "api":
        raise Refused()  # an integration's token is no browser session
    if caller.token_kind in ("enroll", "confined") and not setup:
        raise SetupNeeded()
    request.state.caller = caller
    if request.method not in ("GET", "HEAD"):
        await check_csrf(request, caller)
    if any(not caller.can(p) for p in permissions):
        raise Refused()
    return caller


# --- CSRF --------------------------------------------------------------------------------------
def _mac(request: Request, bound_to: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, b"console-csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request, caller: Caller | None) -> str:
    """The token every state-changing form and htmx request of the page carries: a MAC of the
    session's token hash (it changes with every sign-in, and a page of another site cannot read it)."""
    if caller is not None and caller.token_hash:
        return _mac(request, caller.token_hash)
    return _mac(request, "pre:" + presession(request))


def presession(request: Request) -> str:
    value = request.cookies.get(PRESESSION_COOKIE) or getattr(request.state, "presession", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.presession = value
    return str(value)


async def _given_token(request: Request) -> str:
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, caller: Caller | None) -> None:
    """A change must come from a page of this service (Origin) and carry the page's token."""
    try:
        _same_origin(request)
    except Forbidden:
        raise Refused() from None
    expected = csrf_token(request, caller)
    if caller is None and PRESESSION_COOKIE not in request.cookies:
        raise Refused()
    if not hmac.compare_digest(await _given_token(request), expected):
        raise Refused()


# --- rendering ---------------------------------------------------------------------------------
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["static"] = static_url


def secure(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
    return response


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    caller: Caller | None = getattr(request.state, "caller", None)
    lang = i18n.language_of(request)
    translations = i18n.translations(lang)
    tz = caller.timezone if caller else request.app.state.settings.timezone
    values = {
        "request": request,
        "caller": caller,
        "lang": lang,
        "_": translations.gettext,
        "ngettext": translations.ngettext,
        "csrf": csrf_token(request, caller),
        "when": lambda value: i18n.local_time(value, tz, lang),
        "htmx": request.headers.get("hx-request") == "true",
        **(context or {}),
    }
    body = ENV.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status)
    secure(response)
    fresh = getattr(request.state, "presession", None)
    if fresh and caller is None:
        response.set_cookie(PRESESSION_COOKIE, fresh, path="/", httponly=True, samesite="strict")
    return response


def redirect(request: Request, to: str) -> Response:
    """Where to go next: a 303, or for an htmx request the header that makes htmx go there whole."""
    if request.headers.get("hx-request") == "true":
        return secure(Response(status_code=204, headers={"HX-Redirect": to}))
    return secure(RedirectResponse(to, status_code=303))
