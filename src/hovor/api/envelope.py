"""The v6 envelope: ``{"error": [], "result": ..., "_time": "..."}``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from hovor.api.wire import now_wire


def _tz(request: Request) -> str:
    caller = getattr(request.state, "caller", None)
    if caller is not None:
        return str(caller.timezone)
    return str(request.app.state.settings.timezone)


def ok(request: Request, result: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"error": [], "result": result, "_time": now_wire(_tz(request))}, status_code=status)


def error_response(
    request: Request, status: int, error: Any, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"error": error, "result": None, "_time": now_wire(_tz(request))}, status_code=status, headers=headers
    )


def no_content() -> Response:
    return Response(status_code=204)
