"""The console's Delete buttons and the administrator's pages over HTTP (the browser tests in
test_console.py walk the same pages in Chromium): each goes through the API's own delete, update
and list, so a legal hold, the contract's ceiling and the row scoping answer as the API does."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from hovor.privacy.models import Tombstone


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def _signed_in(client: Any, user: str) -> str:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": _csrf(page.text), "username": user, "password": "correct horse 1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return _csrf(client.get("/").text)


def _post(client: Any, path: str, h: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/api/v6/{path}.json", json=body, headers=h)
    assert r.status_code == 201, r.text
    return data(r)


def _ticket_with_attachment(client: Any, h: dict[str, str], title: str) -> int:
    client.post("/api/v6/ticketsCategories.json", json={"name": "dotazy", "title": "Dotazy"}, headers=h)
    ticket = int(_post(client, "tickets", h, {"title": title, "category": "dotazy"})["name"])
    _post(client, "activities", h, {"description": "Zavolá zítra.", "ticket": ticket})
    r = client.post(
        f"/api/v6/tickets/{ticket}/attachments.json",
        files={"file": ("sken.txt", b"obsah", "text/plain")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    return ticket


def _attachments(client: Any, h: dict[str, str], ticket: int) -> int:
    params = {"filter[0][field]": "ticket", "filter[0][operator]": "eq", "filter[0][value]": str(ticket)}
    return int(data(client.get("/api/v6/attachments.json", params=params, headers=h))["total"])


def test_a_ticket_under_a_legal_hold_is_kept_with_the_apis_reason(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    held = _ticket_with_attachment(client, h, "Spor o fakturu")
    free = _ticket_with_attachment(client, h, "Dotaz na tarif")
    hold = _post(
        client,
        "legalHolds",
        tenant.h("dpo"),
        {"object_type": "tickets", "object_key": str(held), "reason": "Spor"},
    )
    assert _attachments(client, h, free) == 1
    csrf = _signed_in(client, "acme-supervisor")
    page = client.get(f"/tickets/{held}")
    assert f'href="/tickets/{held}/delete"' in page.text
    confirm = client.get(f"/tickets/{held}/delete")
    assert confirm.status_code == 200
    # The confirmation names what goes with the ticket: its comment and its attachment.
    assert "1 comment" in confirm.text and "sken.txt" in confirm.text

    # Not confirmed: nothing happens.
    r = client.post(f"/tickets/{free}/delete", data={"csrf": csrf})
    assert r.status_code == 400
    assert client.get(f"/api/v6/tickets/{free}.json", headers=h).status_code == 200

    r = client.post(f"/tickets/{held}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 409
    assert hold["name"] in r.text and "Release the hold first" in r.text
    assert client.get(f"/api/v6/tickets/{held}.json", headers=h).status_code == 200
    with app.state.read_session_factory() as s:
        blocked = s.query(AuditEntry).filter(AuditEntry.action == "privacy.hold.blocked").all()
        assert [e.details["hold"] for e in blocked] == [hold["name"]]

    r = client.post(f"/tickets/{free}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tickets?deleted=1"
    assert client.get(f"/api/v6/tickets/{free}.json", headers=h).status_code == 404
    assert _attachments(client, h, free) == 0 and _attachments(client, h, held) == 1
    with app.state.read_session_factory() as s:
        stones = s.query(Tombstone).filter(Tombstone.record_type == "tickets").all()
        assert [t.record_key for t in stones] == [str(free)]
        deleted = s.query(AuditEntry).filter(AuditEntry.action == "helpdesk.ticket.delete").all()
        assert [e.object_key for e in deleted] == [str(free)]


def test_a_contact_and_a_campaign_record_are_deleted_after_confirmation(
    client: Any, tenant: TenantFixture
) -> None:
    h = tenant.h("admin")
    contact = _post(client, "contacts", h, {"lastname": "Dvořáková", "database": "main"})["name"]
    kind = _post(client, "campaignsTypes", h, {"title": "Nabídka"})["name"]
    record = _post(client, "campaignsRecords", h, {"record_type": kind, "contact": contact})["name"]
    csrf = _signed_in(client, "acme-supervisor")
    card = client.get(f"/contacts/{contact}").text
    assert f'href="/contacts/{contact}/delete"' in card and f'href="/records/{record}/delete"' in card

    r = client.post(
        f"/records/{record}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{contact}?deleted=1"
    assert client.get(f"/api/v6/campaignsRecords/{record}.json", headers=h).status_code == 404
    r = client.post(
        f"/contacts/{contact}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/contacts?deleted=1"
    assert client.get(f"/api/v6/contacts/{contact}.json", headers=h).status_code == 404
    # Gone: the page of a deleted record is the 404 page.
    assert client.get(f"/contacts/{contact}/delete").status_code == 404


def test_an_operator_sees_no_delete_button_and_cannot_delete(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h("admin")
    contact = _post(client, "contacts", h, {"lastname": "Veselá", "database": "main"})["name"]
    csrf = _signed_in(client, "acme-operator")
    assert "/delete" not in client.get(f"/contacts/{contact}").text
    r = client.post(f"/contacts/{contact}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 403
    assert client.get(f"/api/v6/contacts/{contact}.json", headers=h).status_code == 200
