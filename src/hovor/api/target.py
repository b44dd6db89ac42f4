"""The request target, checked before any route reads it: no longer than the configured limit, and
every query parameter (name and value) valid UTF-8; an API path without ``.json`` is read with it.

Starlette decodes a query string leniently: ``q=%FF%FE`` or a value holding an encoded surrogate
would reach a route as replacement characters and quietly match nothing, while the same bytes in a
JSON body are refused. Both answer 400 here, naming the parameter; an over-long target answers 414
in the envelope instead of the HTTP server's plain text.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hovor.api.envelope import error_response


def invalid_parameter(query_string: bytes) -> str | None:
    """The first query parameter whose name or value is not UTF-8 (as sent, decoded leniently),
    or None."""
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        raw_name = unquote_to_bytes(name.replace(b"+", b" "))
        try:
            raw_name.decode("utf-8")
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return raw_name.decode("utf-8", "replace")
    return None


API = "/api/v6/"
# Endpoints the reference also knows by an older name: the same resource, the same routes.
ENDPOINT_ALIASES = {"activitiesChat": "activitiesWeb"}
ALIASED = tuple(f"{API}{old}" for old in ENDPOINT_ALIASES)


def _aliased(scope: Scope) -> None:
    # The scope is changed in place: the firewall in front reads what the router wrote into it
    # (the route found), and would take a copy's found route for an unknown path.
    path: str = scope["path"]
    rest = path[len(API) :]
    for old, new in ENDPOINT_ALIASES.items():
        if rest.startswith(old) and rest[len(old) : len(old) + 1] in ("/", ".", ""):
            raw = scope.get("raw_path")
            scope["path"] = API + new + rest[len(old) :]
            if raw:
                scope["raw_path"] = raw.replace((API + old).encode(), (API + new).encode(), 1)
            break


def _with_suffix(scope: Scope) -> None:
    scope["path"] = scope["path"].rstrip("/") + ".json"
    raw = scope.get("raw_path")
    if raw:
        scope["raw_path"] = raw.rstrip(b"/") + b".json"


class RequestTarget:
    """Refuses an over-long request target (414) and a query parameter that is not UTF-8 (400)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string") or b""
            length = len(scope.get("raw_path") or scope["path"].encode()) + len(query)
            if length > self.max_bytes:
                message = f"The request target is longer than {self.max_bytes} bytes."
                await error_response(Request(scope, receive), 414, [message])(scope, receive, send)
                return
            path = scope["path"]
            if path.startswith(API) and not path.endswith(".json") and len(path) > len(API):
                # The reference's other URL form: /api/v6/tickets and /api/v6/tickets/{name}
                # without .json (the JavaScript connector sends only these) are the same routes.
                _with_suffix(scope)
            if path.startswith(ALIASED):
                _aliased(scope)
            bad = invalid_parameter(query) if query else None
            if bad is not None:
                # The parameter's name, never its value (which may be personal data).
                message = f"The query parameter {bad[:64]!r} is not valid UTF-8."
                await error_response(Request(scope, receive), 400, [message])(scope, receive, send)
                return
        await self.app(scope, receive, send)
