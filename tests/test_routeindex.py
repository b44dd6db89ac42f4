"""The route index finds the same route the ordinary matching would."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match

from hovor.api.routeindex import ROUTE_KEY, RouteIndex


def scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }


def test_index_resolves_like_the_router(app: Any) -> None:
    index = next(r for r in app.router.routes if isinstance(r, RouteIndex))
    cases = {
        ("GET", "/api/v6/contacts/contacts_1.json"): ("/api/v6/contacts/{name}.json", {"name": "contacts_1"}),
        ("PUT", "/api/v6/contacts/contacts_1.json"): ("/api/v6/contacts/{name}.json", {"name": "contacts_1"}),
        ("GET", "/api/v6/contacts.json"): ("/api/v6/contacts.json", {}),
        ("GET", "/api/v6/contacts/c.1/activities.json"): (
            "/api/v6/contacts/{name}/activities.json",
            {"name": "c.1"},
        ),
        ("GET", "/api/v6/tickets/17.json"): ("/api/v6/tickets/{name}.json", {"name": "17"}),
        ("POST", "/api/v6/activitiesEmail/import.json"): ("/api/v6/activitiesEmail/import.json", {}),
        ("GET", "/file/recording/activities_1"): ("/file/recording/{name}", {"name": "activities_1"}),
        ("POST", "/api/v6/login.json"): ("/api/v6/login.json", {}),
    }
    for (method, path), (template, params) in cases.items():
        match, child = index.matches(scope(method, path))
        assert match is Match.FULL, path
        assert child[ROUTE_KEY].path == template and child["path_params"] == params, path
    # Unknown paths and wrong methods fall through to the ordinary routes (404 and 405 answers).
    for method, path in (("GET", "/api/v6/nosuch.json"), ("PATCH", "/api/v6/contacts.json"), ("GET", "/x")):
        assert index.matches(scope(method, path))[0] is Match.NONE
