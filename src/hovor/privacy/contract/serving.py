"""A verified contract-end package served read-only under the v6 routes, for the controller's
``daktela`` SDK (or any v6 client) to read its data back: ``GET /api/v6/{endpoint}.json`` (the
list, with the API's query), ``GET /api/v6/{endpoint}/{name}.json`` (one record),
``GET /api/v6/{endpoint}/{name}/{relation}.json`` and ``GET /api/v6/whoim.json`` (what the SDK's
ping asks). The ``.json`` may be left out, as the API allows. Anything else that is not a GET is a
405: nothing in the package changes.

Every request needs the access token the server was started with (``X-AUTH-TOKEN``, the
``c_user`` cookie or ``accessToken``, as the API takes it): the package holds personal data, and a
port on the loopback interface is open to every user of the machine.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.api.envelope import Envelope
from hovor.api.target import API, ENDPOINT_ALIASES
from hovor.core.errors import ApiError, NotFound
from hovor.core.wire import now_wire
from hovor.privacy.contract.reading import Package

READER = "package-reader"


def _answer(package: Package, status: int, result: Any, error: Any = None) -> Response:
    body = {"error": error or [], "result": result, "_time": now_wire(package.tz)}
    return Envelope(body, status_code=status)


def _token_of(request: Request) -> str:
    return (
        request.headers.get("x-auth-token")
        or request.cookies.get("c_user")
        or request.query_params.get("accessToken")
        or ""
    )


def _segments(request: Request) -> list[str]:
    """The path after ``/api/v6/``, split before decoding: a name may hold an encoded slash."""
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    rest = raw.split("?", 1)[0][len(API) :].rstrip("/")
    if rest.endswith(".json"):
        rest = rest[: -len(".json")]
    parts = [unquote(p) for p in rest.split("/")] if rest else []
    if parts:
        parts[0] = ENDPOINT_ALIASES.get(parts[0], parts[0])
    return parts


def _read(package: Package, parts: list[str], items: list[tuple[str, str]]) -> Any:
    if parts == ["whoim"]:
        return {"user": {"name": READER, "title": "Contract-end package"}, "tenant": package.tenant.get("id")}
    if len(parts) == 1:
        return package.page(parts[0], items)
    if len(parts) == 2:
        return package.get(parts[0], parts[1])
    if len(parts) == 3:
        return package.related(parts[0], parts[1], parts[2], items)
    raise NotFound("No such route.")


def make_app(package: Package, token: str) -> FastAPI:
    """The read-only server of ``package``; every request must carry ``token``."""
    app = FastAPI(title="hovor contract-end package", openapi_url=None, docs_url=None, redoc_url=None)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def route(request: Request, path: str) -> Response:
        if not hmac.compare_digest(_token_of(request).encode(), token.encode()):
            return _answer(package, 401, None, ["A valid access token is needed."])
        if not request.url.path.startswith(API):
            return _answer(package, 404, None, ["No such route."])
        if request.method not in ("GET", "HEAD"):
            return _answer(package, 405, None, ["The package is read-only."])
        items = [(k, v) for k, v in request.query_params.multi_items() if k != "accessToken"]
        try:
            result = await run_in_threadpool(_read, package, _segments(request), items)
        except ApiError as exc:
            return _answer(package, exc.status, None, exc.payload())
        return _answer(package, 200, result)

    return app
