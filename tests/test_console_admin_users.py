"""The administrator's pages of users, roles and profiles over HTTP: each change goes through the
API's own create and update, so what the API refuses is refused with its message and nothing
changes, and what it saves is audited as the API audits it."""

from __future__ import annotations

from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _session_of, _signed_in


def _actions(app: Any, prefix: str) -> list[tuple[str, str | None, Any]]:
    with app.state.read_session_factory() as s:
        entries = s.query(AuditEntry).filter(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.name)
        return [(e.action, e.object_key, e.details) for e in entries]


def test_an_administrator_creates_a_user_and_changes_her_role(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    csrf = _session_of(app, client, "acme-admin")
    listed = client.get("/admin/users")
    assert listed.status_code == 200 and 'href="/admin/users/acme-operator"' in listed.text
    assert 'href="/admin/users/new"' in listed.text
    form = client.get("/admin/users/new")
    assert form.status_code == 200 and '<option value="supervisor"' in form.text

    new = {"csrf": csrf, "name": "jana", "title": "Jana Malá", "role": "operator", "profile": "all"}
    # The API's password policy, in its words; nothing is created.
    r = client.post("/admin/users/new", data={**new, "password": "short"})
    assert r.status_code == 400 and "Not saved: Use at least" in r.text
    assert 'value="Jana Malá"' in r.text and 'value="short"' not in r.text
    # A login taken: the API's conflict.
    r = client.post("/admin/users/new", data={**new, "name": "acme-operator"})
    assert r.status_code == 409 and "This login name is taken." in r.text
    r = client.post("/admin/users/new", data={**new, "email": "nope"})
    assert r.status_code == 400 and "Not a valid e-mail address." in r.text
    assert client.get("/api/v6/users/jana.json", headers=h).status_code == 404

    r = client.post("/admin/users/new", data={**new, "password": "kokos a banán 7"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users/jana?saved=1"
    assert data(client.get("/api/v6/users/jana.json", headers=h))["role"] == "operator"

    page = client.get("/admin/users/jana")
    assert page.status_code == 200 and 'id="record-form"' in page.text
    edit = {"csrf": csrf, "title": "Jana Malá", "role": "nobody", "profile": "all"}
    r = client.post("/admin/users/jana", data=edit)
    assert r.status_code == 400 and "Not saved: No such role." in r.text
    # The DPO's role holds rights the administrator's does not: not hers to give, nor to take over
    # by setting the DPO's password; the API says so and nothing changes.
    r = client.post("/admin/users/jana", data={**edit, "role": "dpo"})
    assert r.status_code == 403 and "Not saved: The role holds rights yours does not (dpo:" in r.text
    r = client.post("/admin/users/new", data={**new, "name": "eva", "role": "dpo"})
    assert r.status_code == 403 and client.get("/api/v6/users/eva.json", headers=h).status_code == 404
    dpo = {
        "csrf": csrf,
        "title": "dpo of acme",
        "role": "dpo",
        "profile": "all",
        "password": "úplně nové heslo 9",
    }
    r = client.post("/admin/users/acme-dpo", data=dpo)
    assert r.status_code == 403 and "The user&#39;s role holds rights yours does not" in r.text
    api = client.put("/api/v6/users/jana.json", json={"role": "dpo"}, headers=h)
    assert api.status_code == 403 and "rights yours does not" in api.json()["error"][0]
    assert data(client.get("/api/v6/users/jana.json", headers=h))["role"] == "operator"
    r = client.post("/admin/users/jana", data={**edit, "role": "supervisor"}, follow_redirects=False)
    assert r.status_code == 303
    assert data(client.get("/api/v6/users/jana.json", headers=h))["role"] == "supervisor"
    done = _actions(app, "auth.")
    assert ("auth.user.create", "jana", {"fields": ["name", "password", "profile", "role", "title"]}) in done
    assert ("auth.user.update", "jana", {"fields": ["role"]}) in done
    assert ("auth.role.change", "jana", {"from": "operator", "to": "supervisor"}) in done
    # Nothing of a password in the audit log: the field's name only.
    assert all("kokos" not in str(d) for _, _, d in done)
    assert client.get("/admin/users/nobody-here").status_code == 404

    client.cookies.clear()
    _an_operator_reaches_none_of_the_changes(client, tenant)


def test_a_built_in_roles_permissions_are_refused_with_the_apis_message(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    csrf = _session_of(app, client, "acme-admin")
    assert 'href="/admin/roles/operator"' in client.get("/admin/roles").text
    role = data(client.get("/api/v6/roles/operator.json", headers=h))
    page = client.get("/admin/roles/operator")
    assert page.status_code == 200 and page.text.count('name="permissions"') > 50
    body = {"csrf": csrf, "title": role["title"], "permissions": [*role["permissions"], "admin:users:update"]}
    r = client.post("/admin/roles/operator", data=body)
    assert r.status_code == 409
    assert "The permissions of a built-in role cannot be changed; create a role instead." in r.text
    assert data(client.get("/api/v6/roles/operator.json", headers=h))["permissions"] == role["permissions"]
    # Its title may change: its permissions are not sent when they stay.
    body = {"csrf": csrf, "title": "Operátor", "permissions": role["permissions"]}
    assert client.post("/admin/roles/operator", data=body, follow_redirects=False).status_code == 303
    assert data(client.get("/api/v6/roles/operator.json", headers=h))["title"] == "Operátor"

    new = {"csrf": csrf, "name": "reader", "title": "Reader", "permissions": ["crm:contacts:read"]}
    r = client.post("/admin/roles/new", data={**new, "permissions": ["dpo:subjects:erase"]})
    assert r.status_code == 403 and "The role holds rights yours does not (dpo:subjects:erase)" in r.text
    r = client.post("/admin/roles/new", data={**new, "permissions": ["crm:everything"]})
    assert r.status_code == 400 and "Unknown permission" in r.text
    r = client.post("/admin/roles/new", data=new, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/roles/reader?saved=1"
    assert data(client.get("/api/v6/roles/reader.json", headers=h))["permissions"] == ["crm:contacts:read"]

    client.cookies.clear()
    _a_profile_is_limited_to_a_database(client, tenant, app)


def _a_profile_is_limited_to_a_database(client: Any, tenant: TenantFixture, app: Any) -> None:
    h = tenant.h("admin")
    csrf = _session_of(app, client, "acme-admin")
    assert "No profiles yet." not in client.get("/admin/profiles").text
    form = client.get("/admin/profiles/new")
    assert form.status_code == 200 and 'name="databases" value="main"' in form.text
    new = {"csrf": csrf, "name": "sales", "title": "Prodej", "databases_scope": "some", "databases": ["main"]}
    r = client.post("/admin/profiles/new", data={**new, "databases": ["gone"]})
    assert r.status_code == 400 and "Not saved:" in r.text
    r = client.post("/admin/profiles/new", data={**new, "queues_scope": "all"}, follow_redirects=False)
    assert r.status_code == 303
    made = data(client.get("/api/v6/profiles/sales.json", headers=h))
    assert made["databases"] == ["main"] and made["queues"] is None and made["categories"] is None
    r = client.post("/admin/profiles/sales", data={"csrf": csrf, "title": "Prodej", "databases_scope": "all"})
    assert r.status_code == 303 or r.status_code == 200
    assert data(client.get("/api/v6/profiles/sales.json", headers=h))["databases"] is None


def _an_operator_reaches_none_of_the_changes(client: Any, tenant: TenantFixture) -> None:
    csrf = _signed_in(client, "acme-operator")
    for path in ("/admin/users/new", "/admin/roles", "/admin/roles/admin", "/admin/profiles/all"):
        r = client.get(path)
        main = r.text.split("<main", 1)[1]
        assert r.status_code == 403 and "Not allowed" in main and "record-form" not in main, path
    # Reading users is the operator's as in the API (users.json); the page has no form then.
    page = client.get("/admin/users/acme-admin")
    assert page.status_code == 200 and 'id="record-form"' not in page.text
    r = client.post("/admin/users/acme-operator", data={"csrf": csrf, "title": "X", "role": "admin"})
    assert r.status_code == 403 and "record-form" not in r.text
    r = client.post("/admin/roles/new", data={"csrf": csrf, "name": "mine", "title": "Mine"})
    assert r.status_code == 403
    h = tenant.h("admin")
    assert data(client.get("/api/v6/users/acme-operator.json", headers=h))["role"] == "operator"
    assert client.get("/api/v6/roles/mine.json", headers=h).status_code == 404
    assert "/admin/users" not in client.get("/contacts").text
