"""Bad input gets a clear error in the envelope, the right status, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import TenantFixture, data


def count(client: Any, t: TenantFixture) -> int:
    return int(data(client.get("/api/v6/contacts.json", headers=t.h()))["total"])


@pytest.mark.parametrize(
    ("body", "status", "form_key"),
    [
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b"", 400, "body"),
        (b'{"lastname": 5, "database": "main"}', 400, "lastname"),
        (b'{"lastname": "X", "database": "main", "age": 3}', 400, "age"),
        (b'{"lastname": "X", "database": "main", "created": "2020-01-01 00:00:00"}', 400, "created"),
        (b'{"lastname": "X", "database": "nope"}', 400, "database"),
        (b'{"lastname": "X", "database": "main", "customFields": {"x": [1]}}', 400, "customFields.x"),
        (b'{"lastname": "X", "database": "main", "user": "ghost"}', 400, "user"),
        (b'{"lastname": "", "database": "main"}', 400, "lastname"),
        (b'{"lastname": "X", "database": "main", "name": "bad name!"}', 400, "name"),
    ],
)
def test_bad_bodies_write_nothing(
    client: Any, tenant: TenantFixture, body: bytes, status: int, form_key: str
) -> None:
    r = client.post(
        "/api/v6/contacts.json", content=body, headers={**tenant.h(), "content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["result"] is None
    assert form_key in payload["error"]["form"], payload
    assert count(client, tenant) == 0


def test_read_only_fields_say_so(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/contacts.json", json={"lastname": "X", "database": "main", "title": "Y"}, headers=tenant.h()
    )
    assert r.json()["error"]["form"] == {"title": ["This field is read-only."]}


def test_oversized_body_is_413(client: Any, tenant: TenantFixture) -> None:
    big = {"lastname": "X", "database": "main", "description": "a" * 300_000}
    r = client.post("/api/v6/contacts.json", json=big, headers=tenant.h())
    assert r.status_code == 413
    assert "larger than" in r.json()["error"][0]
    assert count(client, tenant) == 0


def test_key_cannot_change_and_duplicates_conflict(client: Any, tenant: TenantFixture) -> None:
    c = data(
        client.post(
            "/api/v6/contacts.json",
            json={"lastname": "X", "database": "main", "name": "k1"},
            headers=tenant.h(),
        )
    )
    assert c["name"] == "k1"
    r = client.put("/api/v6/contacts/k1.json", json={"name": "k2"}, headers=tenant.h())
    assert r.status_code == 400
    r = client.post(
        "/api/v6/contacts.json", json={"lastname": "X", "database": "main", "name": "k1"}, headers=tenant.h()
    )
    assert r.status_code == 409
    assert count(client, tenant) == 1


def test_failed_update_changes_nothing(client: Any, tenant: TenantFixture) -> None:
    c = data(
        client.post(
            "/api/v6/contacts.json", json={"lastname": "Před", "database": "main"}, headers=tenant.h()
        )
    )
    r = client.put(
        f"/api/v6/contacts/{c['name']}.json",
        json={"lastname": "Po", "customFields": {"nope": ["x"]}},
        headers=tenant.h(),
    )
    assert r.status_code == 400
    assert data(client.get(f"/api/v6/contacts/{c['name']}.json", headers=tenant.h()))["lastname"] == "Před"


def test_unknown_endpoint_and_method(client: Any, tenant: TenantFixture) -> None:
    r = client.get("/api/v6/nosuch.json", headers=tenant.h())
    assert r.status_code == 404 and r.json()["error"] == ["No such endpoint."]
    r = client.patch("/api/v6/contacts.json", headers=tenant.h())
    assert r.status_code == 405 and r.json()["result"] is None


@pytest.mark.parametrize(
    "value", [b"NaN", b"Infinity", b"-Infinity", b"18446744073709551616", b"-9223372036854775809"]
)
def test_numbers_json_does_not_have_are_refused_everywhere(
    client: Any, tenant: TenantFixture, value: bytes
) -> None:
    """Python's JSON parser takes NaN, Infinity and integers of any size; free-form fields (a
    queue's extra v6 options) would keep them, and then neither database nor client could."""
    body = b'{"name": "200", "title": "Sales", "type": "in", "options": {"weight": ' + value + b"}}"
    r = client.post(
        "/api/v6/queues.json", content=body, headers={**tenant.h(), "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["form"]["body"] == [
        "Numbers must be finite and fit in 64 bits (no NaN or Infinity)."
    ]
    assert client.get("/api/v6/queues/200.json", headers=tenant.h()).status_code == 404
    fine = body.replace(value, b"9223372036854775807")
    r = client.post(
        "/api/v6/queues.json", content=fine, headers={**tenant.h(), "content-type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert data(r)["options"]["weight"] == 2**63 - 1


def test_a_stored_number_beyond_64_bits_still_reads(client: Any, tenant: TenantFixture, app: Any) -> None:
    """Written before the rule above (or by hand): the answer still carries it exactly."""
    from sqlalchemy import update

    from hovor.activities.models import Queue
    from hovor.core.db import unit_of_work

    client.post("/api/v6/queues.json", json={"name": "300", "title": "L", "type": "in"}, headers=tenant.h())
    with unit_of_work(app.state.session_factory) as s:
        s.execute(
            update(Queue)
            .where(Queue.tenant_id == "acme", Queue.name == "300")
            .values(options={"record_calls": True, "big": 2**70})
        )
    r = client.get("/api/v6/queues/300.json", headers=tenant.h())
    assert r.status_code == 200, r.text
    assert b'"big":1180591620717411303424' in r.content


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("q=%FF%FE", "q"),
        ("filter[0][field]=lastname&filter[0][operator]=eq&filter[0][value]=%ED%A0%80", "filter[0][value]"),
        ("fields[0]=name&x%FF=1", "x\ufffd"),
    ],
)
def test_a_query_parameter_that_is_not_utf8_is_refused(
    client: Any, tenant: TenantFixture, query: str, named: str
) -> None:
    """The same bytes in a JSON body are a 400; in the query string they were quietly replaced and
    matched nothing. The answer names the parameter, never its value."""
    r = client.get(f"/api/v6/contacts.json?{query}", headers=tenant.h())
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": [f"The query parameter {named!r} is not valid UTF-8."],
        "result": None,
        "_time": r.json()["_time"],
    }


def test_a_valid_query_string_still_reaches_the_route(client: Any, tenant: TenantFixture) -> None:
    r = client.get("/api/v6/contacts.json?q=Nov%C3%A1kov%C3%A1&take=5", headers=tenant.h())
    assert r.status_code == 200, r.text


def test_an_over_long_request_target_is_refused_in_the_envelope(client: Any, tenant: TenantFixture) -> None:
    r = client.get("/api/v6/contacts.json?q=" + "a" * 9000, headers=tenant.h())
    assert r.status_code == 414
    assert r.json()["error"] == ["The request target is longer than 8192 bytes."]
    assert r.json()["result"] is None


def test_a_request_the_servers_parser_refuses_is_answered_in_the_envelope() -> None:
    """A request line far past the parser's limit (here 200 kB) never reaches the application: the
    server's own answer used to be uvicorn's plain text; it is the envelope, as `hovor serve` runs."""
    import json
    import socket
    import threading
    import time

    import uvicorn

    from hovor.edge.tls import HardenedConfig

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = HardenedConfig(
        app, host="127.0.0.1", port=port, http="httptools", log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /api/v6/contacts.json?q=" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
        envelope = json.loads(body)
        assert envelope["result"] is None and "could not be read" in envelope["error"][0]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
