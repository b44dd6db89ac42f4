"""The console's reads: a page or a record of a resource exactly as the API's list and read routes
answer them (the resource's query, its row scoping through ``serialize_one``/``list_result``, its
serializer), under the read right of that kind of record; and the 404 page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from hovor.api.resource import REGISTRY
from hovor.api.visible import list_result, serialize_one
from hovor.console.web import Refused, render
from hovor.core.caller import Caller


def equal(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": "eq", "value": value}


def read_list(request: Request, caller: Caller, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """A page of ``endpoint`` as its list route answers it, or nothing when the caller's role does
    not read that kind of record (a card shows what its reader may see)."""
    resource = REGISTRY[endpoint]
    if not caller.can(resource.perm("read")):
        return {"data": [], "total": 0, "hidden": True}
    with request.app.state.read_session_factory() as session:
        return list_result(request, session, caller, resource, params=params)


def read_one(request: Request, caller: Caller, endpoint: str, key: str) -> dict[str, Any]:
    """One record as its read route answers it. A caller whose role does not read that kind of
    record is refused (the 403 page), whatever right brought her to the page: a refused comment
    or step must not show her the record it was refused on."""
    resource = REGISTRY[endpoint]
    if not caller.can(resource.perm("read")):
        raise Refused()
    with request.app.state.read_session_factory() as session:
        return serialize_one(session, resource, caller, key)


def not_found(request: Request) -> Response:
    return render(request, "error.html", {"status": 404}, status=404)
