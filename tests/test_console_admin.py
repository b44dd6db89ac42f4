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
    client.headers["Accept-Language"] = "en"
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


def _session_of(app: Any, client: Any, user: str) -> str:
    """A web session of ``user`` (whose role asks for a second factor: one is set up), its CSRF token."""
    import datetime as dt

    import pyotp

    from hovor.auth import totp
    from hovor.auth.models import User
    from hovor.auth.service import issue_token
    from hovor.core.db import unit_of_work

    with unit_of_work(app.state.session_factory) as s:
        account = s.get(User, ("acme", user))
        sealer = totp.Sealer(app.state.settings.secret_key)
        account.totp_secret = sealer.seal(pyotp.random_base32(), totp.owner_of("acme", user))
        raw, _ = issue_token(s, account, "session", dt.timedelta(hours=1))
    client.cookies.set("c_user", raw)
    client.headers["Accept-Language"] = "en"
    return _csrf(client.get("/").text)


def test_a_queues_retention_above_the_contracts_ceiling_is_refused_with_the_apis_message(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _post(client, "queues", h, {"name": "100", "title": "Podpora", "type": "in"})
    csrf = _session_of(app, client, "acme-admin")
    listed = client.get("/admin/queues")
    assert listed.status_code == 200 and 'href="/admin/queues/100"' in listed.text
    page = client.get("/admin/queues/100")
    assert "At most 365 days" in page.text

    r = client.post("/admin/queues/100", data={"csrf": csrf, "recordings_retention": "400"})
    assert r.status_code == 400
    assert "At most 365 days: the contract&#39;s ceiling for recordings." in r.text
    options = data(client.get("/api/v6/queues/100.json", headers=h))["options"]
    assert options.get("recordings_retention") in (None, 0)
    r = client.post("/admin/queues/100", data={"csrf": csrf, "recordings_retention": "x"})
    assert r.status_code == 400 and "Not saved: Must be a whole number." in r.text

    r = client.post(
        "/admin/queues/100", data={"csrf": csrf, "recordings_retention": "90"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/queues?saved=1"
    assert data(client.get("/api/v6/queues/100.json", headers=h))["options"]["recordings_retention"] == 90
    with app.state.read_session_factory() as s:
        entry = s.query(AuditEntry).filter(AuditEntry.action == "activities.queue.update").one()
        assert entry.details == {"fields": ["options"]} and entry.actor == "acme-admin"


def test_the_audit_log_filters_by_post_and_shows_the_chains_verification(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _post(client, "contacts", h, {"lastname": "Dvořáková", "database": "main"})
    _post(client, "queues", h, {"name": "200", "title": "Prodej", "type": "in"})
    csrf = _session_of(app, client, "acme-admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "crm.contact.create" in page.text
    r = client.post("/admin/audit", data={"csrf": csrf, "action": "activities.queue"})
    assert "activities.queue.create" in r.text and "crm.contact.create" not in r.text
    r = client.post("/admin/audit", data={"csrf": csrf, "actor": "acme-nobody"})
    assert "No entries match." in r.text
    r = client.post("/admin/audit", data={"csrf": csrf, "from": "2000-01-01", "to": "2000-01-02"})
    assert "No entries match." in r.text
    # Personal data never in the log: the contact's name is not on the page.
    assert "Dvořáková" not in page.text

    verified = client.get("/admin/audit/verify", headers={"HX-Request": "true"})
    assert 'data-ok="yes"' in verified.text
    # The same report as the API's auditLog/verify.json, which a broken link turns to "no".
    api = data(client.get("/api/v6/auditLog/verify.json", headers=h))
    assert api["ok"] is True and f"<dd>{api['entries']}</dd>" in verified.text
    from sqlalchemy import update

    from hovor.core.db import unit_of_work

    with unit_of_work(app.state.session_factory) as s:
        s.execute(update(AuditEntry).where(AuditEntry.action == "crm.contact.create").values(actor="forged"))
    assert 'data-ok="no"' in client.get("/admin/audit/verify").text
    assert data(client.get("/api/v6/auditLog/verify.json", headers=h))["ok"] is False

    # The last day of the filter is whole: an entry of its last second, and of its fraction, is in.
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(data(client.get("/api/v6/whoim.json", headers=h))["timezone"])
    day = dt.date(2025, 3, 14)
    late = dt.datetime.combine(day, dt.time(23, 59, 59, 600000), zone).astimezone(dt.UTC)
    with unit_of_work(app.state.session_factory) as s:
        s.execute(update(AuditEntry).where(AuditEntry.action == "activities.queue.create").values(at=late))
    span = {"csrf": csrf, "from": day.isoformat(), "to": day.isoformat()}
    r = client.post("/admin/audit", data=span)
    assert "activities.queue.create" in r.text and "crm.contact.create" not in r.text
    r = client.post("/admin/audit", data={**span, "to": "2025-02-30"})  # no such day: no bound
    assert r.status_code == 200 and "crm.contact.create" in r.text


def test_an_operator_reaches_no_administrators_page(client: Any, tenant: TenantFixture) -> None:
    _post(client, "queues", tenant.h("admin"), {"name": "300", "title": "Servis", "type": "in"})
    csrf = _signed_in(client, "acme-operator")
    for path in ("/admin/queues/300", "/admin/audit"):
        r = client.get(path)
        assert r.status_code == 403 and "Not allowed" in r.text and "recordings_retention" not in r.text
    r = client.post("/admin/queues/300", data={"csrf": csrf, "recordings_retention": "30"})
    assert r.status_code == 403
    assert "Audit log" not in client.get("/contacts").text
