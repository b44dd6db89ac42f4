"""The request shapes of public v6 clients other than the official Python SDK, replayed: the
JavaScript connector (URLs without .json, whoim's version), Keboola's extractor (sign-in by query
parameters with only_token, fields as one comma-separated value, incremental runs by ``edited``,
saved flattened field names) and an MCP server (sign-in by form). Written from their public
source as a reference for what they send; none of their code is here."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

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


def _call(client: Any, h: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.post("/api/v6/activitiesCall.json", json={"direction": "in", **body}, headers=h)
    assert r.status_code == 201, r.text
    return data(r)  # type: ignore[no-any-return]


def test_calls_in_the_reference_object_model(client: Any, tenant: TenantFixture) -> None:
    """Keboola's activitiesCall table and the MCP server read calls by id_call and call_time, with
    the queue and agent as id_queue and id_agent and the PBX's causes and missed-call fields."""
    h = tenant.h()
    for queue in ("100", "200"):
        client.post(
            "/api/v6/queues.json", json={"name": queue, "title": f"Linka {queue}", "type": "in"}, headers=h
        )
    early = _call(client, h, queue="100", time="2026-11-02 09:00:00", answered=True)
    late = _call(
        client,
        h,
        call_time="2026-11-03 10:15:00",  # the reference's names on the way in, too
        id_queue="200",
        id_agent="acme-operator",
        prefix_clid_name="VIP Jana",
        disposition_cause="busy",
        disconnection_cause="caller",
        pressed_key="2",
        missed_call=True,
        missed_call_time="2026-11-03 10:15:30",
        attempts=2,
    )
    assert late["id_call"] == late["name"] and late["call_time"] == "2026-11-03 10:15:00"
    assert late["id_queue"]["name"] == "200" and late["id_agent"]["name"] == "acme-operator"
    assert late["queue"] == late["id_queue"] and [a["name"] for a in late["activities"]] == [late["name"]]
    assert (late["pressed_key"], late["missed_call"], late["attempts"]) == ("2", True, 2)
    assert late["missed_call_time"] == "2026-11-03 10:15:30" and late["disposition_cause"] == "busy"

    def names(params: dict[str, Any]) -> list[str]:
        r = client.get("/api/v6/activitiesCall.json", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [c["id_call"] for c in data(r)["data"]]

    flat = {"filter[field]": "call_time", "filter[operator]": "gte", "filter[value]": "2026-11-03 00:00:00"}
    assert names(flat) == [late["name"]]
    assert names({"filter[field]": "id_call", "filter[operator]": "eq", "filter[value]": early["name"]}) == [
        early["name"]
    ]
    assert names({"sort[0][field]": "call_time", "sort[0][dir]": "asc"}) == [early["name"], late["name"]]
    assert names({"sort": "call_time", "dir": "desc"}) == [late["name"], early["name"]]
    # The wrapper's fields on a channel endpoint: time, queue, user, as docs/api.md says.
    assert names({"filter[0][field]": "queue", "filter[0][operator]": "eq", "filter[0][value]": "100"}) == [
        early["name"]
    ]
    assert names({"filter[0][field]": "user", "filter[0][operator]": "isnull"}) == [early["name"]]
    assert names(
        {"filter[0][field]": "missed_call", "filter[0][operator]": "eq", "filter[0][value]": "true"}
    ) == [late["name"]]
    projected = data(
        client.get("/api/v6/activitiesCall.json", params={"fields": "id_call,call_time,time"}, headers=h)
    )
    assert {tuple(sorted(row)) for row in projected["data"]} == {("call_time", "id_call", "time")}


def test_emails_carry_queue_time_wait_time_and_answered(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "mail", "title": "Pošta", "type": "email"}, headers=h)
    r = client.post(
        "/api/v6/activitiesEmail.json",
        json={
            "queue": "mail",
            "direction": "in",
            "title": "Dotaz",
            "time": "2026-11-04 08:00:00",
            "wait_time": 90,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    made = data(r)
    assert made["wait_time"] == 90 and made["answered"] is False and made["queue"]["name"] == "mail"
    put = client.put(f"/api/v6/activitiesEmail/{made['name']}.json", json={"answered": True}, headers=h)
    assert put.status_code == 200 and data(put)["answered"] is True
    listed = client.get(
        "/api/v6/activitiesEmail.json",
        params={
            "filter[0][field]": "time",
            "filter[0][operator]": "gte",
            "filter[0][value]": "2026-11-04 00:00:00",
            "filter[1][field]": "answered",
            "filter[1][operator]": "eq",
            "filter[1][value]": "true",
            "fields[0]": "name",
            "fields[1]": "queue",
            "fields[2]": "wait_time",
        },
        headers=h,
    )
    assert listed.status_code == 200, listed.text
    assert data(listed)["data"] == [{"name": made["name"], "queue": made["queue"], "wait_time": 90}]


def test_custom_fields_in_filters_and_sorts(client: Any, tenant: TenantFixture) -> None:
    """customFields.<field> in a filter or a sort (its first value); a field hidden from the caller
    is unknown to them, so nobody finds records by a value they may not see."""
    h = tenant.h()
    for name, hidden in (("ico", False), ("internal", True)):
        r = client.post(
            "/api/v6/formFields.json",
            json={"object_type": "contacts", "name": name, "title": name, "type": "text", "hidden": hidden},
            headers=h,
        )
        assert r.status_code == 201, r.text
    for lastname, ico in (("Svoboda", "27082440"), ("Dvořák", "00177041"), ("Král", None)):
        fields = {"ico": [ico], "internal": ["x"]} if ico else {}
        body = {"lastname": lastname, "database": "main", "customFields": fields}
        assert client.post("/api/v6/contacts.json", json=body, headers=h).status_code == 201

    def lastnames(params: dict[str, Any], role: str = "admin") -> Any:
        r = client.get("/api/v6/contacts.json", params=params, headers=tenant.h(role))
        return [c["lastname"] for c in data(r)["data"]] if r.status_code == 200 else r

    eq = {"filter[0][field]": "customFields.ico", "filter[0][operator]": "eq", "filter[0][value]": "27082440"}
    assert lastnames(eq) == ["Svoboda"]
    begins = {"filter[field]": "customFields.ico", "filter[operator]": "begins", "filter[value]": "001"}
    assert lastnames(begins) == ["Dvořák"]
    assert lastnames({"filter[field]": "customFields.ico", "filter[operator]": "isnull"}) == ["Král"]
    ordered = {
        "sort[0][field]": "customFields.ico",
        "sort[0][dir]": "asc",
        **{"filter[field]": "customFields.ico", "filter[operator]": "isnotnull"},
    }
    assert lastnames(ordered) == ["Dvořák", "Svoboda"]
    hidden = {"filter[field]": "customFields.internal", "filter[operator]": "eq", "filter[value]": "x"}
    assert sorted(lastnames(hidden, "admin")) == ["Dvořák", "Svoboda"]
    call = client.get(
        "/api/v6/activitiesCall.json",
        params={"filter[field]": "customFields.ico", "filter[operator]": "eq", "filter[value]": "1"},
        headers=h,
    )
    assert call.status_code == 400 and "customFields.ico" in call.json()["error"][0]
    refused = lastnames(hidden, "operator")
    assert refused.status_code == 400 and "customFields.internal" in refused.json()["error"][0]


def test_a_record_read_and_sent_back_is_accepted(client: Any, tenant: TenantFixture) -> None:
    """A client that reads a record, changes one field and PUTs the whole record back: every
    field hovor returned is taken back; read-only ones that carry their current value are ignored,
    one that carries another value is refused as read-only, and an unknown name is still refused."""
    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "Linka", "type": "in"}, headers=h)
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=h)
    contact = data(
        client.post(
            "/api/v6/contacts.json",
            json={"firstname": "Jan", "lastname": "Král", "database": "main"},
            headers=h,
        )
    )
    records = {
        "contacts": contact["name"],
        "tickets": data(
            client.post("/api/v6/tickets.json", json={"title": "Vada", "category": "rekl"}, headers=h)
        )["name"],
        "activitiesCall": _call(client, h, queue="100", contact=contact["name"], clid="603 123 456")["name"],
        "queues": "100",
        "users": "acme-operator",
    }
    for endpoint, name in records.items():
        url = f"/api/v6/{endpoint}/{name}.json"
        read = data(client.get(url, headers=h))
        sent = client.put(url, json=read, headers=h)
        assert sent.status_code == 200, (endpoint, sent.text)
        again = data(client.get(url, headers=h))
        assert {k: v for k, v in again.items() if k not in ("edited", "edited_by")} == {
            k: v for k, v in read.items() if k not in ("edited", "edited_by")
        }, endpoint
        forged = client.put(url, json={**again, "created": "2001-01-01 00:00:00"}, headers=h)
        assert forged.status_code == 400, endpoint
        assert forged.json()["error"]["form"] == {"created": ["This field is read-only."]}
        unknown = client.put(url, json={**again, "nosuchfield": 1}, headers=h)
        assert unknown.status_code == 400 and "nosuchfield" in unknown.json()["error"]["form"], endpoint
    # A change made on the way back is made.
    read = data(client.get(f"/api/v6/contacts/{contact['name']}.json", headers=h))
    changed = client.put(
        f"/api/v6/contacts/{contact['name']}.json", json={**read, "lastname": "Králová"}, headers=h
    )
    assert changed.status_code == 200 and data(changed)["lastname"] == "Králová"


def test_activities_chat_is_the_web_chat_endpoint(client: Any, tenant: TenantFixture) -> None:
    """The reference's older name for web chat, which Keboola's extractor reads (filtered on time)."""
    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "web", "title": "Chat", "type": "chat"}, headers=h)
    made = client.post(
        "/api/v6/activitiesChat.json",
        json={"queue": "web", "title": "Jana", "time": "2026-11-05 12:00:00"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    name = data(made)["name"]
    assert data(client.get(f"/api/v6/activitiesWeb/{name}.json", headers=h))["title"] == "Jana"
    listed = client.get(
        "/api/v6/activitiesChat",
        params={"filter[field]": "time", "filter[operator]": "gte", "filter[value]": "2026-11-05 00:00:00"},
        headers=h,
    )
    assert listed.status_code == 200 and [c["name"] for c in data(listed)["data"]] == [name]
    assert client.get("/api/v6/activitiesChatter.json", headers=h).status_code == 404


def test_catalogues_as_the_javascript_connector_uses_statuses(client: Any, tenant: TenantFixture) -> None:
    """The JavaScript connector's live test: create a status (201), read it, update its description
    (200), delete it (204) — without .json. Groups, pauses and templates are catalogues alike;
    operators read them, only an admin changes them."""
    h = tenant.h()
    made = client.post(
        "/api/v6/statuses", json={"name": "connector_test_1", "title": "Connector test"}, headers=h
    )
    assert made.status_code == 201, made.text
    assert data(client.get("/api/v6/statuses/connector_test_1", headers=h))["title"] == "Connector test"
    updated = client.put(
        "/api/v6/statuses/connector_test_1",
        json={"description": "Updated by connector integration test"},
        headers=h,
    )
    assert (
        updated.status_code == 200 and data(updated)["description"] == "Updated by connector integration test"
    )
    assert client.delete("/api/v6/statuses/connector_test_1", headers=h).status_code == 204
    assert client.get("/api/v6/statuses/connector_test_1", headers=h).status_code == 404

    bodies = {
        "statuses": {"name": "sale", "title": "Prodej", "color": "#2E7D32"},
        "groups": {"name": "brno", "title": "Směna Brno"},
        "pauses": {"name": "lunch", "title": "Oběd", "paid": False, "max_duration": 1800},
        "templates": {
            "name": "thanks",
            "title": "Poděkování",
            "type": "sms",
            "content": "Děkujeme, {{agent}}",
        },
    }
    for endpoint, body in bodies.items():
        r = client.post(f"/api/v6/{endpoint}.json", json=body, headers=h)
        assert r.status_code == 201, (endpoint, r.text)
        assert data(r)["created_by"] == data(r)["edited_by"] == "acme-admin"
        listed = client.get(f"/api/v6/{endpoint}.json", headers=tenant.h("operator"))
        assert listed.status_code == 200 and [x["name"] for x in data(listed)["data"]] == [body["name"]]
        refused = client.post(
            f"/api/v6/{endpoint}.json", json={**body, "name": "x2"}, headers=tenant.h("operator")
        )
        assert refused.status_code == 403, endpoint
    bad = [
        ("statuses", {"title": "Zelená", "color": "green"}, "color"),
        ("pauses", {"title": "Dlouhá", "max_duration": 90000}, "max_duration"),
        ("templates", {"title": "Fax", "type": "fax"}, "type"),
        ("groups", {"title": ""}, "title"),
    ]
    for endpoint, body, field in bad:
        r = client.post(f"/api/v6/{endpoint}.json", json=body, headers=h)
        assert r.status_code == 400 and field in r.json()["error"]["form"], (endpoint, r.text)
    assert client.post("/api/v6/statuses.json", json=bodies["statuses"], headers=h).status_code == 409


def test_whatsapp_instagram_and_viber_conversations(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h()
    for name, kind in (("700", "wap"), ("800", "igdm"), ("900", "vbr"), ("600", "fbm")):
        client.post("/api/v6/queues.json", json={"name": name, "title": kind, "type": kind}, headers=h)
    wap = client.post(
        "/api/v6/activitiesWap.json",
        json={"queue": "700", "sender": "603 123 456", "title": "Jana", "direction": "in"},
        headers=h,
    )
    assert wap.status_code == 201, wap.text
    assert data(wap)["sender"] == "+420603123456" and data(wap)["type"] == "WAP"
    message = {"activity": data(wap)["name"], "direction": "IN", "text": "Dobrý den"}
    assert client.post("/api/v6/activitiesMessages.json", json=message, headers=h).status_code == 201
    thread = data(client.get(f"/api/v6/activitiesWap/{data(wap)['name']}/messages.json", headers=h))
    assert [m["text"] for m in thread["data"]] == ["Dobrý den"]
    for endpoint, queue, sender in (
        ("activitiesIgdm", "800", "17841400000000001"),
        ("activitiesVbr", "900", "vb+01=="),
    ):
        r = client.post(
            f"/api/v6/{endpoint}.json", json={"queue": queue, "sender": sender, "direction": "out"}, headers=h
        )
        assert r.status_code == 201 and data(r)["sender"] == sender, r.text
        found = client.get(
            f"/api/v6/{endpoint}.json",
            params={"filter[field]": "sender", "filter[operator]": "eq", "filter[value]": sender},
            headers=h,
        )
        assert data(found)["total"] == 1
    wrong_queue = client.post(
        "/api/v6/activitiesWap.json",
        json={"queue": "600", "sender": "603 123 456", "direction": "in"},
        headers=h,
    )
    assert wrong_queue.status_code == 400 and "queue" in wrong_queue.json()["error"]["form"]
    bad_number = client.post(
        "/api/v6/activitiesWap.json", json={"sender": "nope", "direction": "in"}, headers=h
    )
    assert bad_number.status_code == 400 and "sender" in bad_number.json()["error"]["form"]
    for kind in ("activitiesWap", "activitiesIgdm", "activitiesVbr"):  # each has its retention policy
        policy = {"name": kind, "days": 365, "action": "anonymize"}
        made = client.post("/api/v6/retentionPolicies.json", json=policy, headers=tenant.h("dpo"))
        assert made.status_code == 201, made.text


def test_the_knowledge_base(client: Any, tenant: TenantFixture) -> None:
    """The MCP server's knowledge-base tools: folders, articles searched with q, filtered by folder
    and published, an article read with its content."""
    h = tenant.h()
    folder = client.post(
        "/api/v6/articlesFolders.json", json={"name": "sip", "title": "Telefonie"}, headers=h
    )
    assert folder.status_code == 201, folder.text
    body = {
        "name": "sip-reg",
        "title": "Registrace SIP",
        "folder": "sip",
        "content": "<p>Port 5060, TLS 5061</p>",
    }
    made = client.post("/api/v6/articles.json", json={**body, "published": True}, headers=h)
    assert made.status_code == 201, made.text
    assert data(made)["folder"] == {"name": "sip", "title": "Telefonie"}
    draft = {"name": "fax", "title": "Fax", "content": "Nepoužívá se", "published": False}
    assert client.post("/api/v6/articles.json", json=draft, headers=h).status_code == 201
    op = tenant.h("operator")
    found = data(client.get("/api/v6/articles.json", params={"q": "5061"}, headers=op))
    assert [a["name"] for a in found["data"]] == ["sip-reg"]
    filtered = {
        "filter[0][field]": "folder",
        "filter[0][operator]": "eq",
        "filter[0][value]": "sip",
        "filter[1][field]": "published",
        "filter[1][operator]": "eq",
        "filter[1][value]": "true",
    }
    assert [
        a["name"] for a in data(client.get("/api/v6/articles.json", params=filtered, headers=op))["data"]
    ] == ["sip-reg"]
    read = data(client.get("/api/v6/articles/sip-reg.json", headers=op))
    assert read["content"] == "<p>Port 5060, TLS 5061</p>"
    # Sent back as read (the folder as its nested reference): accepted.
    assert client.put("/api/v6/articles/sip-reg.json", json=read, headers=h).status_code == 200
    nowhere = client.post("/api/v6/articles.json", json={"title": "X", "folder": "nope"}, headers=h)
    assert nowhere.status_code == 400 and "folder" in nowhere.json()["error"]["form"]
    still_used = client.delete("/api/v6/articlesFolders/sip.json", headers=h)
    assert still_used.status_code == 409, still_used.text
    assert client.delete("/api/v6/articles/sip-reg.json", headers=h).status_code == 204
    assert client.delete("/api/v6/articlesFolders/sip.json", headers=h).status_code == 204


def test_tickets_with_merge_and_sla_as_the_mcp_server_lists_them(client: Any, tenant: TenantFixture) -> None:
    """The MCP server lists tickets with id_merge isnull (the merged ones hidden) sorted by their SLA
    deadline; the deadlines follow the category's SLA from the ticket's creation."""
    h = tenant.h()
    category = {"name": "rekl", "title": "Reklamace", "sla_response": 60, "sla_solution": 480}
    assert client.post("/api/v6/ticketsCategories.json", json=category, headers=h).status_code == 201
    client.post("/api/v6/ticketsCategories.json", json={"name": "info", "title": "Dotazy"}, headers=h)
    first = data(
        client.post("/api/v6/tickets.json", json={"title": "Vadný mixér", "category": "rekl"}, headers=h)
    )
    created = dt.datetime.strptime(first["created"], "%Y-%m-%d %H:%M:%S")
    assert first["sla_deadtime"] == (created + dt.timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M:%S")
    assert first["sla_close_deadline"] == (created + dt.timedelta(minutes=480)).strftime("%Y-%m-%d %H:%M:%S")
    assert first["sla_overdue"] == 0 and first["id_merge"] is None
    second = data(
        client.post("/api/v6/tickets.json", json={"title": "Tentýž mixér", "category": "rekl"}, headers=h)
    )
    plain = data(
        client.post("/api/v6/tickets.json", json={"title": "Otevírací doba", "category": "info"}, headers=h)
    )
    assert plain["sla_deadtime"] is None and plain["sla_overdue"] is None

    merged = client.put(f"/api/v6/tickets/{second['name']}.json", json={"id_merge": first["name"]}, headers=h)
    assert merged.status_code == 200 and data(merged)["id_merge"] == first["name"]
    back = client.put(f"/api/v6/tickets/{first['name']}.json", json={"id_merge": second["name"]}, headers=h)
    assert back.status_code == 400 and "id_merge" in back.json()["error"]["form"]  # no circle
    itself = client.put(f"/api/v6/tickets/{first['name']}.json", json={"id_merge": first["name"]}, headers=h)
    assert itself.status_code == 400
    # Nor a longer circle: first → plain is fine, then plain → second would close second → first → plain.
    assert (
        client.put(
            f"/api/v6/tickets/{first['name']}.json", json={"id_merge": plain["name"]}, headers=h
        ).status_code
        == 200
    )
    circle = client.put(f"/api/v6/tickets/{plain['name']}.json", json={"id_merge": second["name"]}, headers=h)
    assert circle.status_code == 400 and "id_merge" in circle.json()["error"]["form"]
    assert (
        client.put(f"/api/v6/tickets/{first['name']}.json", json={"id_merge": None}, headers=h).status_code
        == 200
    )

    params = {
        "filter[0][field]": "id_merge",
        "filter[0][operator]": "isnull",
        "filter[0][value]": "true",
        "sort[0][field]": "sla_deadtime",
        "sort[0][dir]": "asc",
        "fields[0]": "name",
        "fields[1]": "sla_overdue",
        "skip": 0,
        "take": 200,
    }
    listed = client.get("/api/v6/tickets.json", params=params, headers=h)
    assert listed.status_code == 200, listed.text
    assert [t["name"] for t in data(listed)["data"]] == [first["name"], plain["name"]]

    # Moving a ticket to a category without an SLA drops its deadlines.
    moved = data(client.put(f"/api/v6/tickets/{first['name']}.json", json={"category": "info"}, headers=h))
    assert moved["sla_deadtime"] is None and moved["sla_close_deadline"] is None


def test_the_mcp_servers_requests(client: Any, tenant: TenantFixture) -> None:
    """The request shapes of the MCP server wrapping v6 (hajekd/mcp-daktela): sign-in with a JSON
    body reading accessToken, refreshToken and accessTokenExpirationDate, refresh with PUT, the
    token in X-AUTH-TOKEN, and its list tools' indexed filters, sorts, projections and paging."""
    signed = client.post("/api/v6/login.json", json={"username": "acme-supervisor", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    result = data(signed)
    assert result["accessToken"] and result["refreshToken"]
    dt.datetime.strptime(result["accessTokenExpirationDate"], "%Y-%m-%d %H:%M:%S")
    renewed = data(client.put("/api/v6/login.json", json={"refreshToken": result["refreshToken"]}))
    h = {"X-AUTH-TOKEN": renewed["accessToken"]}
    admin = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "Linka", "type": "in"}, headers=admin)
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=admin)
    ticket = data(
        client.post("/api/v6/tickets.json", json={"title": "Invoice", "category": "rekl"}, headers=admin)
    )
    call = _call(client, admin, queue="100", id_agent="acme-operator", answered=True, ticket=ticket["name"])
    segment = {"activity": call["name"], "start": 0, "end": 2.5, "speaker": "customer", "text": "Dobrý den"}
    assert (
        client.post("/api/v6/activitiesCallTranscripts.json", json=segment, headers=admin).status_code == 201
    )

    def listed(endpoint: str, params: dict[str, Any]) -> Any:
        r = client.get(f"/api/v6/{endpoint}.json", params={"skip": 0, "take": 200, **params}, headers=h)
        assert r.status_code == 200, (endpoint, r.text)
        return data(r)

    # count_tickets: take=1, fields[0]=name, reading only the total.
    assert listed("tickets", {"take": 1, "fields[0]": "name"})["total"] == 1
    tickets = listed(
        "tickets",
        {
            "filter[0][field]": "stage",
            "filter[0][operator]": "eq",
            "filter[0][value]": "OPEN",
            "filter[1][field]": "title",
            "filter[1][operator]": "like",
            "filter[1][value]": "%nvoic%",
            "filter[2][field]": "id_merge",
            "filter[2][operator]": "isnull",
            "filter[2][value]": "true",
            "filter[3][field]": "created",
            "filter[3][operator]": "gte",
            "filter[3][value]": "2026-01-01 00:00:00",
            "sort[0][field]": "edited",
            "sort[0][dir]": "desc",
        },
    )
    assert [t["name"] for t in tickets["data"]] == [ticket["name"]]
    # scan_calls: answered calls, newest first, with their activities.
    calls = listed(
        "activitiesCall",
        {
            "filter[0][field]": "answered",
            "filter[0][operator]": "eq",
            "filter[0][value]": "true",
            "filter[1][field]": "id_agent",
            "filter[1][operator]": "in",
            "filter[1][value][0]": "acme-operator",
            "sort[0][field]": "call_time",
            "sort[0][dir]": "desc",
            **{
                f"fields[{i}]": f
                for i, f in enumerate(
                    [
                        "id_call",
                        "call_time",
                        "direction",
                        "answered",
                        "id_queue",
                        "id_agent",
                        "clid",
                        "duration",
                        "activities",
                    ]
                )
            },
        },
    )
    row = calls["data"][0]
    assert row["id_call"] == call["name"] and row["activities"][0]["name"] == call["name"]
    assert row["activities"][0]["ticket"] == ticket["name"]
    transcript = listed(
        "activitiesCallTranscripts",
        {
            "filter[0][field]": "activity",
            "filter[0][operator]": "eq",
            "filter[0][value]": call["name"],
            "sort[0][field]": "start",
            "sort[0][dir]": "asc",
            "fields[0]": "text",
            "fields[1]": "type",
            "fields[2]": "start",
            "fields[3]": "end",
        },
    )
    assert transcript["data"] == [{"text": "Dobrý den", "type": "customer", "start": 0.0, "end": 2.5}]
    # The reference lists its tools read without filters.
    for endpoint in (
        "users",
        "queues",
        "ticketsCategories",
        "statuses",
        "groups",
        "pauses",
        "templates",
        "campaignsTypes",
        "articlesFolders",
    ):
        assert "total" in listed(endpoint, {"take": 1000})
    activities = listed(
        "activities",
        {
            "filter[0][field]": "ticket",
            "filter[0][operator]": "eq",
            "filter[0][value]": ticket["name"],
            "sort[0][field]": "time",
            "sort[0][dir]": "asc",
        },
    )
    assert [a["name"] for a in activities["data"]] == [call["name"]]


def test_an_upload_without_json_has_the_upload_limit(client: Any, tenant: TenantFixture) -> None:
    """A recording posted to .../recording (no .json) is an upload like .../recording.json: it gets
    the upload size limit, not the JSON body limit (200 kB in the tests), which would refuse it."""
    from hovor.activities.audio import synth_wav

    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "Linka", "type": "in"}, headers=h)
    call = _call(client, h, queue="100")
    wav = synth_wav(seconds=20)
    assert len(wav) > 300_000
    r = client.post(
        f"/api/v6/activitiesCall/{call['name']}/recording",
        content=wav,
        headers={**tenant.h("integration"), "content-type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    assert data(r)["size"] == len(wav)


def test_statuses_marked_on_tickets_and_activities(client: Any, tenant: TenantFixture) -> None:
    """The MCP server filters tickets on a status (``statuses eq S1-Discovery``) and reads
    ``statuses`` as references; a ticket and an activity may carry several."""
    h = tenant.h()
    for name, title in (("s1", "S1-Discovery"), ("s2", "S2-Offer"), ("vip", "VIP")):
        assert (
            client.post("/api/v6/statuses.json", json={"name": name, "title": title}, headers=h).status_code
            == 201
        )
    client.post("/api/v6/ticketsCategories.json", json={"name": "sales", "title": "Obchod"}, headers=h)
    new = lambda title, statuses: data(  # noqa: E731
        client.post(
            "/api/v6/tickets.json",
            json={"title": title, "category": "sales", "statuses": statuses},
            headers=h,
        )
    )
    lead = new("Lead A", ["s1", "vip"])
    offer = new("Lead B", ["s2"])
    bare = new("Lead C", [])
    assert [s["title"] for s in lead["statuses"]] == ["S1-Discovery", "VIP"] and bare["statuses"] == []

    def names(params: dict[str, Any]) -> list[int]:
        r = client.get("/api/v6/tickets.json", params={"sort[0][field]": "name", **params}, headers=h)
        assert r.status_code == 200, r.text
        return [t["name"] for t in data(r)["data"]]

    def on(op: str, value: Any = None) -> dict[str, Any]:
        f = {"filter[0][field]": "statuses", "filter[0][operator]": op}
        if isinstance(value, list):
            f.update({f"filter[0][value][{i}]": v for i, v in enumerate(value)})
        elif value is not None:
            f["filter[0][value]"] = value
        return f

    assert names(on("eq", "s1")) == [lead["name"]]
    assert names(on("in", ["s1", "s2"])) == [lead["name"], offer["name"]]
    assert names(on("neq", "s1")) == [offer["name"], bare["name"]]  # has no s1
    assert names(on("isnull")) == [bare["name"]] and names(on("isnotnull")) == [lead["name"], offer["name"]]
    projected = client.get(
        "/api/v6/tickets.json",
        params={**on("eq", "vip"), "fields[0]": "name", "fields[1]": "statuses"},
        headers=h,
    )
    assert data(projected)["data"] == [
        {
            "name": lead["name"],
            "statuses": [{"name": "s1", "title": "S1-Discovery"}, {"name": "vip", "title": "VIP"}],
        }
    ]
    bad = client.get("/api/v6/tickets.json", params={"sort[0][field]": "statuses"}, headers=h)
    assert bad.status_code == 400

    # Replaced as a whole by PUT; a status the tenant lacks is refused and changes nothing.
    moved = client.put(f"/api/v6/tickets/{lead['name']}.json", json={"statuses": ["s2"]}, headers=h)
    assert moved.status_code == 200 and [s["name"] for s in data(moved)["statuses"]] == ["s2"]
    wrong = client.put(f"/api/v6/tickets/{lead['name']}.json", json={"statuses": ["s1", "nope"]}, headers=h)
    assert wrong.status_code == 400 and "statuses" in wrong.json()["error"]["form"]
    assert names(on("eq", "s2")) == [lead["name"], offer["name"]]
    # A read record sent back keeps its statuses (they come back as references).
    again = data(client.get(f"/api/v6/tickets/{lead['name']}.json", headers=h))
    assert client.put(f"/api/v6/tickets/{lead['name']}.json", json=again, headers=h).status_code == 200
    assert [
        s["name"] for s in data(client.get(f"/api/v6/tickets/{lead['name']}.json", headers=h))["statuses"]
    ] == ["s2"]
    # A status in use stays; the change is in the audit log by name.
    assert client.delete("/api/v6/statuses/s2.json", headers=h).status_code == 409
    entries = data(client.get("/api/v6/auditLog.json", params={"take": 50}, headers=h))["data"]
    assert any(
        e["action"] == "helpdesk.ticket.update" and "statuses" in e["details"]["fields"] for e in entries
    )

    comment = data(
        client.post(
            "/api/v6/activities.json", json={"description": "Volal zpět", "statuses": ["vip"]}, headers=h
        )
    )
    assert [s["name"] for s in comment["statuses"]] == ["vip"]
    listed = client.get("/api/v6/activities.json", params=on("eq", "vip"), headers=h)
    assert [a["name"] for a in data(listed)["data"]] == [comment["name"]]
    cleared = client.put(f"/api/v6/activities/{comment['name']}.json", json={"statuses": []}, headers=h)
    assert data(cleared)["statuses"] == []
    # Deleting the ticket takes its marks with it; then the status may go.
    assert client.delete(f"/api/v6/tickets/{offer['name']}.json", headers=h).status_code == 204
    assert client.delete(f"/api/v6/tickets/{lead['name']}.json", headers=h).status_code == 204
    assert client.delete("/api/v6/statuses/s2.json", headers=h).status_code == 204


def test_chats_by_direction_and_wait_time_as_the_mcp_server_lists_them(
    client: Any, tenant: TenantFixture
) -> None:
    """Every chat-like channel (web chat, SMS, Messenger, WhatsApp, Instagram, Viber) is listed by
    the MCP server with queue, user, contact, direction and a time range, sorted by wait_time."""
    h = tenant.h()
    bodies = {
        "activitiesWeb": ("chat", {"title": "Jana"}),
        "activitiesSms": ("sms", {"sender": "603 123 456"}),
        "activitiesFbm": ("fbm", {"sender": "psid-1"}),
        "activitiesWap": ("wap", {"sender": "603 123 457"}),
        "activitiesIgdm": ("igdm", {"sender": "ig-1"}),
        "activitiesVbr": ("vbr", {"sender": "vb-1"}),
    }
    for i, (endpoint, (kind, body)) in enumerate(bodies.items()):
        queue = str(700 + i)
        client.post("/api/v6/queues.json", json={"name": queue, "title": kind, "type": kind}, headers=h)
        made = {}
        for direction, wait in (("in", 40), ("in", 5), ("out", None)):
            r = client.post(
                f"/api/v6/{endpoint}.json",
                json={
                    **body,
                    "queue": queue,
                    "direction": direction,
                    "wait_time": wait,
                    "user": "acme-operator",
                },
                headers=h,
            )
            assert r.status_code == 201, (endpoint, r.text)
            made[(direction, wait)] = data(r)
        assert made[("in", 40)]["wait_time"] == 40 and made[("out", None)]["direction"] == "out"
        params = {
            "filter[0][field]": "queue",
            "filter[0][operator]": "eq",
            "filter[0][value]": queue,
            "filter[1][field]": "user",
            "filter[1][operator]": "eq",
            "filter[1][value]": "acme-operator",
            "filter[2][field]": "direction",
            "filter[2][operator]": "eq",
            "filter[2][value]": "in",
            "filter[3][field]": "time",
            "filter[3][operator]": "gte",
            "filter[3][value]": "2026-01-01 00:00:00",
            "sort[0][field]": "wait_time",
            "sort[0][dir]": "desc",
            "skip": 0,
            "take": 50,
        }
        listed = client.get(f"/api/v6/{endpoint}.json", params=params, headers=h)
        assert listed.status_code == 200, (endpoint, listed.text)
        assert [r["wait_time"] for r in data(listed)["data"]] == [40, 5], endpoint
        changed = client.put(
            f"/api/v6/{endpoint}/{made[('out', None)]['name']}.json", json={"wait_time": 12}, headers=h
        )
        assert changed.status_code == 200 and data(changed)["wait_time"] == 12, endpoint
    # A web chat made without a direction was opened by the customer.
    plain = client.post("/api/v6/activitiesWeb.json", json={"queue": "700", "title": "Petr"}, headers=h)
    assert data(plain)["direction"] == "in" and data(plain)["wait_time"] is None


def test_realtime_sessions_and_the_pauses_operators_took(client: Any, tenant: TenantFixture) -> None:
    """A phone system signs operators in, changes their state and pause, and signs them out; the
    MCP server lists ``realtimeSessions`` reading id_agent, state, id_pause, onpause, exten,
    logintime and statetime. Every pause that ends is kept in ``pausesTaken``."""
    pbx = tenant.h("integration")
    admin = tenant.h()
    for name, title in (("lunch", "Oběd"), ("training", "Školení")):
        client.post("/api/v6/pauses.json", json={"name": name, "title": title}, headers=admin)
    made = client.post(
        "/api/v6/realtimeSessions.json", json={"id_agent": "acme-operator", "exten": "201"}, headers=pbx
    )
    assert made.status_code == 201, made.text
    assert data(made)["state"] == "Idle" and data(made)["id_agent"]["name"] == "acme-operator"
    again = client.post("/api/v6/realtimeSessions.json", json={"id_agent": "acme-operator"}, headers=pbx)
    assert again.status_code == 409
    url = "/api/v6/realtimeSessions/acme-operator.json"
    refused = {
        "paused without a pause": {"state": "Paused"},
        "a pause while idle": {"state": "Idle", "id_pause": "lunch"},
        "no such pause": {"state": "Paused", "id_pause": "nope"},
        "no such state": {"state": "Sleeping"},
    }
    for why, body in refused.items():
        r = client.put(url, json=body, headers=pbx)
        assert r.status_code == 400, (why, r.text)
    paused = data(client.put(url, json={"state": "Paused", "id_pause": "lunch"}, headers=pbx))
    assert (
        paused["id_pause"] == {"name": "lunch", "title": "Oběd"} and paused["onpause"] == paused["statetime"]
    )
    assert data(client.put(url, json={"id_pause": "training"}, headers=pbx))["id_pause"]["name"] == "training"
    assert data(client.put(url, json={"state": "Busy"}, headers=pbx))["onpause"] is None

    supervisor = tenant.h("supervisor")
    listed = client.get("/api/v6/realtimeSessions.json", params={"skip": 0, "take": 200}, headers=supervisor)
    row = data(listed)["data"][0]
    assert data(listed)["total"] == 1 and row["state"] == "Busy" and row["exten"] == "201"
    for field in ("logintime", "statetime", "lastcalltime", "exten_status", "id_pause", "onpause"):
        assert field in row
    # Operators do not see their colleagues' states; the DPO may.
    assert client.get("/api/v6/realtimeSessions.json", headers=tenant.h("operator")).status_code == 403
    assert client.get("/api/v6/pausesTaken.json", headers=tenant.h("dpo")).status_code == 200

    client.put(url, json={"state": "Paused", "id_pause": "lunch"}, headers=pbx)
    assert client.delete(url, headers=pbx).status_code == 204  # signs out: the pause ends too
    assert data(client.get("/api/v6/realtimeSessions.json", headers=supervisor))["total"] == 0
    taken = data(
        client.get(
            "/api/v6/pausesTaken.json",
            params={
                "filter[0][field]": "user",
                "filter[0][operator]": "eq",
                "filter[0][value]": "acme-operator",
            },
            headers=supervisor,
        )
    )["data"]
    assert sorted(p["pause"]["name"] for p in taken) == ["lunch", "lunch", "training"]
    assert all(p["duration"] >= 0 and p["start"] <= p["end"] for p in taken)
    # History is not written by hand, and a kind of pause in it stays (deactivate it instead).
    assert client.post("/api/v6/pausesTaken.json", json={}, headers=admin).status_code in (404, 405)
    assert client.delete("/api/v6/pauses/lunch.json", headers=admin).status_code == 409


def test_users_are_members_of_groups(client: Any, tenant: TenantFixture) -> None:
    """Groups (teams, shifts) have members: a user's ``groups`` are read as references, written as
    names, and users are found by the group they are in."""
    h = tenant.h()
    for name, title in (("morning", "Ranní směna"), ("sales", "Obchod")):
        assert (
            client.post("/api/v6/groups.json", json={"name": name, "title": title}, headers=h).status_code
            == 201
        )
    made = client.post(
        "/api/v6/users.json",
        json={"name": "acme-eva", "title": "Eva", "role": "operator", "groups": ["sales", "morning"]},
        headers=h,
    )
    assert made.status_code == 201, made.text
    assert [g["name"] for g in data(made)["groups"]] == ["sales", "morning"]  # by title: Obchod, Ranní
    moved = client.put("/api/v6/users/acme-operator.json", json={"groups": ["morning"]}, headers=h)
    assert data(moved)["groups"] == [{"name": "morning", "title": "Ranní směna"}]
    own = data(client.get("/api/v6/whoim.json", headers=tenant.h("operator")))["user"]
    assert own["groups"] == [{"name": "morning", "title": "Ranní směna"}]
    wrong = client.put("/api/v6/users/acme-operator.json", json={"groups": ["night"]}, headers=h)
    assert wrong.status_code == 400 and "groups" in wrong.json()["error"]["form"]
    in_morning = client.get(
        "/api/v6/users.json",
        params={"filter[0][field]": "groups", "filter[0][operator]": "eq", "filter[0][value]": "morning"},
        headers=h,
    )
    assert sorted(u["name"] for u in data(in_morning)["data"]) == ["acme-eva", "acme-operator"]
    assert client.delete("/api/v6/groups/sales.json", headers=h).status_code == 409  # Eva is in it
    assert client.delete("/api/v6/users/acme-eva.json", headers=h).status_code == 204
    assert client.delete("/api/v6/groups/sales.json", headers=h).status_code == 204


def test_service_levels_of_categories_and_accounts(client: Any, tenant: TenantFixture) -> None:
    """``ticketsSla`` holds response and solution terms per priority; a category has one, and an
    account's own (its contract) wins for its contacts' tickets. Without either, the category's
    minutes apply."""
    h = tenant.h()
    gold = {"name": "gold", "title": "Gold", "response_high": 1, "solution_high": 4, "unit": "hours"}
    basic = {"name": "basic", "title": "Basic", "response_normal": 2, "solution_normal": 5, "unit": "days"}
    for level in (gold, basic):
        assert client.post("/api/v6/ticketsSla.json", json=level, headers=h).status_code == 201
    bad = client.post("/api/v6/ticketsSla.json", json={"title": "X", "unit": "weeks"}, headers=h)
    assert bad.status_code == 400 and "unit" in bad.json()["error"]["form"]
    category = {"name": "support", "title": "Podpora", "sla": "basic", "sla_response": 10}
    assert (
        data(client.post("/api/v6/ticketsCategories.json", json=category, headers=h))["sla"]["title"]
        == "Basic"
    )
    wrong = client.post("/api/v6/ticketsCategories.json", json={"title": "Y", "sla": "nope"}, headers=h)
    assert wrong.status_code == 400 and "sla" in wrong.json()["error"]["form"]
    account = data(
        client.post(
            "/api/v6/accounts.json",
            json={"title": "Velká firma", "database": "main", "sla": "gold"},
            headers=h,
        )
    )
    assert account["sla"] == {"name": "gold", "title": "Gold"}
    vip = data(
        client.post(
            "/api/v6/contacts.json",
            json={"lastname": "Dvořák", "database": "main", "account": account["name"]},
            headers=h,
        )
    )

    def due(body: dict[str, Any]) -> tuple[float | None, float | None]:
        t = data(
            client.post(
                "/api/v6/tickets.json", json={"title": "Dotaz", "category": "support", **body}, headers=h
            )
        )
        created = dt.datetime.strptime(t["created"], "%Y-%m-%d %H:%M:%S")

        def hours(value: str | None) -> float | None:
            return (
                None
                if value is None
                else (dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S") - created) / dt.timedelta(hours=1)
            )

        return hours(t["sla_deadtime"]), hours(t["sla_close_deadline"])

    assert due({}) == (48, 120)  # the category's level, at normal priority: 2 and 5 days
    assert due({"priority": "LOW"}) == (None, None)  # the level has no terms for low priority
    assert due({"contact": vip["name"], "priority": "HIGH"}) == (1, 4)  # the account's contract
    # A change of priority recomputes the deadlines.
    t = data(client.post("/api/v6/tickets.json", json={"title": "Jiný", "category": "support"}, headers=h))
    low = data(client.put(f"/api/v6/tickets/{t['name']}.json", json={"priority": "LOW"}, headers=h))
    assert low["sla_deadtime"] is None
    # A level switched off gives no deadlines: the category's own minutes apply.
    client.put("/api/v6/ticketsSla/basic.json", json={"deactivated": True}, headers=h)
    assert due({})[0] == 10 / 60
    client.put("/api/v6/ticketsSla/basic.json", json={"deactivated": False}, headers=h)
    assert due({}) == (48, 120)
    # A level in use stays; the category without it falls back to its own minutes.
    assert client.delete("/api/v6/ticketsSla/basic.json", headers=h).status_code == 409
    assert (
        data(client.put("/api/v6/ticketsCategories/support.json", json={"sla": None}, headers=h))["sla"]
        is None
    )
    assert due({})[0] == 10 / 60


def test_a_tickets_first_answer_and_each_sides_last_activity(client: Any, tenant: TenantFixture) -> None:
    """The MCP server sorts tickets by first_answer and last_activity_operator/_client: set from
    the activities filed under the ticket by their direction and time."""
    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "300", "title": "Mail", "type": "email"}, headers=h)
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=h)
    answered = data(client.post("/api/v6/tickets.json", json={"title": "A", "category": "rekl"}, headers=h))
    waiting = data(client.post("/api/v6/tickets.json", json={"title": "B", "category": "rekl"}, headers=h))
    assert answered["first_answer"] is None and answered["first_answer_duration"] is None

    def mail(ticket: int, direction: str, time: str) -> str:
        body = {
            "queue": "300",
            "ticket": ticket,
            "direction": direction,
            "address": "a@example.cz",
            "time": time,
        }
        r = client.post("/api/v6/activitiesEmail.json", json=body, headers=h)
        assert r.status_code == 201
        return str(data(r)["name"])

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = lambda minutes: (now + dt.timedelta(minutes=minutes)).isoformat()  # noqa: E731
    mail(answered["name"], "in", at(1))
    mail(answered["name"], "out", at(30))
    early = mail(answered["name"], "out", at(10))  # recorded late: still the first answer
    mail(answered["name"], "in", at(40))
    mail(waiting["name"], "in", at(5))
    read = data(client.get(f"/api/v6/tickets/{answered['name']}.json", headers=h))
    zone = ZoneInfo(data(client.get("/api/v6/tenant.json", headers=h))["timezone"])

    def wire(minutes: int) -> str:
        return (now + dt.timedelta(minutes=minutes)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    assert read["first_answer"] == wire(10) and read["last_activity_operator"] == wire(30)
    assert read["last_activity_client"] == wire(40)
    created = dt.datetime.strptime(read["created"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    assert (
        abs(read["first_answer_duration"] - ((now + dt.timedelta(minutes=10)) - created).total_seconds()) <= 1
    )
    listed = client.get(
        "/api/v6/tickets.json",
        params={"sort[0][field]": "first_answer", "sort[0][dir]": "asc", "fields[0]": "name"},
        headers=h,
    )
    assert [t["name"] for t in data(listed)["data"]] == [answered["name"], waiting["name"]]  # unanswered last
    for field in ("last_activity_operator", "last_activity_client"):
        r = client.get(
            "/api/v6/tickets.json", params={"sort[0][field]": field, "sort[0][dir]": "desc"}, headers=h
        )
        assert r.status_code == 200, r.text

    # Moved to the other ticket, the early answer is that ticket's; deleted, it is nobody's.
    moved = client.put(f"/api/v6/activitiesEmail/{early}.json", json={"ticket": waiting["name"]}, headers=h)
    assert moved.status_code == 200, moved.text

    def first(ticket: int) -> Any:
        return data(client.get(f"/api/v6/tickets/{ticket}.json", headers=h))["first_answer"]

    assert first(answered["name"]) == wire(30) and first(waiting["name"]) == wire(10)
    assert client.delete(f"/api/v6/activitiesEmail/{early}.json", headers=h).status_code == 204
    assert first(waiting["name"]) is None


def test_merge_tickets_as_the_reference_takes_it(client: Any, tenant: TenantFixture) -> None:
    """``POST mergeTickets.json?tickets[0]=A&tickets[1]=B``: B's activities and attachments move to
    A, B is closed and names A in id_merge; the answer is A. A legal hold on B refuses it."""
    h = tenant.h()
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=h)
    client.post("/api/v6/statuses.json", json={"name": "vip", "title": "VIP"}, headers=h)
    new = lambda title, **more: data(  # noqa: E731
        client.post("/api/v6/tickets.json", json={"title": title, "category": "rekl", **more}, headers=h)
    )
    kept, duplicate, other, held = (
        new("Vadný mixér"),
        new("Mixér znovu", statuses=["vip"]),
        new("Jiný"),
        new("Spor"),
    )
    note = data(
        client.post(
            "/api/v6/activities.json", json={"description": "Volala", "ticket": duplicate["name"]}, headers=h
        )
    )
    r = client.post(
        f"/api/v6/tickets/{duplicate['name']}/attachments.json",
        files={"file": ("foto.txt", b"obsah", "text/plain")},
        headers=h,
    )
    assert r.status_code == 201
    kind = data(
        client.post("/api/v6/crmRecordTypes.json", json={"title": "Obchody", "database": "main"}, headers=h)
    )
    deal = data(
        client.post(
            "/api/v6/crmRecords.json", json={"type": kind["name"], "ticket": duplicate["name"]}, headers=h
        )
    )
    earlier = new("Ještě dřív")
    client.put(f"/api/v6/tickets/{earlier['name']}.json", json={"id_merge": duplicate["name"]}, headers=h)
    merged = client.post(
        "/api/v6/mergeTickets.json",
        params={"tickets[0]": kept["name"], "tickets[1]": duplicate["name"]},
        headers=h,
    )
    # What else pointed at the merged ticket points at the one kept: a deal, an earlier merge.
    assert data(client.get(f"/api/v6/crmRecords/{deal['name']}.json", headers=h))["ticket"] == kept["name"]
    assert data(client.get(f"/api/v6/tickets/{earlier['name']}.json", headers=h))["id_merge"] == kept["name"]
    assert merged.status_code == 200, merged.text
    assert data(merged)["name"] == kept["name"] and [s["name"] for s in data(merged)["statuses"]] == ["vip"]
    gone = data(client.get(f"/api/v6/tickets/{duplicate['name']}.json", headers=h))
    assert gone["id_merge"] == kept["name"] and gone["stage"] == "CLOSE"
    activities = data(client.get(f"/api/v6/tickets/{kept['name']}/activities.json", headers=h))["data"]
    assert [a["name"] for a in activities] == [note["name"]]
    assert data(client.get(f"/api/v6/tickets/{kept['name']}/attachments.json", headers=h))["total"] == 1
    assert data(client.get(f"/api/v6/tickets/{duplicate['name']}/activities.json", headers=h))["total"] == 0

    refused = {
        "one ticket": {"tickets[0]": other["name"]},
        "merged already": {"tickets[0]": other["name"], "tickets[1]": duplicate["name"]},
        "no such ticket": {"tickets[0]": other["name"], "tickets[1]": 999999},
        "twice": {"tickets[0]": other["name"], "tickets[1]": other["name"]},
        "not ASCII digits": {"tickets[0]": other["name"], "tickets[1]": "²"},
        "too large": {"tickets[0]": other["name"], "tickets[1]": "99999999999999999999"},
    }
    for why, params in refused.items():
        r = client.post("/api/v6/mergeTickets.json", params=params, headers=h)
        assert r.status_code == 400 and "tickets" in r.json()["error"]["form"], (why, r.text)
    client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "tickets", "object_key": str(held["name"]), "reason": "Spor"},
        headers=tenant.h("dpo"),
    )
    blocked = client.post(
        "/api/v6/mergeTickets.json", json={"tickets": [other["name"], held["name"]]}, headers=h
    )
    assert blocked.status_code == 409
    assert data(client.get(f"/api/v6/tickets/{held['name']}.json", headers=h))["id_merge"] is None
    # Without the hold, a JSON body works too; operators may merge (they update tickets), the auditor not.
    assert (
        client.post(
            "/api/v6/mergeTickets",
            json={"tickets": [other["name"], held["name"]]},
            headers=tenant.h("auditor"),
        ).status_code
        == 403
    )
    entries = data(client.get("/api/v6/auditLog.json", params={"take": 100}, headers=tenant.h("dpo")))["data"]
    merge = next(e for e in entries if e["action"] == "helpdesk.ticket.merge")
    assert merge["details"] == {"into": kept["name"], "merged": [duplicate["name"]]}


# The fifteen tables Keboola's Daktela extractor can extract, by their endpoints.
KEBOOLA_TABLES = (
    "accounts",
    "activities",
    "activitiesCall",
    "activitiesChat",
    "activitiesEmail",
    "campaignsRecords",
    "contacts",
    "crmRecords",
    "groups",
    "pauses",
    "queues",
    "statuses",
    "templates",
    "tickets",
    "users",
)


def test_every_table_keboola_extracts_runs_incrementally(client: Any, tenant: TenantFixture) -> None:
    """Each of the extractor's tables answers its incremental request (``edited`` since the last
    run, a page of 1000) and finds a record made since then."""
    h = tenant.h()
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "Linka", "type": "in"}, headers=h)
    client.post("/api/v6/queues.json", json={"name": "400", "title": "Chat", "type": "chat"}, headers=h)
    client.post("/api/v6/queues.json", json={"name": "300", "title": "Mail", "type": "email"}, headers=h)
    client.post("/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=h)
    kind = data(
        client.post("/api/v6/crmRecordTypes.json", json={"title": "Obchody", "database": "main"}, headers=h)
    )
    campaign = data(client.post("/api/v6/campaignsTypes.json", json={"title": "Nabídka"}, headers=h))
    bodies: dict[str, dict[str, Any]] = {
        "accounts": {"title": "Firma", "database": "main"},
        "activities": {"description": "Poznámka"},
        "activitiesCall": {"queue": "100", "direction": "in", "clid": "603123456"},
        "activitiesChat": {"queue": "400", "title": "Jana"},
        "activitiesEmail": {"queue": "300", "direction": "in", "address": "jana@example.cz"},
        "campaignsRecords": {"record_type": campaign["name"], "number": "603123456"},
        "contacts": {"lastname": "Nová", "database": "main"},
        "crmRecords": {"type": kind["name"], "title": "Hypotéka"},
        "groups": {"title": "Ranní"},
        "pauses": {"title": "Oběd"},
        "statuses": {"title": "Prodej"},
        "templates": {"title": "Díky", "type": "sms", "content": "Děkujeme"},
        "tickets": {"title": "Vadné zboží", "category": "rekl"},
        "users": {"name": "acme-new", "title": "Nový", "role": "operator"},
    }
    for table in KEBOOLA_TABLES:
        made = None
        if table in bodies:
            r = client.post(f"/api/v6/{table}.json", json=bodies[table], headers=h)
            assert r.status_code == 201, (table, r.text)
            made = data(r)["name"]
        params = {
            "filter[0][field]": "edited",
            "filter[0][operator]": "gte",
            "filter[0][value]": since,
            "skip": 0,
            "take": 1000,
        }
        r = client.get(f"/api/v6/{table}.json", params=params, headers=h)
        assert r.status_code == 200, (table, r.text)
        names = [row["name"] for row in data(r)["data"]]
        assert made is None or made in names, table
