"""The request shapes of public v6 clients other than the official Python SDK, replayed: the
JavaScript connector (URLs without .json, whoim's version), Keboola's extractor (sign-in by query
parameters with only_token, fields as one comma-separated value, incremental runs by ``edited``,
saved flattened field names) and an MCP server (sign-in by form). Written from their public
source as a reference for what they send; none of their code is here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import TenantFixture, data

PASSWORD = "correct horse 1"


def test_urls_without_json_reach_the_same_routes(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h()
    made = client.post(
        "/api/v6/contacts",
        json={"firstname": "Jana", "lastname": "Nováková", "database": "main"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    name = data(made)["name"]
    listed = client.get("/api/v6/contacts", headers=h)
    assert listed.status_code == 200 and name in {c["name"] for c in data(listed)["data"]}
    one = client.get(f"/api/v6/contacts/{name}", headers=h)
    assert one.status_code == 200 and data(one)["lastname"] == "Nováková"
    assert client.get(f"/api/v6/contacts/{name}/", headers=h).status_code == 200
    assert client.put(f"/api/v6/contacts/{name}", json={"lastname": "Novák"}, headers=h).status_code == 200
    assert client.get("/api/v6/nosuchendpoint", headers=h).status_code == 404


def test_whoim_as_the_javascript_connector_reads_it(client: Any, tenant: TenantFixture) -> None:
    r = client.get("/api/v6/whoim", headers=tenant.h("operator"))
    assert r.status_code == 200
    assert data(r)["version"] and data(r)["user"]["name"] == "acme-operator"
    # Without a token, as the reference: 401 in the envelope.
    anonymous = client.get("/api/v6/whoim")
    assert anonymous.status_code == 401 and anonymous.json()["result"] is None and anonymous.json()["error"]


def test_sign_in_by_query_parameters_with_only_token(client: Any, tenant: TenantFixture) -> None:
    """Keboola's extractor: POST login.json?username=…&password=…&only_token=1 with no body; it
    reads result.accessToken, which then works as accessToken."""
    r = client.post(
        "/api/v6/login.json", params={"username": "acme-operator", "password": PASSWORD, "only_token": 1}
    )
    assert r.status_code == 200, r.text
    token = data(r)["accessToken"]
    assert isinstance(token, str) and len(token) > 20
    assert client.get("/api/v6/whoim.json", params={"accessToken": token}).status_code == 200
    # Without only_token the sign-in object as before; the body wins over the query.
    r = client.post(
        "/api/v6/login.json?username=acme-operator&password=wrong",
        data={"username": "acme-operator", "password": PASSWORD},
    )
    assert r.status_code == 200 and data(r)["accessToken"]
    wrong = client.post("/api/v6/login.json", params={"username": "acme-operator", "password": "wrong"})
    assert wrong.status_code == 401


def test_new_records_are_edited_when_created_so_incremental_runs_see_them(
    client: Any, tenant: TenantFixture
) -> None:
    """Keboola filters contacts and tickets on edited >= its last run: a record created since then
    must match. edited and edited_by are the creation's until a change."""
    h = tenant.h()
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    made = data(
        client.post(
            "/api/v6/contacts.json",
            json={"firstname": "Petr", "lastname": "Malý", "database": "main"},
            headers=h,
        )
    )
    assert made["edited"] == made["created"] and made["edited_by"] == made["created_by"] == "acme-admin"
    params = {
        "filter[field]": "edited",
        "filter[operator]": "gte",
        "filter[value]": since,
        "skip": 0,
        "take": 1,
    }
    first = data(client.get("/api/v6/contacts.json", params=params, headers=h))
    assert first["total"] == 1 and first["data"][0]["name"] == made["name"]
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=h)
    ticket = data(
        client.post("/api/v6/tickets.json", json={"title": "Vadné zboží", "category": "rekl"}, headers=h)
    )
    assert ticket["edited"] == ticket["created"] and ticket["edited_by"] == "acme-admin"


def test_unknown_names_in_fields_are_ignored_and_named(client: Any, tenant: TenantFixture) -> None:
    """The second run of an extractor sends the flattened names it saved (customFields_ico): the
    reference ignores a name it does not know; so does hovor, naming them in X-Ignored-Fields.
    A caller that asks for strictness (X-Strict-Fields: 1) gets today's 400."""
    h = tenant.h()
    client.post("/api/v6/contacts.json", json={"lastname": "Svoboda", "database": "main"}, headers=h)
    r = client.get("/api/v6/contacts.json", params={"fields": "name,title,customFields_ico"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["x-ignored-fields"] == "customFields_ico"
    assert data(r)["data"] and all(set(row) == {"name", "title"} for row in data(r)["data"])
    plain = client.get("/api/v6/contacts.json", params={"fields": "name"}, headers=h)
    assert "x-ignored-fields" not in plain.headers
    strict = client.get(
        "/api/v6/contacts.json",
        params={"fields": "name,customFields_ico"},
        headers={**h, "X-Strict-Fields": "1"},
    )
    assert strict.status_code == 400 and "customFields_ico" in strict.json()["error"][0]
