"""Finds a request's route by the shape of its path instead of trying every route in turn.

FastAPI matches a request against each route in order, a few microseconds apiece; with one route
per operation of every resource that is most of a millisecond per request before any of hovor's
code runs. This index maps a path shape (``/api/v6/contacts/*.json``) to its routes; the router
still asks the one candidate route to match, so path parameters and everything FastAPI sets up
come from FastAPI itself. Paths the index does not know fall through to the ordinary routes.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

_PARAM = re.compile(r"\{[^}]+\}")
ROUTE_KEY = "hovor.route"


def shape(path: str) -> str:
    return _PARAM.sub("*", path)


def _candidates(path: str) -> list[str]:
    """Shapes a concrete path may have: itself, and with any one segment a parameter (a key may
    contain dots, so only a last segment's ``.json`` suffix stays literal)."""
    parts = path.split("/")
    shapes = [path]
    for i in range(1, len(parts)):
        last = i == len(parts) - 1
        wildcard = "*.json" if last and parts[i].endswith(".json") else "*"
        shapes.append("/".join([*parts[:i], wildcard, *parts[i + 1 :]]))
    return shapes


class RouteIndex(BaseRoute):
    def __init__(self, routes: list[Any]) -> None:
        self.by_shape: dict[str, list[Any]] = {}
        for route in routes:
            path = getattr(route, "path", None)
            if path and path.count("{") <= 1:
                self.by_shape.setdefault(shape(path), []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        for candidate in _candidates(scope["path"]):
            for route in self.by_shape.get(candidate, ()):
                match, child = route.matches(scope)
                if match is Match.FULL:
                    return Match.FULL, {**child, ROUTE_KEY: route}
        # Unknown path, or a known one with another method: the ordinary routes answer 404 or 405.
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[ROUTE_KEY].handle(scope, receive, send)
