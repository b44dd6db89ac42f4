"""The tenant's allowed networks in the console over HTTP: added and removed through the API's own
work (its checks, its audit entries), its refusals shown with its message, nothing changed."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _session_of, _signed_in

PATH = "/api/v6/allowedNetworks.json"


def test_an_administrator_adds_and_removes_an_office(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    csrf = _session_of(app, client, "acme-admin")
    page = client.get("/admin/networks")
    assert page.status_code == 200 and "No networks yet." in page.text
    assert 'href="/admin/networks"' in client.get("/admin/users").text

    r = client.post("/admin/networks", data={"csrf": csrf, "network": "10.1.2.0/24"})
    assert r.status_code == 400 and "Not saved: network must be a public address" in r.text
    assert 'value="10.1.2.0/24"' in r.text
    r = client.post("/admin/networks", data={"csrf": csrf, "network": "185.0.0.0/8"})
    assert r.status_code == 400 and "may be at most a /24" in r.text
    assert data(client.get(PATH, headers=h))["total"] == 0

    r = client.post(
        "/admin/networks",
        data={"csrf": csrf, "network": "185.64.12.0/24", "note": "Brno"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/networks?saved=1"
    r = client.post("/admin/networks", data={"csrf": csrf, "network": "185.64.12.9/24"})
    assert r.status_code == 409 and "This network is listed already." in r.text
    listed = data(client.get(PATH, headers=h))["data"]
    assert [n["network"] for n in listed] == ["185.64.12.0/24"]
    page = client.get("/admin/networks")
    assert "185.64.12.0/24" in page.text and "Brno" in page.text
    name = listed[0]["name"]
    assert f'action="/admin/networks/{name}/delete"' in page.text

    # Another tenant's entry is not found, as in the API.
    theirs = data(client.post(PATH, headers=other_tenant.h("admin"), json={"network": "193.1.2.0/24"}))
    assert client.post(f"/admin/networks/{theirs['name']}/delete", data={"csrf": csrf}).status_code == 404
    assert data(client.get(PATH, headers=other_tenant.h("admin")))["total"] == 1

    r = client.post(f"/admin/networks/{name}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/networks?deleted=1"
    assert data(client.get(PATH, headers=h))["total"] == 0
    with app.state.read_session_factory() as s:
        mine = s.query(AuditEntry).filter(
            AuditEntry.tenant_id == "acme", AuditEntry.action.startswith("edge.firewall")
        )
        actions = sorted(e.action for e in mine)
        assert actions == ["edge.firewall.rule.create", "edge.firewall.rule.delete"]
        assert all("185.64" not in str(e.details) for e in mine)

    client.cookies.clear()
    _a_supervisor_reaches_no_network_page(client, tenant)


def _a_supervisor_reaches_no_network_page(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h("admin")
    office = data(client.post(PATH, headers=h, json={"network": "185.64.12.0/24"}))
    csrf = _signed_in(client, "acme-supervisor")
    r = client.get("/admin/networks")
    assert r.status_code == 403 and "185.64" not in r.text
    assert client.post("/admin/networks", data={"csrf": csrf, "network": "185.64.13.0/24"}).status_code == 403
    r = client.post(f"/admin/networks/{office['name']}/delete", data={"csrf": csrf})
    assert r.status_code == 403
    assert data(client.get(PATH, headers=h))["total"] == 1
    assert re.search(r"185\.64\.13", str(data(client.get(PATH, headers=h)))) is None
