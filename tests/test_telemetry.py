"""FastAPI's own OpenTelemetry stays off: where an operator's process sets a global provider, it
would export every request's query string (the words searched for, an ``accessToken``)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.telemetry import _asgi
from fastapi.testclient import TestClient

from hovor.app import create_app
from hovor.core.config import Settings


def test_no_request_goes_to_fastapis_telemetry(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_asgi, "_unconfigured", lambda provider: False)  # as if one were configured
    traced: list[str] = []
    real = _asgi.NativeTelemetry.__call__

    async def spy(self: Any, *, app: Any, scope: Any, receive: Any, send: Any, legacy_otel: Any) -> None:
        traced.append(scope["path"])
        await real(self, app=app, scope=scope, receive=receive, send=send, legacy_otel=legacy_otel)

    monkeypatch.setattr(_asgi.NativeTelemetry, "__call__", spy)
    app = create_app(settings)
    with TestClient(app) as client:
        assert (
            client.get("/api/v6/contacts.json", params={"q": "novakova", "accessToken": "x"}).status_code
            == 401
        )
    assert traced == []
