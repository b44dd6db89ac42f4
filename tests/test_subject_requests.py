"""The register of subject requests: deadlines by calendar month, verification, one extension,
four eyes on an erasure, the answer, and the overdue flag of the scheduler's round."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from conftest import TenantFixture, data
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token, system_caller
from hovor.auth.users import create_user
from hovor.core.db import unit_of_work
from hovor.privacy.requests import flag_overdue, month_after

PRAGUE = ZoneInfo("Europe/Prague")


def test_a_month_is_a_calendar_month_on_the_tenants_calendar() -> None:
    def at(*args: int) -> dt.datetime:
        return dt.datetime(*args, tzinfo=PRAGUE)

    assert month_after(at(2026, 1, 31, 0, 30), "Europe/Prague") == at(2026, 2, 28, 0, 30)
    assert month_after(at(2028, 1, 31, 9, 0), "Europe/Prague") == at(2028, 2, 29, 9, 0)  # leap year
    assert month_after(at(2026, 3, 15, 12, 0), "Europe/Prague", 2) == at(2026, 5, 15, 12, 0)
    # 00:30 in Prague is the previous day in UTC: the month is still counted in Prague.
    assert month_after(at(2026, 3, 31, 0, 30).astimezone(dt.UTC), "Europe/Prague") == at(2026, 4, 30, 0, 30)


def _second_dpo(app: Any, tenant: TenantFixture) -> dict[str, str]:
    with unit_of_work(app.state.session_factory) as session:
        caller = system_caller(session, tenant.id)
        login = f"{tenant.id}-dpo2"
        create_user(
            session,
            caller,
            UserCreate(name=login, title="Second DPO", role="dpo", password="correct horse 2"),
        )
        token, _ = issue_api_token(session, app.state.settings, tenant.id, login, None, 1)
    return {"X-AUTH-TOKEN": token}


def test_a_request_walked_end_to_end(client: Any, tenant: TenantFixture) -> None:
    dpo = tenant.h("dpo")
    received = (dt.datetime.now(PRAGUE) - dt.timedelta(days=3)).replace(microsecond=0)
    made = client.post(
        "/api/v6/subjectRequests.json",
        json={
            "kind": "access",
            "received": received.isoformat(),
            "received_via": "email",
            "phone": "603 123 456",
            "email": "Jana.Nova@Example.CZ",
            "answer_via": "email",
            "answer_to": "jana.nova@example.cz",
        },
        headers=dpo,
    )
    assert made.status_code == 201, made.text
    request = data(made)
    name = request["name"]
    assert request["identifiers"] == {"phone": "+420603123456", "email": "jana.nova@example.cz"}
    assert request["state"] == "received" and request["overdue"] is False
    due = month_after(received, "Europe/Prague").astimezone(PRAGUE).strftime("%Y-%m-%d %H:%M:%S")
    assert request["due"] == request["first_due"] == due
    url = f"/api/v6/subjectRequests/{name}"

    # Nothing is answered before the person's identity is checked.
    early = client.post(f"{url}/answer.json", json={"outcome": "Export sent"}, headers=dpo)
    assert early.status_code == 409
    verified = client.post(f"{url}/verify.json", json={"method": "signed_letter"}, headers=dpo)
    assert verified.status_code == 200 and data(verified)["state"] == "verified"
    assert data(verified)["verified_by"] == "acme-dpo"

    # One extension, with its reason, told within the first month.
    late_told = (dt.datetime.now(PRAGUE) + dt.timedelta(days=40)).isoformat()
    refused = client.post(
        f"{url}/extend.json", json={"months": 2, "reason": "Many records", "told": late_told}, headers=dpo
    )
    assert refused.status_code == 400 and "told" in refused.json()["error"]["form"]
    told = dt.datetime.now(PRAGUE).replace(microsecond=0).isoformat()
    extended = client.post(
        f"{url}/extend.json", json={"months": 2, "reason": "Many records", "told": told}, headers=dpo
    )
    assert extended.status_code == 200, extended.text
    first_due = dt.datetime.strptime(request["first_due"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PRAGUE)
    assert data(extended)["due"] == month_after(first_due, "Europe/Prague", 2).astimezone(PRAGUE).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    again = client.post(f"{url}/extend.json", json={"months": 1, "reason": "More", "told": told}, headers=dpo)
    assert again.status_code == 409
    three = client.post(f"{url}/extend.json", json={"months": 3, "reason": "x", "told": told}, headers=dpo)
    assert three.status_code in (400, 409)

    # What was done is linked: a record the DPO may see, by its key; another is refused whole.
    contact = data(
        client.post(
            "/api/v6/contacts.json", json={"lastname": "Nová", "database": "main"}, headers=tenant.h()
        )
    )
    linked = client.put(f"{url}.json", json={"records": {"contacts": [contact["name"]]}}, headers=dpo)
    assert linked.status_code == 200 and data(linked)["records"] == {"contacts": [contact["name"]]}
    for wrong in ({"contacts": ["nobody"]}, {"users": ["acme-admin"]}):
        refused = client.put(f"{url}.json", json={"records": wrong}, headers=dpo)
        assert refused.status_code == 400, refused.text
    assert data(client.get(f"{url}.json", headers=dpo))["records"] == {"contacts": [contact["name"]]}

    answered = client.post(f"{url}/answer.json", json={"outcome": "Export sent by e-mail"}, headers=dpo)
    assert answered.status_code == 200 and data(answered)["state"] == "answered"
    assert data(answered)["closed"] is not None and data(answered)["overdue"] is False
    assert client.post(f"{url}/refuse.json", json={"outcome": "x"}, headers=dpo).status_code == 409

    # The register is the DPO's: an operator does not see it; the audit log has the steps, not her.
    assert client.get("/api/v6/subjectRequests.json", headers=tenant.h("operator")).status_code == 403
    entries = data(client.get("/api/v6/auditLog.json", params={"take": 100}, headers=dpo))["data"]
    steps = [e["action"] for e in entries if e["object_key"] == name]
    assert {
        "privacy.request.create",
        "privacy.request.verify",
        "privacy.request.extend",
        "privacy.request.answer",
    } <= set(steps)
    assert not any("603123456" in str(e) or "jana.nova" in str(e).lower() for e in entries)


def test_four_eyes_on_an_erasure_request(client: Any, app: Any, tenant: TenantFixture) -> None:
    h, dpo = tenant.h(), tenant.h("dpo")
    contact = data(
        client.post(
            "/api/v6/contacts.json",
            json={"firstname": "Jana", "lastname": "Nová", "database": "main"},
            headers=h,
        )
    )
    made = data(
        client.post(
            "/api/v6/subjectRequests.json",
            json={
                "kind": "erasure",
                "received_via": "letter",
                "contact": contact["name"],
                "email": "Jana.Nova@example.cz",
                "answer_to": "jana.nova@example.cz",
            },
            headers=dpo,
        )
    )
    url = f"/api/v6/subjectRequests/{made['name']}"
    assert client.post(f"{url}/erase.json", headers=dpo).status_code == 409  # not verified
    client.post(f"{url}/verify.json", json={"method": "id_document"}, headers=dpo)
    not_approved = client.post(f"{url}/erase.json", headers=dpo)
    assert not_approved.status_code == 409 and "second person" in not_approved.json()["error"][0]
    own = client.post(f"{url}/approve.json", headers=dpo)
    assert own.status_code == 403  # the same DPO cannot approve their own request
    second = _second_dpo(app, tenant)
    approved = client.post(f"{url}/approve.json", headers=second)
    assert approved.status_code == 200 and data(approved)["approved_by"] == "acme-dpo2"
    started = client.post(f"{url}/erase.json", headers=dpo)
    assert started.status_code == 200, started.text
    job = data(started)["job"]
    assert job and data(started)["state"] == "in_progress"
    assert data(client.get(f"/api/v6/jobs/{job}.json", headers=dpo))["kind"] == "erasure"
    assert client.post(f"{url}/erase.json", headers=dpo).status_code == 409  # once
    # Answered, the erasure keeps its proof but not who asked: the e-mail is a keyed pseudonym.
    answered = client.post(
        f"{url}/answer.json", json={"outcome": "Vymazáno, certifikát odeslán"}, headers=dpo
    )
    assert answered.status_code == 200, answered.text
    kept = data(answered)
    assert kept["state"] == "answered" and kept["job"] == job and kept["approved_by"] == "acme-dpo2"
    assert kept["identifiers"]["email"] != "jana.nova@example.cz" and kept["answer_to"] is None

    # The tenant may switch four eyes off: a verified erasure then starts without approval.
    assert (
        client.put("/api/v6/tenant.json", json={"four_eyes_erasure": False}, headers=dpo).status_code == 200
    )
    other = data(
        client.post("/api/v6/contacts.json", json={"lastname": "Dvořák", "database": "main"}, headers=h)
    )
    solo = data(
        client.post(
            "/api/v6/subjectRequests.json",
            json={"kind": "erasure", "received_via": "email", "contact": other["name"]},
            headers=dpo,
        )
    )
    client.post(
        f"/api/v6/subjectRequests/{solo['name']}/verify.json", json={"method": "known_contact"}, headers=dpo
    )
    assert client.post(f"/api/v6/subjectRequests/{solo['name']}/erase.json", headers=dpo).status_code == 200


def test_the_scheduler_flags_overdue_requests(client: Any, app: Any, tenant: TenantFixture) -> None:
    dpo = tenant.h("dpo")
    old = (dt.datetime.now(PRAGUE) - dt.timedelta(days=20)).replace(microsecond=0).isoformat()
    made = data(
        client.post(
            "/api/v6/subjectRequests.json",
            json={"kind": "access", "received": old, "received_via": "phone", "name": "Jana Nová"},
            headers=dpo,
        )
    )
    fresh = data(
        client.post(
            "/api/v6/subjectRequests.json",
            json={"kind": "objection", "received_via": "web", "name": "Petr Malý"},
            headers=dpo,
        )
    )
    with unit_of_work(app.state.session_factory) as session:
        assert flag_overdue(session, dt.datetime.now(dt.UTC)) == []  # 20 days: still in time
    fake_now = dt.datetime.now(dt.UTC) + dt.timedelta(days=15)  # 35 days after the first one came
    with unit_of_work(app.state.session_factory) as session:
        flagged = flag_overdue(session, fake_now)
    assert flagged == [("acme", made["name"])]
    with unit_of_work(app.state.session_factory) as session:
        assert flag_overdue(session, fake_now) == []  # once
    overdue = client.get(
        "/api/v6/subjectRequests.json",
        params={"filter[0][field]": "overdue", "filter[0][operator]": "eq", "filter[0][value]": "true"},
        headers=dpo,
    )
    assert [r["name"] for r in data(overdue)["data"]] == [made["name"]]
    # Due within the week, by a filter on the deadline; the register lists the nearest deadline first.
    week = (dt.datetime.now(PRAGUE) + dt.timedelta(days=12)).strftime("%Y-%m-%d %H:%M:%S")
    soon = client.get(
        "/api/v6/subjectRequests.json",
        params={"filter[0][field]": "due", "filter[0][operator]": "lte", "filter[0][value]": week},
        headers=dpo,
    )
    assert [r["name"] for r in data(soon)["data"]] == [made["name"]]
    listed = data(client.get("/api/v6/subjectRequests.json", headers=dpo))["data"]
    assert [r["name"] for r in listed] == [made["name"], fresh["name"]]
    entries = data(client.get("/api/v6/auditLog.json", params={"take": 50}, headers=dpo))["data"]
    assert any(e["action"] == "privacy.request.overdue" and e["object_key"] == made["name"] for e in entries)


def test_bad_requests_change_nothing(client: Any, tenant: TenantFixture) -> None:
    dpo = tenant.h("dpo")
    cases = {
        "nobody": ({"kind": "access", "received_via": "email"}, "contact"),
        "bad phone": ({"kind": "access", "received_via": "email", "phone": "abc"}, "phone"),
        "bad kind": ({"kind": "everything", "received_via": "email", "name": "Jana Nová"}, "kind"),
        "future": (
            {"kind": "access", "received_via": "email", "name": "J N", "received": "2999-01-01 10:00:00"},
            "received",
        ),
        "unknown contact": ({"kind": "erasure", "received_via": "email", "contact": "nope"}, "contact"),
    }
    for why, (body, field) in cases.items():
        r = client.post("/api/v6/subjectRequests.json", json=body, headers=dpo)
        assert r.status_code == 400 and field in r.json()["error"]["form"], (why, r.text)
    assert data(client.get("/api/v6/subjectRequests.json", headers=dpo))["total"] == 0
