"""The application as ``hovor serve`` runs it, every answer tagged with the process that gave it.

The firewall's tests run two worker processes on one socket and must see which one answered; the
tag is theirs, so it is added here and never by the application itself."""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hovor.app import create_app


def create() -> ASGIApp:
    app = create_app()
    process = str(os.getpid()).encode()  # the factory runs in each worker, after the fork

    async def tagged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def tag(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-hovor-process", process)]}
            await send(message)

        await app(scope, receive, tag)

    return tagged
