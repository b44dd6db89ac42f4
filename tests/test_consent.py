"""The consent ledger, campaigns that obey it, the suppression list and restriction / objection,
through the API on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TenantFixture, data, make_tenant, migrated_url
from hovor.app import create_app
from hovor.audit.models import AuditEntry
from hovor.forms.models import ConsentEvent
from test_erasure import _database_files, _settings, wait_done

NUMBER = "601 234 567"
NEEDLES = ("+420601234567", "420601234567", "601234567", "601 234 567")


def _field(
    client: TestClient, t: TenantFixture, name: str, type_: str, object_type: str = "contacts", **extra: str
) -> None:
    body = {"name": name, "title": name.title(), "object_type": object_type, "type": type_, **extra}
    r = client.post("/api/v6/formFields.json", json=body, headers=t.h())
    assert r.status_code == 201, r.text


def _contact(client: TestClient, t: TenantFixture, role: str = "operator", **fields: Any) -> str:
    body = {"lastname": "Zedníková", "firstname": "Alena", "database": "main", **fields}
    r = client.post("/api/v6/contacts.json", json=body, headers=t.h(role))
    assert r.status_code == 201, r.text
    return str(data(r)["name"])


def _history(client: TestClient, t: TenantFixture, contact: str, **params: str) -> list[dict[str, Any]]:
    query = {
        "filter[field]": "contact",
        "filter[operator]": "eq",
        "filter[value]": contact,
        "sort": "time",
        "dir": "asc",
        **params,
    }
    r = client.get("/api/v6/consentEvents.json", params=query, headers=t.h("operator"))
    assert r.status_code == 200, r.text
    return list(data(r)["data"])


def _state(client: TestClient, t: TenantFixture, contact: str) -> dict[tuple[str, str], str]:
    r = client.get(f"/api/v6/contacts/{contact}/consents.json", headers=t.h("operator"))
    assert r.status_code == 200, r.text
    return {(row["purpose"], row["channel"]): row["state"] for row in data(r)["consents"]}


def test_a_consent_field_writes_the_ledger_given_withdrawn_given(
    client: TestClient, tenant: TenantFixture
) -> None:
    _field(client, tenant, "marketing", "consent")
    contact = _contact(client, tenant, customFields={"marketing": ["yes"]})
    for value in ("no", "yes"):
        r = client.put(
            f"/api/v6/contacts/{contact}.json",
            json={"customFields": {"marketing": [value]}},
            headers=tenant.h("supervisor"),
        )
        assert r.status_code == 200, r.text
        # The field stays as it was on the wire.
        assert data(r)["customFields"]["marketing"] == [value]
    # Saving without changing the consent writes no event.
    r = client.put(f"/api/v6/contacts/{contact}.json", json={"description": "VIP"}, headers=tenant.h())
    assert r.status_code == 200, r.text
    events = _history(client, tenant, contact)
    assert [(e["purpose"], e["channel"], e["state"], e["source"]) for e in events] == [
        ("marketing", "all", "given", "field"),
        ("marketing", "all", "withdrawn", "field"),
        ("marketing", "all", "given", "field"),
    ]
    assert [e["actor"] for e in events] == ["acme-operator", "acme-supervisor", "acme-supervisor"]
    assert {e["object_type"] for e in events} == {"contacts"} and {e["object_name"] for e in events} == {
        contact
    }
    assert _state(client, tenant, contact) == {
        ("marketing", c): "given" for c in ("call", "sms", "email", "chat")
    }
    # The contact's own view of the history.
    r = client.get(f"/api/v6/contacts/{contact}/consentEvents.json", headers=tenant.h("operator"))
    assert data(r)["total"] == 3


def test_a_consent_field_declares_its_purpose_and_channel(client: TestClient, tenant: TenantFixture) -> None:
    _field(client, tenant, "souhlas_volani", "consent", purpose="marketing", channel="call")
    body = {"name": "poznamka", "title": "P", "object_type": "contacts", "type": "text", "purpose": "x"}
    r = client.post("/api/v6/formFields.json", json=body, headers=tenant.h())
    assert r.status_code == 400 and "purpose" in r.json()["error"]["form"]
    contact = _contact(client, tenant)
    campaign = _campaign(client, tenant)
    assert _record(client, tenant, record_type=campaign, contact=contact).status_code == 409
    r = client.put(
        f"/api/v6/contacts/{contact}.json",
        json={"customFields": {"souhlas_volani": ["yes"]}},
        headers=tenant.h("operator"),
    )
    assert r.status_code == 200, r.text
    assert _state(client, tenant, contact) == {("marketing", "call"): "given"}
    r = _record(client, tenant, record_type=campaign, contact=contact)
    assert r.status_code == 201 and data(r)["blocked"] is None, r.text


def test_the_ledger_api_appends_and_never_changes(client: TestClient, tenant: TenantFixture) -> None:
    contact = _contact(client, tenant)
    call = client.post(
        "/api/v6/activitiesCall.json", json={"direction": "in", "clid": NUMBER}, headers=tenant.h("operator")
    )
    assert call.status_code == 201, call.text
    names = []
    for state, channel in (("given", "sms"), ("withdrawn", "sms"), ("given", "sms")):
        body = {
            "contact": contact,
            "purpose": "newsletter",
            "channel": channel,
            "state": state,
            "source": "call",
            "activity": data(call)["name"],
            "evidence": "recording of the call",
        }
        r = client.post("/api/v6/consentEvents.json", json=body, headers=tenant.h("operator"))
        assert r.status_code == 201, r.text
        names.append(data(r)["name"])
    events = _history(client, tenant, contact)
    assert [e["name"] for e in events] == names
    assert [e["state"] for e in events] == ["given", "withdrawn", "given"]
    assert events[0]["activity"] == data(call)["name"] and events[0]["source"] == "call"
    # Filters by purpose and channel; newest first by default.
    r = client.get(
        "/api/v6/consentEvents.json",
        params={"filter[field]": "channel", "filter[value]": "sms"},
        headers=tenant.h("operator"),
    )
    assert [e["name"] for e in data(r)["data"]] == names[::-1]
    assert _state(client, tenant, contact) == {("newsletter", "sms"): "given"}
    # Appended, never updated nor deleted: there is no such route, for any role.
    for method in ("PUT", "DELETE"):
        r = client.request(method, f"/api/v6/consentEvents/{names[0]}.json", json={}, headers=tenant.h("dpo"))
        assert r.status_code == 405, (method, r.status_code)
    assert [e["state"] for e in _history(client, tenant, contact)] == ["given", "withdrawn", "given"]
    # Withdrawing everything is one call, as easy as giving.
    r = client.post(f"/api/v6/contacts/{contact}/withdrawConsent.json", json={}, headers=tenant.h("operator"))
    assert r.status_code == 201, r.text
    assert _state(client, tenant, contact)[("newsletter", "sms")] == "withdrawn"
    # Rules: a purpose, a contact or record, no future, a known source.
    for bad, field in (
        ({"contact": contact, "state": "given"}, "purpose"),
        ({"purpose": "x", "state": "given"}, "contact"),
        ({"contact": contact, "purpose": "x", "state": "given", "time": "2999-01-01 00:00:00"}, "time"),
        ({"contact": contact, "purpose": "x", "state": "given", "source": "field"}, "source"),
    ):
        r = client.post("/api/v6/consentEvents.json", json=bad, headers=tenant.h("operator"))
        assert r.status_code == 400 and field in r.json()["error"]["form"], (bad, r.text)


def _campaign(client: TestClient, t: TenantFixture, purpose: str | None = "marketing") -> str:
    body: dict[str, Any] = {"title": "Nabídka"}
    if purpose:
        body["purpose"] = purpose
    r = client.post("/api/v6/campaignsTypes.json", json=body, headers=t.h())
    assert r.status_code == 201, r.text
    assert data(r)["channel"] == "call" and data(r)["purpose"] == purpose
    return str(data(r)["name"])


def _record(client: TestClient, t: TenantFixture, **body: Any) -> Any:
    return client.post("/api/v6/campaignsRecords.json", json=body, headers=t.h("operator"))


def test_a_record_without_consent_is_not_offered(client: TestClient, tenant: TenantFixture) -> None:
    campaign = _campaign(client, tenant)
    contact = _contact(client, tenant)
    # Ready to dial (the default action): refused, naming the rule, never the number.
    r = _record(client, tenant, record_type=campaign, contact=contact, number=NUMBER)
    assert r.status_code == 409, r.text
    assert "no_consent" in r.text and not any(n in r.text for n in NEEDLES)
    # Kept aside (not assigned): made, with the reason to read.
    r = _record(client, tenant, record_type=campaign, contact=contact, number=NUMBER, action=0)
    assert r.status_code == 201, r.text
    record = data(r)["name"]
    assert data(r)["blocked"] == "no_consent" and data(r)["action"] == 0
    # Rescheduling it is refused.
    for body in ({"action": 1}, {"action": 6, "nextcall": "2030-01-01 10:00:00"}):
        r = client.put(f"/api/v6/campaignsRecords/{record}.json", json=body, headers=tenant.h("operator"))
        assert r.status_code == 409 and "no_consent" in r.text, r.text
    # Consent on another channel does not count; on the campaign's channel it does.
    given = {"contact": contact, "purpose": "marketing", "state": "given", "source": "web"}
    r = client.post(
        "/api/v6/consentEvents.json", json={**given, "channel": "email"}, headers=tenant.h("operator")
    )
    assert r.status_code == 201
    assert client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()).json()["result"][
        "blocked"
    ] == ("no_consent")
    r = client.post(
        "/api/v6/consentEvents.json", json={**given, "channel": "call"}, headers=tenant.h("operator")
    )
    assert r.status_code == 201
    r = client.put(
        f"/api/v6/campaignsRecords/{record}.json", json={"action": 1}, headers=tenant.h("operator")
    )
    assert r.status_code == 200, r.text
    assert data(r)["blocked"] is None and data(r)["action"] == 1
    # A withdrawal takes the ready record out of dialling at once; a dialer filtering on ready
    # records no longer sees it.
    r = client.post(f"/api/v6/contacts/{contact}/withdrawConsent.json", json={}, headers=tenant.h("operator"))
    assert r.status_code == 201
    found = data(client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()))
    assert found["action"] == 0 and found["blocked"] == "no_consent"
    ready = client.get(
        "/api/v6/campaignsRecords.json",
        params={"filter[field]": "action", "filter[value]": "1"},
        headers=tenant.h("integration"),
    )
    assert record not in [x["name"] for x in data(ready)["data"]]
    # A number without a contact: its own consent field decides.
    _field(client, tenant, "marketing", "consent", object_type="records")
    r = _record(
        client, tenant, record_type=campaign, number="602 111 222", customFields={"marketing": ["yes"]}
    )
    assert r.status_code == 201 and data(r)["blocked"] is None, r.text
    lone = data(r)["name"]
    r = client.put(
        f"/api/v6/campaignsRecords/{lone}.json",
        json={"customFields": {"marketing": ["no"]}},
        headers=tenant.h("operator"),
    )
    assert r.status_code == 200 and data(r)["blocked"] == "no_consent" and data(r)["action"] == 0, r.text
    # A campaign that asks no consent dials as before.
    r = _record(client, tenant, record_type=_campaign(client, tenant, None), contact=contact, number=NUMBER)
    assert r.status_code == 201 and data(r)["blocked"] is None


def test_the_suppression_list_keeps_hashes_and_refuses(
    client: TestClient, tenant: TenantFixture, app: Any
) -> None:
    campaign = _campaign(client, tenant, None)
    r = client.post("/api/v6/blacklistNumbers.json", json={"number": NUMBER}, headers=tenant.h("operator"))
    assert r.status_code == 201, r.text
    entry = data(r)
    assert entry["kind"] == "phone" and not any(n in r.text for n in NEEDLES)
    # The same number written otherwise is the same entry.
    r = client.post("/api/v6/blacklistNumbers.json", json={"number": "+420601234567"}, headers=tenant.h())
    assert data(r)["name"] == entry["name"]
    r = _record(client, tenant, record_type=campaign, number="00420 601 234 567")
    assert r.status_code == 409 and "suppressed" in r.text and not any(n in r.text for n in NEEDLES)
    # A number is never in a URL: the list holds no numbers to filter by.
    r = client.get("/api/v6/blacklistNumbers.json", headers=tenant.h("operator"))
    assert data(r)["total"] == 1 and not any(n in r.text for n in NEEDLES)
    for bad in ({}, {"number": "x"}, {"number": NUMBER, "email": "a@example.cz"}, {"email": "nope"}):
        r = client.post("/api/v6/blacklistNumbers.json", json=bad, headers=tenant.h())
        assert r.status_code == 400, bad
    # A contact whose phone field is changed to the number: her ready record leaves dialling at once.
    _field(client, tenant, "phone", "phone")
    contact = _contact(client, tenant, customFields={"phone": ["603 000 000"]})
    r = _record(client, tenant, record_type=campaign, contact=contact, number="603 000 000")
    assert r.status_code == 201 and data(r)["action"] == 1, r.text
    record = data(r)["name"]
    r = client.put(
        f"/api/v6/contacts/{contact}.json",
        json={"customFields": {"phone": [NUMBER]}},
        headers=tenant.h("operator"),
    )
    assert r.status_code == 200, r.text
    found = data(client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()))
    assert found["blocked"] == "suppressed" and found["action"] == 0
    # Off the list (an admin's decision), the number can be dialled again.
    assert (
        client.delete(
            f"/api/v6/blacklistNumbers/{entry['name']}.json", headers=tenant.h("operator")
        ).status_code
        == 403
    )
    assert client.delete(
        f"/api/v6/blacklistNumbers/{entry['name']}.json", headers=tenant.h()
    ).status_code in (200, 204)
    assert _record(client, tenant, record_type=campaign, number=NUMBER).status_code == 201
    with app.state.session_factory() as s:
        details = [
            str(e.details) for e in s.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant.id))
        ]
    assert not any(n in d for d in details for n in NEEDLES)


@pytest.fixture
def own_db(backend: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient, Any]]:
    """An app on a database of its own (the byte search must see only this test's files), with
    the in-process job worker."""
    settings = _settings(
        migrated_url(backend, tmp_path, "_consent"), tmp_path / "data", erasure_compact_delay_seconds=0
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client, settings
    app.state.engine.dispose()


def test_a_suppressed_erased_person_is_refused_without_her_number_anywhere(
    own_db: tuple[Any, TestClient, Any], backend: str
) -> None:
    app, client, settings = own_db
    t = make_tenant(app, "acme")
    _field(client, t, "phone", "phone")
    contact = _contact(client, t, customFields={"phone": [NUMBER]})
    campaign = _campaign(client, t, None)
    r = _record(client, t, record_type=campaign, contact=contact, number=NUMBER)
    assert r.status_code == 201, r.text
    # Her ledger: a consent given and one withdrawn, each with an evidence reference.
    for state, purpose in (("given", "newsletter"), ("withdrawn", "marketing")):
        body = {"contact": contact, "purpose": purpose, "state": state, "evidence": f"EVIDENCE-{state}"}
        assert (
            client.post("/api/v6/consentEvents.json", json=body, headers=t.h("operator")).status_code == 201
        )
    # The preview says what the ledger loses, by key.
    shown = data(client.get(f"/api/v6/contacts/{contact}/erasure.json", headers=t.h("dpo")))
    assert sorted((e["state"], e["action"]) for e in shown["consentEvents"]) == [
        ("given", "delete_row"),
        ("withdrawn", "keep"),
    ]
    assert "EVIDENCE" not in str(shown)
    r = client.post(f"/api/v6/contacts/{contact}/erasure.json", json={"suppress": True}, headers=t.h("dpo"))
    assert r.status_code == 202, r.text
    job = r.json()["result"]["name"]
    assert wait_done(client, job, t.h("dpo"))["state"] == "done"
    # The certificate counts what the ledger lost.
    certificate = data(client.get(f"/api/v6/contacts/{contact}/erasure.json", headers=t.h("dpo")))
    signed = certificate["result"]["certificate"]
    assert signed["rowsDeleted"]["consent_events"] == 1
    assert signed["fieldsCleared"]["consent_events.evidence"] == 1
    r = client.get("/api/v6/blacklistNumbers.json", headers=t.h())
    assert [(e["kind"], e["reason"]) for e in data(r)["data"]] == [("phone", "erasure")]
    # The consent she gave went with her; the withdrawal stays as proof, without its evidence,
    # naming her only by the erased contact's key.
    with app.state.session_factory() as s:
        kept = [
            (e.purpose, e.state, e.evidence, e.anonymized, e.contact) for e in s.scalars(select(ConsentEvent))
        ]
    assert kept == [("marketing", "withdrawn", None, True, contact)]
    # The erased person's number is refused, however it is written.
    for written in (NUMBER, "+420 601 234 567"):
        r = _record(client, t, record_type=campaign, number=written)
        assert r.status_code == 409 and "suppressed" in r.text, r.text
    if backend == "sqlite":
        # secure_delete and the erasure's WAL truncation: nothing of the number in the files.
        with app.state.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        files = _database_files(app, backend, settings)
        assert files
        needles = (*NEEDLES, "EVIDENCE-given", "EVIDENCE-withdrawn")
        hits = {n: [p.name for p in files if n.encode() in p.read_bytes()] for n in needles}
        assert not any(hits.values()), hits


def test_restriction_and_objection(client: TestClient, tenant: TenantFixture, app: Any) -> None:
    _field(client, tenant, "phone", "phone")
    contact = _contact(client, tenant, customFields={"phone": [NUMBER]})
    campaign = _campaign(client, tenant, None)
    record = data(_record(client, tenant, record_type=campaign, contact=contact, number=NUMBER))["name"]
    r = client.post(f"/api/v6/contacts/{contact}/restrict.json", json={}, headers=tenant.h("operator"))
    assert r.status_code == 403
    r = client.post(f"/api/v6/contacts/{contact}/restrict.json", json={}, headers=tenant.h("dpo"))
    assert r.status_code == 200 and data(r)["blocked_records"] == 1, r.text
    shown = data(client.get(f"/api/v6/contacts/{contact}.json", headers=tenant.h("operator")))
    assert shown["restricted"] is True
    # Her records stay, processed no further: an operator's edit is refused, the DPO's passes.
    r = client.put(
        f"/api/v6/contacts/{contact}.json", json={"description": "x"}, headers=tenant.h("operator")
    )
    assert r.status_code == 409 and "restricted" in r.text
    r = client.put(
        f"/api/v6/campaignsRecords/{record}.json", json={"user": None}, headers=tenant.h("operator")
    )
    assert r.status_code == 409
    r = client.put(
        f"/api/v6/contacts/{contact}.json", json={"description": "opraveno"}, headers=tenant.h("dpo")
    )
    assert r.status_code == 200, r.text
    # A round trip of what was read (restricted included) is taken; the flag itself is not written.
    r = client.put(f"/api/v6/contacts/{contact}.json", json={"restricted": False}, headers=tenant.h("dpo"))
    assert r.status_code == 400
    found = data(client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()))
    assert found["blocked"] == "restricted" and found["action"] == 0
    # Kept means kept: a supervisor's plain delete is refused too.
    r = client.delete(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h("supervisor"))
    assert r.status_code == 409 and "restricted" in r.text
    assert _record(client, tenant, record_type=campaign, contact=contact).status_code == 409
    r = client.post(f"/api/v6/contacts/{contact}/unrestrict.json", json={}, headers=tenant.h("dpo"))
    assert r.status_code == 200 and data(r)["blocked_records"] == 0
    r = client.put(
        f"/api/v6/contacts/{contact}.json", json={"description": "y"}, headers=tenant.h("operator")
    )
    assert r.status_code == 200
    # An objection: her number on the list and every consent withdrawn.
    r = client.post(f"/api/v6/contacts/{contact}/object.json", json={}, headers=tenant.h("dpo"))
    assert r.status_code == 200 and data(r)["suppressed"] == 1, r.text
    assert [(e["purpose"], e["state"], e["source"]) for e in _history(client, tenant, contact)] == [
        ("*", "withdrawn", "objection")
    ]  # (one event: the history is read before the withdrawal below)
    r = _record(client, tenant, record_type=campaign, contact=contact, number="602 000 111")
    assert r.status_code == 409 and "objection" in r.text
    # A later withdrawal does not undo the objection for campaigns that ask no consent.
    r = client.post(f"/api/v6/contacts/{contact}/withdrawConsent.json", json={}, headers=tenant.h("operator"))
    assert r.status_code == 201
    r = _record(client, tenant, record_type=campaign, contact=contact, number="602 000 111")
    assert r.status_code == 409 and "objection" in r.text
    # Her number without her contact is still her: the objection applies.
    r = _record(client, tenant, record_type=campaign, number=NUMBER)
    assert r.status_code == 409 and "objection" in r.text
    found = data(client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()))
    assert found["blocked"] == "objection" and found["action"] == 0
    with app.state.session_factory() as s:
        entries = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.tenant_id == tenant.id, AuditEntry.action.like("privacy.subject.%"))
                .order_by(AuditEntry.name)
            )
        )
    assert [e.action for e in entries] == [
        "privacy.subject.restrict",
        "privacy.subject.unrestrict",
        "privacy.subject.object",
    ]
    assert not any(n in str(e.details) for e in entries for n in NEEDLES)


def test_an_erasure_request_can_suppress_the_person(client: TestClient, tenant: TenantFixture) -> None:
    dpo = tenant.h("dpo")
    _field(client, tenant, "phone", "phone")
    contact = _contact(client, tenant, customFields={"phone": [NUMBER]})
    assert (
        client.put("/api/v6/tenant.json", json={"four_eyes_erasure": False}, headers=dpo).status_code == 200
    )
    body = {"kind": "erasure", "received_via": "email", "contact": contact}
    made = data(client.post("/api/v6/subjectRequests.json", json=body, headers=dpo))["name"]
    url = f"/api/v6/subjectRequests/{made}"
    assert client.post(f"{url}/verify.json", json={"method": "known_contact"}, headers=dpo).status_code == 200
    assert client.post(f"{url}/erase.json", json={"suppress": "maybe"}, headers=dpo).status_code == 400
    assert client.post(f"{url}/erase.json", json={"suppress": True}, headers=dpo).status_code == 200
    # On the list from the request's commit on, before the job has erased anything.
    r = _record(client, tenant, record_type=_campaign(client, tenant, None), number=NUMBER)
    assert r.status_code == 409 and "suppressed" in r.text


def test_a_record_without_a_contact_follows_the_contacts_with_its_number(
    client: TestClient, tenant: TenantFixture
) -> None:
    _field(client, tenant, "phone", "phone")
    contact = _contact(client, tenant, customFields={"phone": [NUMBER]})
    campaign = _campaign(client, tenant)
    assert _record(client, tenant, record_type=campaign, number=NUMBER).status_code == 409
    given = {"contact": contact, "purpose": "marketing", "channel": "call", "state": "given"}
    assert (
        client.post("/api/v6/consentEvents.json", json=given, headers=tenant.h("operator")).status_code == 201
    )
    r = _record(client, tenant, record_type=campaign, number="+420601234567")
    assert r.status_code == 201 and data(r)["blocked"] is None, r.text
    record = data(r)["name"]
    # Her withdrawal reaches the record that calls her number.
    r = client.post(f"/api/v6/contacts/{contact}/withdrawConsent.json", json={}, headers=tenant.h("operator"))
    assert r.status_code == 201
    found = data(client.get(f"/api/v6/campaignsRecords/{record}.json", headers=tenant.h()))
    assert found["blocked"] == "no_consent" and found["action"] == 0
    # Another number is another person: no consent of hers counts for it.
    assert _record(client, tenant, record_type=campaign, number="603 999 888").status_code == 409
