"""No right or data beyond one's own, given or taken over: an administrator without the DPO's
rights may not demote, deactivate, delete, reset or revoke the DPO (and then set her password);
an administrator limited to some databases may not widen her own profile, create a user who sees
more, or take over one who does."""

from __future__ import annotations

from typing import Any

from conftest import TenantFixture, data


def test_an_administrator_cannot_manage_a_user_who_holds_more_rights(
    client: Any, tenant: TenantFixture
) -> None:
    h = tenant.h("admin")
    path = "/api/v6/users/acme-dpo"
    for r in (
        client.delete(f"{path}/totp.json", headers=h),
        client.put(f"{path}.json", json={"deactivated": True}, headers=h),
        client.put(f"{path}.json", json={"role": "operator"}, headers=h),
        client.put(f"{path}.json", json={"password": "a new one, long enough"}, headers=h),
        client.delete(f"{path}.json", headers=h),
    ):
        assert r.status_code == 403, r.text
        assert "The user's role holds rights yours does not (dpo:" in r.json()["error"][0]
    dpo = data(client.get(f"{path}.json", headers=tenant.h("dpo")))
    assert dpo["role"] == "dpo" and not dpo["deactivated"]
    tokens = data(client.get("/api/v6/apiTokens.json", headers=h))["data"]
    theirs = next(t for t in tokens if t["user"] == "acme-dpo")
    assert client.delete(f"/api/v6/apiTokens/{theirs['name']}.json", headers=h).status_code == 403
    assert client.get("/api/v6/whoim.json", headers=tenant.h("dpo")).status_code == 200  # still valid
    # A user whose rights are within hers stays hers to manage.
    r = client.put("/api/v6/users/acme-operator.json", json={"title": "Operátorka"}, headers=h)
    assert r.status_code == 200


def test_an_administrator_limited_to_a_database_cannot_widen_anyones_reach(
    client: Any, tenant: TenantFixture
) -> None:
    h = tenant.h("admin")
    client.post("/api/v6/databases.json", json={"name": "vip", "title": "VIP"}, headers=h)
    body = {"name": "main-only", "title": "Main only", "databases": ["main"]}
    assert client.post("/api/v6/profiles.json", json=body, headers=h).status_code == 201
    # Narrowing oneself is allowed.
    r = client.put("/api/v6/users/acme-admin.json", json={"profile": "main-only"}, headers=h)
    assert r.status_code == 200
    assert data(client.get("/api/v6/users/acme-admin.json", headers=h))["profile"] == "main-only"

    r = client.put("/api/v6/users/acme-admin.json", json={"profile": "all"}, headers=h)
    assert r.status_code == 403 and "The profile reaches data yours does not" in r.json()["error"][0]
    new = {"name": "eva", "title": "Eva", "role": "operator", "password": "long enough pw 1"}
    r = client.post("/api/v6/users.json", json=new, headers=h)  # the default profile sees everything
    assert r.status_code == 403 and "every database" in r.json()["error"][0]
    r = client.post("/api/v6/users.json", json={**new, "profile": "main-only"}, headers=h)
    assert r.status_code == 201
    wider = {"name": "vip-too", "title": "VIP too", "databases": ["main", "vip"]}
    r = client.post("/api/v6/profiles.json", json=wider, headers=h)
    assert r.status_code == 403 and "(vip)" in r.json()["error"][0]
    r = client.put("/api/v6/profiles/main-only.json", json={"databases": ["vip"]}, headers=h)
    assert r.status_code == 403
    # The operator's profile sees every database: her password is not the limited admin's to set.
    r = client.put("/api/v6/users/acme-operator.json", json={"password": "taken over 12345"}, headers=h)
    assert r.status_code == 403 and "The user's profile reaches data yours does not" in r.json()["error"][0]
