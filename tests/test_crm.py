"""CRM through the API: databases, accounts, contacts, forms, consent, rights scoping."""

from __future__ import annotations

from typing import Any

from conftest import TenantFixture, data


def add_field(client: Any, t: TenantFixture, **spec: Any) -> None:
    body = {"object_type": "contacts", "title": spec["name"].title(), **spec}
    r = client.post("/api/v6/formFields.json", json=body, headers=t.h())
    assert r.status_code == 201, r.text


def new_contact(client: Any, t: TenantFixture, role: str = "admin", **body: Any) -> dict[str, Any]:
    payload = {"lastname": "Nováková", "firstname": "Jana", "database": "main", **body}
    r = client.post("/api/v6/contacts.json", json=payload, headers=t.h(role))
    assert r.status_code == 201, r.text
    return data(r)  # type: ignore[no-any-return]


def test_contact_lifecycle(client: Any, tenant: TenantFixture) -> None:
    created = new_contact(client, tenant)
    assert created["title"] == "Jana Nováková"
    assert created["database"] == {"name": "main", "title": "Main"}
    assert created["created_by"] == "acme-admin"
    assert created["customFields"] == {}
    name = created["name"]
    assert name.startswith("contacts_")

    r = client.put(
        f"/api/v6/contacts/{name}.json", json={"lastname": "Novák", "firstname": "Jan"}, headers=tenant.h()
    )
    assert r.status_code == 200
    assert data(r)["title"] == "Jan Novák"
    assert data(r)["edited_by"] == "acme-admin"

    r = client.get(f"/api/v6/contacts/{name}.json", headers=tenant.h("operator"))
    assert data(r)["lastname"] == "Novák"

    r = client.delete(f"/api/v6/contacts/{name}.json", headers=tenant.h())
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/api/v6/contacts/{name}.json", headers=tenant.h()).status_code == 404


def test_custom_fields_are_validated_and_normalized(client: Any, tenant: TenantFixture) -> None:
    add_field(client, tenant, name="number", type="phone", multiple=True)
    add_field(client, tenant, name="email", type="email")
    add_field(client, tenant, name="segment", type="select", options=["B2B", "B2C"])
    add_field(client, tenant, name="born", type="date")
    add_field(client, tenant, name="ico", type="text", regex=r"\d{8}")
    add_field(client, tenant, name="vip", type="checkbox")
    add_field(client, tenant, name="source", type="text", required=True)

    c = new_contact(
        client,
        tenant,
        customFields={
            "number": ["604 123 456", "+421 905 123 456"],
            "email": "Jana.Novakova@Example.CZ",
            "segment": ["B2B"],
            "born": ["1980-02-29"],
            "ico": ["12345678"],
            "vip": ["true"],
            "source": ["web"],
        },
    )
    assert c["customFields"]["number"] == ["+420604123456", "+421905123456"]
    assert c["customFields"]["email"] == ["jana.novakova@example.cz"]
    assert c["customFields"]["vip"] == ["1"]

    bad = {
        "number": ["kočka mňau"],
        "email": ["neni-mail"],
        "segment": ["Other"],
        "born": ["1981-02-29"],
        "ico": ["1234"],
        "unknown": ["x"],
    }
    r = client.post(
        "/api/v6/contacts.json",
        json={"lastname": "X", "database": "main", "customFields": bad},
        headers=tenant.h(),
    )
    assert r.status_code == 400
    form = r.json()["error"]["form"]
    assert set(form) == {f"customFields.{k}" for k in [*bad, "source"]}
    # Error messages state the rule, never the rejected value.
    assert "kočka" not in r.text and "neni-mail" not in r.text

    r = client.put(
        f"/api/v6/contacts/{c['name']}.json",
        json={"customFields": {"email": ["a@b.cz", "c@d.cz"]}},
        headers=tenant.h(),
    )
    assert r.status_code == 400
    assert r.json()["error"]["form"] == {"customFields.email": ["This field takes one value."]}
    # A partial update keeps the other fields' values.
    r = client.put(
        f"/api/v6/contacts/{c['name']}.json", json={"customFields": {"segment": "B2C"}}, headers=tenant.h()
    )
    assert data(r)["customFields"]["number"] == ["+420604123456", "+421905123456"]
    assert data(r)["customFields"]["segment"] == ["B2C"]


def test_consent_records_who_and_when(client: Any, tenant: TenantFixture) -> None:
    add_field(client, tenant, name="consent", type="consent")
    c = new_contact(client, tenant, role="operator", customFields={"consent": ["yes"]})
    assert c["customFields"]["consent"] == ["yes"]
    stamp = c["customFieldsConsent"]["consent"]
    assert stamp["value"] == "yes" and stamp["set_by"] == "acme-operator"
    assert len(stamp["set_at"]) == 19

    r = client.put(
        f"/api/v6/contacts/{c['name']}.json",
        json={"customFields": {"consent": ["no"]}},
        headers=tenant.h("supervisor"),
    )
    assert data(r)["customFieldsConsent"]["consent"]["set_by"] == "acme-supervisor"
    assert data(r)["customFieldsConsent"]["consent"]["value"] == "no"
    # Saving other fields does not restamp the consent.
    r = client.put(
        f"/api/v6/contacts/{c['name']}.json", json={"description": "x"}, headers=tenant.h("operator")
    )
    assert data(r)["customFieldsConsent"]["consent"]["set_by"] == "acme-supervisor"
    r = client.put(
        f"/api/v6/contacts/{c['name']}.json",
        json={"customFields": {"consent": ["maybe"]}},
        headers=tenant.h(),
    )
    assert r.json()["error"]["form"] == {"customFields.consent": ["Must be yes or no."]}


def test_readonly_and_hidden_fields(client: Any, tenant: TenantFixture) -> None:
    add_field(client, tenant, name="score", type="number", readonly=True)
    add_field(client, tenant, name="internal", type="text", hidden=True)
    c = new_contact(client, tenant, customFields={"score": ["7"], "internal": ["secret note"]})
    r = client.put(
        f"/api/v6/contacts/{c['name']}.json",
        json={"customFields": {"score": ["9"]}},
        headers=tenant.h("operator"),
    )
    assert r.status_code == 400
    assert r.json()["error"]["form"] == {"customFields.score": ["This field is read-only."]}
    seen = data(client.get(f"/api/v6/contacts/{c['name']}.json", headers=tenant.h("operator")))
    assert "internal" not in seen["customFields"] and seen["customFields"]["score"] == ["7"]
    assert (
        "internal"
        in data(client.get(f"/api/v6/contacts/{c['name']}.json", headers=tenant.h()))["customFields"]
    )


def test_deleting_a_field_deletes_its_values(client: Any, tenant: TenantFixture) -> None:
    add_field(client, tenant, name="nickname", type="text")
    c = new_contact(client, tenant, customFields={"nickname": ["Janička"]})
    assert client.delete("/api/v6/formFields/nickname.json", headers=tenant.h()).status_code == 204
    add_field(client, tenant, name="nickname", type="text")
    assert data(client.get(f"/api/v6/contacts/{c['name']}.json", headers=tenant.h()))["customFields"] == {}


def test_accounts_and_relations(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/accounts.json", json={"title": "Pekárna Novák", "database": "main"}, headers=tenant.h()
    )
    account = data(r)["name"]
    a = new_contact(client, tenant, account=account)
    b = new_contact(client, tenant, lastname="Dvořák", account={"name": account, "title": "ignored"})
    new_contact(client, tenant, lastname="Bez firmy")
    rel = data(client.get(f"/api/v6/accounts/{account}/contacts.json", headers=tenant.h()))
    assert rel["total"] == 2 and {c["name"] for c in rel["data"]} == {a["name"], b["name"]}
    assert data(client.get("/api/v6/databases/main/contacts.json", headers=tenant.h()))["total"] == 3
    assert data(client.get("/api/v6/databases/main/accounts.json", headers=tenant.h()))["total"] == 1

    # Deleting the company keeps its people, without the link.
    assert client.delete(f"/api/v6/accounts/{account}.json", headers=tenant.h()).status_code == 204
    assert data(client.get(f"/api/v6/contacts/{a['name']}.json", headers=tenant.h()))["account"] is None

    # A database that still holds contacts cannot be deleted.
    r = client.delete("/api/v6/databases/main.json", headers=tenant.h())
    assert r.status_code == 409


def test_account_must_share_the_contacts_database(client: Any, tenant: TenantFixture) -> None:
    client.post("/api/v6/databases.json", json={"name": "other", "title": "Other"}, headers=tenant.h())
    acc = data(
        client.post("/api/v6/accounts.json", json={"title": "Firma", "database": "other"}, headers=tenant.h())
    )
    r = client.post(
        "/api/v6/contacts.json",
        json={"lastname": "X", "database": "main", "account": acc["name"]},
        headers=tenant.h(),
    )
    assert r.status_code == 400
    assert r.json()["error"]["form"] == {"account": ["The account belongs to another database."]}


def test_profile_scopes_contacts_by_database(client: Any, tenant: TenantFixture) -> None:
    client.post("/api/v6/databases.json", json={"name": "vip", "title": "VIP"}, headers=tenant.h())
    hidden = new_contact(client, tenant, database="vip")
    shown = new_contact(client, tenant, database="main")
    r = client.post(
        "/api/v6/profiles.json",
        json={"name": "main-only", "title": "Main only", "databases": ["main"]},
        headers=tenant.h(),
    )
    assert r.status_code == 201
    r = client.put("/api/v6/users/acme-operator.json", json={"profile": "main-only"}, headers=tenant.h())
    assert r.status_code == 200
    op = tenant.h("operator")
    listed = data(client.get("/api/v6/contacts.json", headers=op))
    assert [c["name"] for c in listed["data"]] == [shown["name"]] and listed["total"] == 1
    assert client.get(f"/api/v6/contacts/{hidden['name']}.json", headers=op).status_code == 404
    assert (
        client.put(
            f"/api/v6/contacts/{hidden['name']}.json", json={"description": "x"}, headers=op
        ).status_code
        == 404
    )
    r = client.post("/api/v6/contacts.json", json={"lastname": "X", "database": "vip"}, headers=op)
    assert r.status_code == 400 and "database" in r.json()["error"]["form"]
    assert client.get("/api/v6/databases/vip.json", headers=op).status_code == 404
    # Moving a visible contact into a database outside the profile is refused as well.
    r = client.put(f"/api/v6/contacts/{shown['name']}.json", json={"database": "vip"}, headers=op)
    assert r.status_code == 400


def test_profile_databases_must_exist_and_are_forgotten_on_delete(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/profiles.json", json={"name": "p", "title": "P", "databases": ["nope"]}, headers=tenant.h()
    )
    assert r.status_code == 400
    client.post("/api/v6/databases.json", json={"name": "tmp", "title": "Tmp"}, headers=tenant.h())
    client.post(
        "/api/v6/profiles.json",
        json={"name": "p", "title": "P", "databases": ["tmp", "main"]},
        headers=tenant.h(),
    )
    assert client.delete("/api/v6/databases/tmp.json", headers=tenant.h()).status_code == 204
    assert data(client.get("/api/v6/profiles/p.json", headers=tenant.h()))["databases"] == ["main"]


def test_tenant_settings_and_dpo_contact(client: Any, tenant: TenantFixture) -> None:
    for role in ("operator", "integration", "auditor"):
        t = data(client.get("/api/v6/tenant.json", headers=tenant.h(role)))
        assert t["dpo"]["email"] == "dpo@acme.example"
    assert (
        client.put(
            "/api/v6/tenant.json", json={"dpo_phone": "777 123 456"}, headers=tenant.h("operator")
        ).status_code
        == 403
    )
    r = client.put("/api/v6/tenant.json", json={"dpo_phone": "777 123 456"}, headers=tenant.h())
    assert data(r)["dpo"]["phone"] == "+420777123456"
    r = client.put("/api/v6/tenant.json", json={"timezone": "Mars/Olympus"}, headers=tenant.h())
    assert r.status_code == 400 and "timezone" in r.json()["error"]["form"]


def test_roles_and_users(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/roles.json",
        json={"name": "reader", "title": "Reader", "permissions": ["crm:contacts:read"]},
        headers=tenant.h(),
    )
    assert r.status_code == 201
    r = client.post(
        "/api/v6/roles.json",
        json={"name": "bad", "title": "Bad", "permissions": ["crm:everything"]},
        headers=tenant.h(),
    )
    assert r.status_code == 400
    assert client.delete("/api/v6/roles/admin.json", headers=tenant.h()).status_code == 409
    r = client.put("/api/v6/roles/operator.json", json={"permissions": []}, headers=tenant.h())
    assert r.status_code == 409

    r = client.post(
        "/api/v6/users.json",
        json={
            "name": "reader1",
            "title": "Čtenář",
            "role": "reader",
            "password": "long enough pw",
            "phone": "+420 601 111 222",
        },
        headers=tenant.h(),
    )
    assert r.status_code == 201 and data(r)["phone"] == "+420601111222"
    assert "password" not in data(r) and "password_hash" not in r.text
    login = client.post("/api/v6/login.json", json={"username": "reader1", "password": "long enough pw"})
    token = data(login)["accessToken"]
    assert client.get("/api/v6/contacts.json", headers={"X-AUTH-TOKEN": token}).status_code == 200
    assert client.get("/api/v6/accounts.json", headers={"X-AUTH-TOKEN": token}).status_code == 403
    assert client.delete("/api/v6/roles/reader.json", headers=tenant.h()).status_code == 409

    r = client.post(
        "/api/v6/users.json",
        json={"name": "short", "title": "S", "role": "reader", "password": "123"},
        headers=tenant.h(),
    )
    assert r.status_code == 400 and "password" in r.json()["error"]["form"]
    r = client.post(
        "/api/v6/users.json", json={"name": "reader1", "title": "Dup", "role": "reader"}, headers=tenant.h()
    )
    assert r.status_code == 409
    assert client.delete("/api/v6/users/acme-admin.json", headers=tenant.h()).status_code == 409


def test_q_does_not_search_fields_the_caller_cannot_see(client: Any, tenant: TenantFixture) -> None:
    add_field(client, tenant, name="note", type="text")
    add_field(client, tenant, name="secret", type="text", hidden=True)
    new_contact(client, tenant, customFields={"note": ["modrá"], "secret": ["dlužník"]})

    def found(role: str, term: str) -> int:
        r = client.get("/api/v6/contacts.json", params={"q": term}, headers=tenant.h(role))
        return int(data(r)["total"])

    assert found("admin", "dlužník") == 1  # may see hidden fields, may search them
    assert found("operator", "dlužník") == 0  # may not: the value cannot be probed by search
    assert found("operator", "nováková") == 1  # names are still searched
    assert found("admin", "MODRÁ") == 1  # case folding beyond ASCII


def test_q_folds_czech_capitals(client: Any, tenant: TenantFixture) -> None:
    new_contact(client, tenant, firstname="Řehoř", lastname="Černý")
    r = client.get("/api/v6/contacts.json", params={"q": "černý řehoř"}, headers=tenant.h())
    assert data(r)["total"] == 1


def test_crm_records_of_a_kind_in_a_database(client: Any, tenant: TenantFixture) -> None:
    """Deals and other CRM records: their kind puts them in a CRM database, whose form and rights
    they follow; contact and account come from the same database; a legal hold on the contact
    keeps them; the DPO may delete one, as the product page's Delete button does."""
    h = tenant.h()
    client.post("/api/v6/databases.json", json={"name": "vip", "title": "VIP"}, headers=h)
    add_field(client, tenant, name="amount", type="number", object_type="crmRecords", database="main")
    add_field(client, tenant, name="vip_only", type="text", object_type="crmRecords", database="vip")
    deals = data(
        client.post("/api/v6/crmRecordTypes.json", json={"title": "Obchody", "database": "main"}, headers=h)
    )
    vip_deals = data(
        client.post("/api/v6/crmRecordTypes", json={"title": "VIP", "database": "vip"}, headers=h)
    )
    jana = new_contact(client, tenant)
    account = data(
        client.post("/api/v6/accounts.json", json={"title": "Firma", "database": "main"}, headers=h)
    )
    client.post("/api/v6/statuses.json", json={"name": "won", "title": "Vyhráno"}, headers=h)
    op = tenant.h("operator")
    made = client.post(
        "/api/v6/crmRecords.json",
        json={
            "type": deals["name"],
            "title": "Hypotéka",
            "contact": jana["name"],
            "account": account["name"],
            "user": "acme-operator",
            "customFields": {"amount": "2500000"},
        },
        headers=op,
    )
    assert made.status_code == 201, made.text
    deal = data(made)
    assert deal["type"] == {"name": deals["name"], "title": "Obchody"} and deal["stage"] == "OPEN"
    assert deal["contact"]["name"] == jana["name"] and deal["account"]["name"] == account["name"]
    assert deal["customFields"] == {"amount": ["2500000"]} and deal["edited"] == deal["created"]

    # Each check names its field; nothing is made.
    refused = {
        "vip form": ({"type": deals["name"], "customFields": {"vip_only": "x"}}, "customFields.vip_only"),
        "contact elsewhere": (
            {"type": vip_deals["name"], "contact": jana["name"]},
            "contact",
        ),
        "no such status": ({"type": deals["name"], "status": "nope"}, "status"),
        "no such ticket": ({"type": deals["name"], "ticket": 999}, "ticket"),
        "stage": ({"type": deals["name"], "stage": "WAIT"}, "stage"),
        "no such kind": ({"type": "nope"}, "type"),
    }
    for why, (body, field) in refused.items():
        r = client.post("/api/v6/crmRecords.json", json=body, headers=h)
        assert r.status_code == 400 and field in r.json()["error"]["form"], (why, r.text)
    assert data(client.get("/api/v6/crmRecords.json", headers=h))["total"] == 1

    won = client.put(
        f"/api/v6/crmRecords/{deal['name']}", json={"stage": "CLOSE", "status": "won"}, headers=op
    )
    assert won.status_code == 200 and data(won)["status"]["title"] == "Vyhráno"
    listed = data(
        client.get(
            "/api/v6/crmRecords.json",
            params={
                "filter[0][field]": "contact",
                "filter[0][operator]": "eq",
                "filter[0][value]": jana["name"],
                "filter[1][field]": "stage",
                "filter[1][operator]": "eq",
                "filter[1][value]": "CLOSE",
                "fields[0]": "name",
                "fields[1]": "status",
            },
            headers=op,
        )
    )
    assert listed["data"] == [{"name": deal["name"], "status": {"name": "won", "title": "Vyhráno"}}]
    assert data(client.get(f"/api/v6/contacts/{jana['name']}/crmRecords.json", headers=op))["total"] == 1
    assert data(client.get(f"/api/v6/crmRecordTypes/{deals['name']}/records.json", headers=op))["total"] == 1

    # Rights by database: an operator limited to vip sees neither the deal nor its kind.
    client.post(
        "/api/v6/profiles.json", json={"name": "vip-only", "title": "VIP", "databases": ["vip"]}, headers=h
    )
    client.put("/api/v6/users/acme-operator.json", json={"profile": "vip-only"}, headers=h)
    assert client.get(f"/api/v6/crmRecords/{deal['name']}.json", headers=op).status_code == 404
    assert data(client.get("/api/v6/crmRecordTypes.json", headers=op))["total"] == 1
    r = client.post("/api/v6/crmRecords.json", json={"type": deals["name"]}, headers=op)
    assert r.status_code == 400 and "type" in r.json()["error"]["form"]

    # A kind with records, and a status in use, stay; a deleted account leaves the deal unlinked.
    assert client.delete(f"/api/v6/crmRecordTypes/{deals['name']}.json", headers=h).status_code == 409
    assert client.delete("/api/v6/statuses/won.json", headers=h).status_code == 409
    assert client.delete(f"/api/v6/accounts/{account['name']}.json", headers=h).status_code == 204
    unlinked = data(client.get(f"/api/v6/crmRecords/{deal['name']}.json", headers=h))
    assert unlinked["account"] is None and unlinked["edited"] == data(won)["edited"]
    # A legal hold on the contact keeps the deal; released, the DPO deletes it.
    dpo = tenant.h("dpo")
    hold = data(
        client.post(
            "/api/v6/legalHolds.json",
            json={"object_type": "contacts", "object_key": jana["name"], "reason": "Spor"},
            headers=dpo,
        )
    )
    kept = client.delete(f"/api/v6/crmRecords/{deal['name']}.json", headers=dpo)
    assert kept.status_code == 409 and hold["name"] in kept.json()["error"][0]
    assert client.delete(f"/api/v6/legalHolds/{hold['name']}.json", headers=dpo).status_code == 204
    assert client.delete(f"/api/v6/crmRecords/{deal['name']}.json", headers=dpo).status_code == 204
    assert client.get(f"/api/v6/crmRecords/{deal['name']}.json", headers=h).status_code == 404
    assert client.delete(f"/api/v6/crmRecordTypes/{deals['name']}.json", headers=h).status_code == 204
