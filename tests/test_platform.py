"""Processor staff over HTTP: sign-in with a second factor, the firewall's bans and lists, and
entering a tenant only with a stated purpose that lands in that tenant's audit log. And a tenant
admin's own allow-list."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from conftest import TenantFixture, data
from hovor.audit.chain import verify_tenant
from hovor.audit.log import PLATFORM
from hovor.audit.models import AuditEntry
from hovor.auth import platform, totp
from hovor.auth.models import PlatformOperator
from hovor.auth.passwords import hash_password
from hovor.core.db import unit_of_work
from hovor.edge.models import FirewallBan, FirewallRule
from hovor.edge.store import Policy, _ban, _snapshot

STAFF_PASSWORD = "staff pass phrase 7"


def make_staff(app: Any, name: str = "eva", second_factor: bool = True) -> str | None:
    settings = app.state.settings
    with unit_of_work(app.state.session_factory) as s:
        s.add(
            PlatformOperator(
                name=name, title="Eva", password_hash=hash_password(STAFF_PASSWORD, settings.hash_profile)
            )
        )
        s.flush()
        return platform.set_up_totp(s, settings, name) if second_factor else None


def staff_login(client: Any, name: str, code: str | None) -> Any:
    body = {"username": name, "password": STAFF_PASSWORD}
    if code is not None:
        body["totp"] = code
    return client.post("/api/v6/platform/login.json", json=body)


def signed_in(client: Any, app: Any) -> dict[str, str]:
    secret = make_staff(app)
    assert secret is not None
    return {"X-AUTH-TOKEN": data(staff_login(client, "eva", totp.code_now(secret)))["accessToken"]}


def entries(app: Any, tenant: str, action: str) -> list[AuditEntry]:
    with app.state.session_factory() as s:
        rows = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.tenant_id == tenant, AuditEntry.action == action)
                .order_by(AuditEntry.name)
            )
        )
        s.expunge_all()
        return rows


def test_staff_sign_in_needs_password_and_code(client: Any, app: Any, tenant: TenantFixture) -> None:
    secret = make_staff(app)
    make_staff(app, "petr", second_factor=False)
    assert secret is not None
    assert staff_login(client, "eva", None).status_code == 401
    assert (
        staff_login(client, "eva", "123456" if totp.code_now(secret) != "123456" else "654321").status_code
        == 401
    )
    assert (
        client.post(
            "/api/v6/platform/login.json",
            json={"username": "eva", "password": "wrong one", "totp": totp.code_now(secret)},
        ).status_code
        == 401
    )
    # Staff without a second factor cannot sign in over the network at all.
    assert staff_login(client, "petr", "123456").status_code == 401
    # A tenant's user is not staff, whatever the password.
    assert (
        client.post(
            "/api/v6/platform/login.json", json={"username": "acme-admin", "password": "correct horse 1"}
        ).status_code
        == 401
    )
    code = totp.code_now(secret)
    ok = data(staff_login(client, "eva", code))
    assert ok["operator"]["name"] == "eva" and ok["accessToken"]
    assert staff_login(client, "eva", code).status_code == 401  # a code signs in once
    reasons = [e.details["reason"] for e in entries(app, PLATFORM, "platform.login.fail")]
    assert sorted(reasons) == sorted(["password", "totp", "no-second-factor", "unknown", "totp"])
    assert len(entries(app, PLATFORM, "platform.login.success")) == 1

    staff = {"X-AUTH-TOKEN": ok["accessToken"]}
    # A platform token opens no tenant route; a tenant token no platform route.
    assert client.get("/api/v6/contacts.json", headers=staff).status_code == 401
    assert client.get("/api/v6/firewall/bans.json", headers=tenant.h("admin")).status_code == 403
    assert client.get("/api/v6/firewall/bans.json").status_code == 401
    assert client.get("/api/v6/firewall/bans.json", headers=staff).status_code == 200
    # A new factor (the phone lost) ends what was signed in with the old one.
    with unit_of_work(app.state.session_factory) as s:
        platform.set_up_totp(s, app.state.settings, "eva")
    assert client.get("/api/v6/firewall/bans.json", headers=staff).status_code == 401


def test_bans_list_and_unban_over_http(client: Any, app: Any) -> None:
    staff = signed_in(client, app)
    with unit_of_work(app.state.session_factory) as s:
        ban = _ban(s, app.state.pseudonyms, "198.51.100.7", "login", 5.0, Policy(5, 600, 600, 86400, 86400))
        assert ban is not None
        name = ban.name
    listed = data(client.get("/api/v6/firewall/bans.json", headers=staff))
    assert listed["total"] == 1 and listed["data"][0]["client"] == "198.51.100.7"
    assert listed["data"][0]["name"] == name and listed["data"][0]["lifted"] is None
    assert "198.51.100.7" in _snapshot(app.state.session_factory).bans

    assert client.delete("/api/v6/firewall/bans/nope.json", headers=staff).status_code == 404
    assert data(client.delete(f"/api/v6/firewall/bans/{name}.json", headers=staff)) == {"lifted": 1}
    assert "198.51.100.7" not in _snapshot(app.state.session_factory).bans
    assert data(client.get("/api/v6/firewall/bans.json", headers=staff))["total"] == 0
    every = data(client.get("/api/v6/firewall/bans.json", headers=staff, params={"all": 1}))
    assert every["data"][0]["lifted_by"] == "eva"
    unban = entries(app, PLATFORM, "edge.firewall.unban")
    assert len(unban) == 1 and unban[0].actor_type == "staff" and unban[0].actor == "eva"
    assert "198.51.100.7" not in str(unban[0].details)  # a pseudonym, not the address

    # The platform's lists.
    bad = client.post(
        "/api/v6/firewall/rules.json", headers=staff, json={"kind": "deny", "network": "nonsense"}
    )
    assert bad.status_code == 400
    rule = data(
        client.post(
            "/api/v6/firewall/rules.json", headers=staff, json={"kind": "deny", "network": "203.0.113.9"}
        )
    )
    assert rule["network"] == "203.0.113.9/32"
    assert "203.0.113.9/32" in _snapshot(app.state.session_factory).deny
    assert data(client.get("/api/v6/firewall/rules.json", headers=staff))["total"] == 1
    assert client.delete(f"/api/v6/firewall/rules/{rule['name']}.json", headers=staff).status_code == 200
    assert _snapshot(app.state.session_factory).deny == ()


def test_entering_a_tenant_needs_a_stated_purpose_and_is_recorded_there(
    client: Any, app: Any, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    staff = signed_in(client, app)
    enter = "/api/v6/platform/enter.json"
    # No purpose, a purpose not on the list, free text as the reference, an unknown tenant.
    for body, status in [
        ({"tenant": "acme", "reference": "SUP-1"}, 400),
        ({"tenant": "acme", "purpose": "curiosity", "reference": "SUP-1"}, 400),
        ({"tenant": "acme", "purpose": "support", "reference": "Jan Novák called about 601 123 456"}, 400),
        ({"tenant": "acme", "purpose": "support", "reference": "601123456"}, 400),
        ({"tenant": "acme", "purpose": "support", "reference": "Novakova"}, 400),
        ({"tenant": "nope", "purpose": "support", "reference": "SUP-1"}, 404),
    ]:
        assert client.post(enter, headers=staff, json=body).status_code == status, body
    assert entries(app, "acme", "platform.support.enter") == []
    # A tenant's own token cannot enter anywhere.
    refused = client.post(
        enter, headers=tenant.h("admin"), json={"tenant": "globex", "purpose": "support", "reference": "X"}
    )
    assert refused.status_code == 403

    inside = data(
        client.post(
            enter, headers=staff, json={"tenant": "acme", "purpose": "support", "reference": "SUP-4711"}
        )
    )
    h = {"X-AUTH-TOKEN": inside["accessToken"]}
    client.post(
        "/api/v6/contacts.json", headers=tenant.h("admin"), json={"lastname": "Nováková", "database": "main"}
    )
    # Read only, in that tenant only.
    assert data(client.get("/api/v6/contacts.json", headers=h))["total"] == 1
    assert (
        client.post(
            "/api/v6/contacts.json", headers=h, json={"lastname": "X", "database": "main"}
        ).status_code
        == 403
    )
    assert client.get("/api/v6/auditLog.json", headers=h).status_code == 403
    who = data(client.get("/api/v6/whoim.json", headers=h))
    assert who["tenant"] == "acme" and who["user"] is None
    client.post(
        "/api/v6/contacts.json",
        headers=other_tenant.h("admin"),
        json={"lastname": "Globex", "database": "main"},
    )
    seen = data(client.get("/api/v6/contacts.json", headers=h))["data"]
    assert [c["lastname"] for c in seen] == ["Nováková"]  # acme's records, never globex's

    entered = entries(app, "acme", "platform.support.enter")
    assert len(entered) == 1
    assert entered[0].actor_type == "staff" and entered[0].actor == "eva"
    assert entered[0].details["purpose"] == "support" and entered[0].details["reference"] == "SUP-4711"
    accesses = entries(app, "acme", "platform.support.access")
    routes = [(e.details["method"], e.details["route"]) for e in accesses]
    assert ("GET", "/api/v6/contacts.json") in routes and ("POST", "/api/v6/contacts.json") in routes
    assert ("GET", "/api/v6/whoim.json") in routes
    assert entries(app, "globex", "platform.support.enter") == []
    assert len(entries(app, PLATFORM, "platform.support.enter")) == 1

    # Signing out of the platform ends the entry, and the leaving is recorded in the tenant too.
    assert client.post("/api/v6/platform/logout.json", headers=staff).status_code == 200
    time.sleep(client.app.state.settings.auth_cache_seconds)
    assert client.get("/api/v6/contacts.json", headers=h).status_code == 401
    assert len(entries(app, "acme", "platform.support.leave")) == 1
    with app.state.session_factory() as s:
        assert verify_tenant(s, "acme", [app.state.audit_signer.public_key()]).ok


def test_tenant_admin_lists_its_offices(
    client: Any, app: Any, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    h = tenant.h("admin")
    path = "/api/v6/allowedNetworks.json"
    for network in (
        "10.0.0.0/8",
        "10.1.2.0/24",
        "127.0.0.1",
        "0.0.0.0/0",
        "2001:db8:1::/48",
        "not an address",
    ):
        r = client.post(path, headers=h, json={"network": network})
        assert r.status_code == 400, network
    with app.state.session_factory() as s:
        assert s.scalars(select(FirewallRule)).all() == []
    office = data(client.post(path, headers=h, json={"network": "185.64.12.0/24", "note": "Brno"}))
    assert client.post(path, headers=h, json={"network": "185.64.12.9/24"}).status_code == 409
    single = data(client.post(path, headers=h, json={"network": "2a00:1028:8d1e:1::5"}))
    assert single["network"] == "2a00:1028:8d1e:1::5/128"
    assert "185.64.12.0/24" in _snapshot(app.state.session_factory).office
    assert data(client.get(path, headers=h))["total"] == 2
    assert data(client.get(path, headers=other_tenant.h("admin")))["total"] == 0
    # Another tenant's admin cannot remove it; the supervisor has no right to the list.
    assert (
        client.delete(
            f"/api/v6/allowedNetworks/{office['name']}.json", headers=other_tenant.h("admin")
        ).status_code
        == 404
    )
    assert client.get(path, headers=tenant.h("supervisor")).status_code == 403
    assert client.delete(f"/api/v6/allowedNetworks/{office['name']}.json", headers=h).status_code == 200
    assert "185.64.12.0/24" not in _snapshot(app.state.session_factory).office
    created = entries(app, "acme", "edge.firewall.rule.create")
    assert len(created) == 2 and all("185.64" not in str(e.details) for e in created)
    with app.state.session_factory() as s:
        assert s.scalars(select(FirewallBan)).all() == []
