"""Every route x every built-in role x own and foreign tenant, against the permission each route
declares. A foreign tenant's record is a 404 for a role that could otherwise act on it, and a 403
(which says nothing about the record) for a role that could not."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import ROLES, TenantFixture, make_tenant
from hovor.auth.permissions import BUILTIN_ROLES
from hovor.db import unit_of_work
from hovor.demo import system_caller

counter = itertools.count()


def _fresh(app: Any, tenant: str, endpoint: str) -> str:
    """Creates a new record of ``endpoint`` in ``tenant`` through the services; returns its key."""
    from hovor.auth import schemas as auth
    from hovor.auth import users
    from hovor.crm import schemas as crm
    from hovor.crm import service

    n = next(counter)
    with unit_of_work(app.state.session_factory) as s:
        c = system_caller(s, tenant)
        makers: dict[str, Callable[[], Any]] = {
            "users": lambda: users.create_user(
                s, c, auth.UserCreate(name=f"{tenant}-u{n}", title="U", role="operator")
            ),
            "roles": lambda: users.create_role(s, c, auth.RoleCreate(name=f"r{n}", title="R")),
            "profiles": lambda: users.create_profile(s, c, auth.ProfileCreate(name=f"p{n}", title="P")),
            "databases": lambda: service.create_database(s, c, crm.DatabaseCreate(name=f"d{n}", title="D")),
            "accounts": lambda: service.create_account(s, c, crm.AccountCreate(title="A", database="main")),
            "contacts": lambda: service.create_contact(
                s, c, crm.ContactCreate(lastname="K", database="main")
            ),
            "formFields": lambda: service.create_form_field(
                s, c, crm.FormFieldCreate(name=f"f{n}", title="F", object_type="contacts", type="text")
            ),
        }
        return str(makers[endpoint]().name)


def _create_body(endpoint: str) -> dict[str, Any]:
    n = next(counter)
    return {
        "users": {"name": f"new-user-{n}", "title": "New", "role": "operator"},
        "roles": {"name": f"role{n}", "title": "Role"},
        "profiles": {"name": f"prof{n}", "title": "Profile"},
        "databases": {"title": "DB"},
        "accounts": {"title": "Acc", "database": "main"},
        "contacts": {"lastname": "New", "database": "main"},
        "formFields": {"name": f"field{n}", "title": "F", "object_type": "contacts", "type": "text"},
    }[endpoint]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: str | None


def _routes(app: Any) -> list[Route]:
    """Every operation of the API, as the OpenAPI document (built from the routes) lists it."""
    routes = [
        Route(method.upper(), path, op.get("x-permission"))
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v6/")
    ]
    assert len(routes) > 40  # the walk itself must find the routes, or the checks below prove nothing
    return routes


def test_every_route_declares_its_permission(app: Any) -> None:
    undeclared = [f"{r.method} {r.path}" for r in _routes(app) if r.permission is None]
    assert undeclared == []


def _allowed(role: str, declared: str) -> bool:
    if declared in ("public", "authenticated"):
        return True
    perms = BUILTIN_ROLES[role][1]
    return all(p in perms for p in declared.split())


def _endpoint_of(route: Route) -> str:
    return route.path.removeprefix("/api/v6/").split("/")[0].removesuffix(".json")


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(client: Any, app: Any, role: str) -> None:
    own = make_tenant(app, "own")
    make_tenant(app, "foreign")
    checked = 0
    for route in _routes(app):
        declared = route.permission
        assert declared is not None
        if declared == "public":
            continue
        method = route.method
        allowed = _allowed(role, declared)
        ep = _endpoint_of(route)
        has_key = "{name}" in route.path

        # No token: every non-public route refuses.
        path = route.path.replace("{name}", _fresh(app, "own", ep) if has_key else "x")
        assert client.request(method, path).status_code == 401, path

        for target in ("own", "foreign") if has_key else ("own",):
            headers = (
                own.h(role) if not route.path.endswith("logout.json") else _fresh_token(client, own, role)
            )
            path = route.path.replace("{name}", _fresh(app, target, ep)) if has_key else route.path
            body = _create_body(ep) if method == "POST" and not path.endswith("logout.json") else {}
            r = client.request(
                method, path, headers=headers, json=body if method in ("POST", "PUT") else None
            )
            where = f"{role} {method} {route.path} ({target}): {r.status_code} {r.text[:200]}"
            if not allowed:
                assert r.status_code == 403, where
                assert r.json()["result"] is None, where
            elif target == "foreign":
                assert r.status_code == 404, where
                assert r.json()["result"] is None, where
            else:
                assert r.status_code in (200, 201, 204), where
            checked += 1
    assert checked > 40


def _fresh_token(client: Any, tenant: TenantFixture, role: str) -> dict[str, str]:
    r = client.post(
        "/api/v6/login.json", json={"username": f"{tenant.id}-{role}", "password": "correct horse 1"}
    )
    return {"X-AUTH-TOKEN": r.json()["result"]["accessToken"]}
