"""API tokens over HTTP, in the API (apiTokens.json) and in the console, which calls the same
functions: a token issued shows its secret once and works, an administrator cannot issue one with
rights she lacks, a revoked token stops at once; another tenant's token is not found."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _session_of, _signed_in

PATH = "/api/v6/apiTokens.json"


def _audited(app: Any, tenant_id: str) -> list[tuple[str, str | None, Any]]:
    with app.state.read_session_factory() as s:
        rows = s.query(AuditEntry).filter(
            AuditEntry.tenant_id == tenant_id,
            AuditEntry.action.in_(("auth.token.create", "auth.token.revoke")),
        )
        return [(e.action, e.object_key, e.details) for e in rows.order_by(AuditEntry.name)]


def test_the_api_issues_lists_and_revokes_a_token(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    issued = data(client.post(PATH, headers=h, json={"user": "acme-integration", "title": "PBX", "days": 30}))
    raw, name = issued["token"], issued["name"]
    assert issued["user"] == "acme-integration" and len(name) == 16
    assert client.get("/api/v6/contacts.json", headers={"X-AUTH-TOKEN": raw}).status_code == 200
    listed = data(client.get(PATH, headers=h))["data"]
    assert name in [t["name"] for t in listed] and raw not in str(listed)

    # Rights the administrator does not hold (the DPO's): not hers to hand out as a token.
    r = client.post(PATH, headers=h, json={"user": "acme-dpo"})
    assert r.status_code == 403 and "rights yours does not" in r.json()["error"][0]
    assert client.post(PATH, headers=h, json={"user": "nobody"}).status_code == 400
    assert client.post(PATH, headers=h, json={"user": "acme-operator", "days": 0}).status_code == 400
    assert (
        client.post(PATH, headers=tenant.h("supervisor"), json={"user": "acme-operator"}).status_code == 403
    )

    assert client.delete(f"/api/v6/apiTokens/{name}.json", headers=other_tenant.h("admin")).status_code == 404
    assert client.delete(f"/api/v6/apiTokens/{name}.json", headers=h).status_code == 200
    assert client.get("/api/v6/contacts.json", headers={"X-AUTH-TOKEN": raw}).status_code == 401
    assert [a for a, _, _ in _audited(app, "acme")] == ["auth.token.create", "auth.token.revoke"]
    assert all(d == {"kind": "api", "token": name} for _, _, d in _audited(app, "acme"))


def test_the_console_shows_the_secret_once_and_the_apis_refusal(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    csrf = _session_of(app, client, "acme-admin")
    before = data(client.get(PATH, headers=tenant.h("admin")))["total"]
    page = client.get("/admin/tokens")
    assert page.status_code == 200 and 'id="record-form"' in page.text
    assert '<option value="acme-integration"' in page.text

    r = client.post("/admin/tokens", data={"csrf": csrf, "user": "acme-dpo"})
    assert r.status_code == 403 and "Not saved: The user&#39;s role holds rights yours does not" in r.text
    for days in ("x", "²"):  # "²" is a digit to str.isdigit, not to int
        r = client.post("/admin/tokens", data={"csrf": csrf, "user": "acme-integration", "days": days})
        assert r.status_code == 400 and "Not saved:" in r.text
    assert data(client.get(PATH, headers=tenant.h("admin")))["total"] == before

    r = client.post("/admin/tokens", data={"csrf": csrf, "user": "acme-integration", "title": "PBX"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = re.search(r'id="secret" readonly value="([^"]+)"', r.text)
    assert found is not None
    raw = found.group(1)
    assert client.get("/api/v6/contacts.json", headers={"X-AUTH-TOKEN": raw}).status_code == 200
    # Shown once: the list afterwards has the token's key, never its secret.
    again = client.get("/admin/tokens")
    assert raw not in again.text and 'id="secret"' not in again.text
    name = data(client.get(PATH, headers=tenant.h("admin")))["data"][0]["name"]
    assert f'action="/admin/tokens/{name}/revoke"' in again.text

    r = client.post(f"/admin/tokens/{name}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v6/contacts.json", headers={"X-AUTH-TOKEN": raw}).status_code == 401
    assert client.post("/admin/tokens/0123456789abcdef/revoke", data={"csrf": csrf}).status_code == 404
    assert [a for a, _, _ in _audited(app, "acme")] == ["auth.token.create", "auth.token.revoke"]

    client.cookies.clear()
    _an_operator_reaches_no_token_page(client, tenant)


def _an_operator_reaches_no_token_page(client: Any, tenant: TenantFixture) -> None:
    issued = data(client.post(PATH, headers=tenant.h("admin"), json={"user": "acme-integration"}))
    csrf = _signed_in(client, "acme-operator")
    r = client.get("/admin/tokens")
    assert r.status_code == 403 and issued["name"] not in r.text
    assert client.post("/admin/tokens", data={"csrf": csrf, "user": "acme-operator"}).status_code == 403
    r = client.post(f"/admin/tokens/{issued['name']}/revoke", data={"csrf": csrf})
    assert r.status_code == 403
    assert data(client.get(PATH, headers=tenant.h("admin")))["data"][0]["active"] is True
