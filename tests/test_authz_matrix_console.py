"""The console's pages in the authorization matrix: every page x every built-in role x own and
foreign tenant, against the permission each page declares (the same as its API route's); the
records and sessions are made as in ``test_authz_matrix``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import ROLES
from hovor.core.db import unit_of_work, utcnow
from hovor.jobs import service as jobs
from test_authz_matrix import Route, _allowed, _fresh, _prepare, counter


def _console_routes(app: Any) -> list[Route]:
    """Every page of the console (served beside the API, outside its OpenAPI document)."""
    routes = []
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if endpoint is None or not endpoint.__module__.startswith("hovor.console"):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            routes.append(Route(method, route.path, (route.openapi_extra or {}).get("x-permission")))
    assert len(routes) > 15
    return routes


CONSOLE_KINDS = {
    "/contacts/{name}": "contacts",
    "/tickets/{name}": "tickets",
    "/dpo/contacts/{name}": "contacts",
    "/dpo/contacts/{name}/erase": "contacts",
    "/contacts/{name}/delete": "contacts",
    "/contacts/{name}/edit": "contacts",
    "/tickets/{name}/comments": "tickets",
    "/tickets/{name}/attachments": "tickets",
    "/activities/{name}": "activitiesWeb",
    "/dpo/recordings/{name}/delete": "activitiesCallRecordings",
    "/dpo/conversations/{name}/delete": "activitiesWeb",
    "/dpo/holds/{name}/release": "legalHolds",
    "/dpo/requests/{name}": "subjectRequests",
    "/dpo/requests/{name}/export": "subjectRequestsAccess",
    "/dpo/requests/{name}/exports": "subjectRequests",
    "/contacts/{name}/consents": "contacts",
    "/dpo/requests/{name}/verify": "subjectRequests",
    "/dpo/requests/{name}/extend": "subjectRequests",
    "/dpo/requests/{name}/answer": "subjectRequestsVerified",
    "/dpo/requests/{name}/refuse": "subjectRequests",
    "/tickets/{name}/delete": "tickets",
    "/records/{name}/delete": "campaignsRecords",
    "/admin/queues/{name}": "queues",
    "/admin/users/{name}": "users",
    "/admin/roles/{name}": "roles",
    "/admin/profiles/{name}": "profiles",
    "/admin/retention/{name}": "retentionPolicies",
    "/admin/networks/{name}/delete": "allowedNetworks",
    "/admin/forms/{name}": "formFields",
    "/admin/audit/{name}": "auditLog",
    "/admin/tokens/{name}/revoke": "apiTokens",
    "/admin/retention/jobs/{name}": "retentionJob",
    "/admin/retention/jobs/{name}/progress": "retentionJob",
}
# Pages whose {name} is a kind of record every tenant has (a retention policy's), not a record:
# there is no foreign one to ask for.
CONSOLE_KIND_NAMED = {"/admin/retention/{name}"}
# Pages of the sign-in itself (set-up, sign-out, start): reached by any signed-in user.
CONSOLE_OWN = {"/", "/logout", "/setup-2fa", "/setup-2fa/confirm"}


def _console_session(app: Any, tenant_id: str, role: str) -> tuple[str, str]:
    """A web session of the tenant's user of ``role`` (with a second factor, which some roles
    require) and its CSRF token."""
    import hashlib
    import hmac

    import pyotp

    from hovor.auth import totp
    from hovor.auth.models import User
    from hovor.auth.service import digest, issue_token

    with unit_of_work(app.state.session_factory) as s:
        user = s.get(User, (tenant_id, f"{tenant_id}-{role}"))
        sealer = totp.Sealer(app.state.settings.secret_key)
        user.totp_secret = sealer.seal(pyotp.random_base32(), totp.owner_of(tenant_id, user.name))
        raw, _ = issue_token(s, user, "session", dt.timedelta(hours=1))
    key = app.state.settings.secret_key.encode()
    csrf = hmac.new(key, b"console-csrf:" + digest(raw).encode(), hashlib.sha256).hexdigest()
    return raw, csrf


def _erasure_job(app: Any, tenant_id: str) -> str:
    """A finished erasure with its certificate, as the job leaves it."""
    from hovor.jobs.models import DONE

    with unit_of_work(app.state.session_factory) as s:
        job = jobs.enqueue(s, tenant_id, "erasure", {"contact": "gone"}, created_by="x", target="gone")
        job.state, job.result, job.finished = DONE, {"certificate": {"contact": "gone"}}, utcnow()
        return str(job.name)


# The console's create forms, with what makes a valid record.
CONSOLE_FORMS = {
    "/admin/users/new": lambda n: {"name": f"console-user-{n}", "title": "U", "role": "operator"},
    "/admin/roles/new": lambda n: {"name": f"crole{n}", "title": "R"},
    "/admin/profiles/new": lambda n: {"name": f"cprof{n}", "title": "P"},
    "/admin/tokens": lambda n: {"user": "own-integration"},
    "/admin/networks": lambda n: {"network": f"193.{n % 250}.{n // 250 % 250}.0/24"},
}


def _retention_job(app: Any, tenant_id: str) -> str:
    with unit_of_work(app.state.session_factory) as s:
        return str(jobs.enqueue(s, tenant_id, "retention", {}, created_by="x").name)


def _console_request(app: Any, route: Route, target: str) -> tuple[str, dict[str, Any]]:
    path = route.path
    if "{name}" in path:
        kind = CONSOLE_KINDS.get(path)
        if kind == "retentionJob":
            key = _retention_job(app, target)
        else:
            key = _fresh(app, target, kind) if kind else _erasure_job(app, target)
        path = path.replace("{name}", str(key))
    data: dict[str, Any] = {}
    if path == "/contacts/search":
        data = {"q": "Nováková"}
    elif path == "/dpo/search":
        data = {"phone": "601 000 000"}
    elif path.startswith("/admin/queues/"):
        data = {"recordings_retention": "30"}
    elif path in CONSOLE_FORMS:
        data = CONSOLE_FORMS[path](next(counter))
    elif route.path.startswith(("/admin/users/", "/admin/roles/", "/admin/profiles/")):
        data = {"title": "T", "role": "operator", "profile": "all"}
    elif route.path == "/admin/forms/{name}":
        data = {"title": "T", "position": "1"}
    elif route.path == "/admin/retention/{name}":
        data = {"days": "30"}
    elif path == "/admin/audit":
        data = {"action": "crm", "from": "2026-01-01"}
    elif path.endswith(("/erase", "/delete", "/release")):
        data = {"confirm": "yes"}
    elif path == "/new/contact" or path.endswith("/edit"):
        data = {"database": "main", "lastname": "Nováková"}
    elif path == "/new/ticket":
        data = {"title": "Reklamace", "category": "general"}
    elif path.endswith("/comments"):
        data = {"description": "Zavolá zítra."}
    elif path.endswith("/verify"):
        data = {"method": "id_document"}
    elif path.endswith("/extend"):
        # Told now (a second on: not before the request received this second), in the tenant's zone.
        told = dt.datetime.now(ZoneInfo("Europe/Prague")) + dt.timedelta(seconds=1)
        data = {"months": "1", "reason": "Rozsah", "told": told.strftime("%Y-%m-%dT%H:%M:%S")}
    elif path.endswith(("/answer", "/refuse")):
        data = {"outcome": "Vyřízeno"}
    elif path == "/dpo/requests":
        data = {"kind": "access", "received_via": "email", "name": "Eva Malá"}
    elif path == "/dpo/holds":
        data = {"object_type": "contacts", "object_key": _fresh(app, "own", "contacts"), "reason": "Spor"}
    return path, data


@pytest.mark.parametrize("role", ROLES)
def test_console_authorization_matrix(client: Any, app: Any, role: str) -> None:
    """Every console page x every role x own and foreign record: the page's permission, the same
    as its API route's; a refused page is the 403 page and a foreign record the 404 page."""
    _prepare(app, "own")
    _prepare(app, "foreign")
    checked = 0
    for route in _console_routes(app):
        declared = route.permission
        assert declared is not None, route.path
        if declared == "public" or route.path in CONSOLE_OWN:
            continue
        client.cookies.clear()
        path, data = _console_request(app, route, "own")
        r = client.request(route.method, path, data=data or None, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
        allowed = _allowed(role, declared)
        keyed = "{name}" in route.path and route.path not in CONSOLE_KIND_NAMED
        for target in ("own", "foreign") if keyed else ("own",):
            raw, csrf = _console_session(app, "own", role)
            client.cookies.set("c_user", raw)
            path, data = _console_request(app, route, target)
            if route.method == "POST":
                data["csrf"] = csrf
            upload = {"file": ("a.txt", b"hello", "text/plain")} if path.endswith("/attachments") else None
            r = client.request(route.method, path, data=data or None, files=upload, follow_redirects=False)
            where = f"{role} {route.method} {route.path} ({target}): {r.status_code}"
            if not allowed:
                assert r.status_code == 403, where
                assert "<h1>" in r.text and r.text.count("<form") <= 2, where  # language and sign-out only
            elif target == "foreign":
                assert r.status_code == 404, where
            else:
                assert r.status_code in (200, 303), where
            checked += 1
    client.cookies.clear()
    assert checked > 15
