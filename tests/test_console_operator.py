"""The operator's forms over HTTP: a contact created and edited with its database's form (custom
fields, consent fields) through the API's own create and update, whose messages show next to the
fields; tickets created, commented, their attachments uploaded and downloaded under the API's rights."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _signed_in


def _field(client: Any, h: dict[str, str], body: dict[str, Any]) -> None:
    r = client.post("/api/v6/formFields.json", json={"object_type": "contacts", **body}, headers=h)
    assert r.status_code == 201, r.text


def _form(client: Any, h: dict[str, str]) -> None:
    _field(client, h, {"name": "phone", "title": "Telefon", "type": "phone", "required": True})
    _field(client, h, {"name": "tier", "title": "Tarif", "type": "select", "options": ["Basic", "Plus"]})
    _field(client, h, {"name": "news", "title": "Newsletter", "type": "consent", "purpose": "marketing"})
    _field(client, h, {"name": "hid", "title": "Skryté", "type": "text", "hidden": True})


def _contact(client: Any, h: dict[str, str], name: str) -> dict[str, Any]:
    return dict(data(client.get(f"/api/v6/contacts/{name}.json", headers=h)))


def test_an_operator_creates_a_contact_with_the_databases_form(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _form(client, h)
    csrf = _signed_in(client, "acme-operator")
    assert 'href="/new/contact"' in client.get("/contacts").text
    page = client.get("/new/contact")
    # The only database is taken; the form's fields are there, the hidden one is not.
    assert page.status_code == 200
    assert 'id="cf-phone"' in page.text and 'id="cf-tier"' in page.text and 'id="cf-news"' in page.text
    assert "cf-hid" not in page.text and 'value="main"' in page.text

    # The API's rules answer, next to the field: the surname, the required phone, a phone's form.
    r = client.post(
        "/new/contact", data={"csrf": csrf, "database": "main", "firstname": "Eva", "cf.tier": "Plus"}
    )
    assert r.status_code == 400 and 'id="err-lastname"' in r.text
    assert 'value="Eva"' in r.text  # what was typed stays in the form
    r = client.post("/new/contact", data={"csrf": csrf, "database": "main", "lastname": "Malá"})
    assert r.status_code == 400 and 'id="err-customFields-phone"' in r.text
    assert "This field is required." in r.text and 'aria-invalid="true"' in r.text
    r = client.post(
        "/new/contact",
        data={"csrf": csrf, "database": "main", "lastname": "Malá", "cf.phone": "hned", "cf.tier": "Plus"},
    )
    assert r.status_code == 400 and 'id="err-customFields-phone"' in r.text
    total = data(client.get("/api/v6/contacts.json", headers=h))["total"]
    assert total == 0

    r = client.post(
        "/new/contact",
        data={
            "csrf": csrf,
            "database": "main",
            "firstname": "Eva",
            "lastname": "Malá",
            "cf.phone": "603 111 222",
            "cf.tier": "Plus",
            "cf.news": "yes",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    name = r.headers["location"].split("/")[2].split("?")[0]
    made = _contact(client, h, name)
    assert made["title"] == "Eva Malá" and made["customFields"]["phone"] == ["+420603111222"]
    assert made["customFields"]["news"] == ["yes"]
    assert made["customFieldsConsent"]["news"]["set_by"] == "acme-operator"
    # The consent ledger has the event, as after the API's create.
    consents = data(client.get(f"/api/v6/contacts/{name}/consents.json", headers=h))["consents"]
    assert any(c["purpose"] == "marketing" and c["state"] == "given" for c in consents)
    with app.state.session_factory() as s:
        entry = s.query(AuditEntry).filter_by(action="crm.contact.create", object_key=name).one()
        assert entry.actor == "acme-operator"


def test_an_operator_edits_a_contact_and_a_refusal_changes_nothing(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _form(client, h)
    body = {"lastname": "Malá", "database": "main", "customFields": {"phone": ["603111222"], "news": "yes"}}
    name = data(client.post("/api/v6/contacts.json", json=body, headers=h))["name"]
    csrf = _signed_in(client, "acme-operator")
    card = client.get(f"/contacts/{name}")
    assert f'href="/contacts/{name}/edit"' in card.text
    page = client.get(f"/contacts/{name}/edit")
    assert page.status_code == 200 and 'value="Malá"' in page.text and "+420603111222" in page.text
    assert "Last set by" in page.text

    form = {"csrf": csrf, "lastname": "", "cf.phone": "603111222", "cf.news": "no"}
    r = client.post(f"/contacts/{name}/edit", data=form)
    assert r.status_code == 400 and 'id="err-lastname"' in r.text
    assert _contact(client, h, name)["customFields"]["news"] == ["yes"]

    form = {"csrf": csrf, "lastname": "Malá-Nová", "firstname": "Eva", "cf.phone": "603111222"}
    form["cf.news"] = "no"
    r = client.post(f"/contacts/{name}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{name}?saved=1"
    after = _contact(client, h, name)
    assert after["title"] == "Eva Malá-Nová" and after["customFields"]["news"] == ["no"]
    with app.state.session_factory() as s:
        entry = s.query(AuditEntry).filter_by(action="crm.contact.update", object_key=name).one()
        assert set(entry.details["fields"]) >= {"lastname", "customFields.news"}
        assert "customFields.phone" not in entry.details["fields"]

    # A restricted contact (Art. 18) is refused with the API's own reason.
    r = client.post(f"/api/v6/contacts/{name}/restrict.json", headers=tenant.h("dpo"))
    assert r.status_code in (200, 201), r.text
    form["firstname"] = "Evička"
    r = client.post(f"/contacts/{name}/edit", data=form)
    assert r.status_code in (403, 409) and 'id="refusal"' in r.text
    assert _contact(client, h, name)["firstname"] == "Eva"


def test_the_auditor_gets_the_403_page_for_the_contact_forms(client: Any, tenant: TenantFixture) -> None:
    csrf = _signed_in(client, "acme-auditor")
    assert client.get("/new/contact").status_code == 403
    r = client.post("/new/contact", data={"csrf": csrf, "database": "main", "lastname": "X"})
    assert r.status_code == 403 and "cf-" not in r.text


def _new_contact(client: Any, h: dict[str, str]) -> dict[str, Any]:
    made = client.post("/api/v6/contacts.json", json={"lastname": "Malá", "database": "main"}, headers=h)
    return dict(data(made))


def _category(client: Any, h: dict[str, str]) -> None:
    r = client.post("/api/v6/ticketsCategories.json", json={"name": "dotazy", "title": "Dotazy"}, headers=h)
    assert r.status_code == 201, r.text


def test_an_operator_creates_a_ticket_comments_and_attaches_a_file(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _category(client, h)
    contact = data(
        client.post("/api/v6/contacts.json", json={"lastname": "Malá", "database": "main"}, headers=h)
    )
    csrf = _signed_in(client, "acme-operator")
    card = client.get(f"/contacts/{contact['name']}")
    assert f'href="/new/ticket?contact={contact["name"]}"' in card.text
    page = client.get(f"/new/ticket?contact={contact['name']}")
    assert page.status_code == 200 and "Malá" in page.text and 'value="dotazy"' in page.text
    assert client.get("/new/ticket?contact=nobody").status_code == 404

    form = {"csrf": csrf, "contact": contact["name"], "category": "dotazy", "priority": "HIGH"}
    r = client.post("/new/ticket", data={**form, "title": ""})
    assert r.status_code == 400 and 'id="err-title"' in r.text
    assert data(client.get("/api/v6/tickets.json", headers=h))["total"] == 0
    r = client.post("/new/ticket", data={**form, "title": "Reklamace"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("/")[2].split("?")[0]
    ticket = data(client.get(f"/api/v6/tickets/{number}.json", headers=h))
    assert ticket["title"] == "Reklamace" and ticket["priority"] == "HIGH"
    assert ticket["contact"]["name"] == contact["name"] and ticket["created_by"] == "acme-operator"

    # A comment: empty is refused by the API's rule, then one is added.
    r = client.post(f"/tickets/{number}/comments", data={"csrf": csrf, "description": ""})
    assert r.status_code == 400 and 'id="err-comment"' in r.text
    r = client.post(
        f"/tickets/{number}/comments",
        data={"csrf": csrf, "description": "Zavolá zítra."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    params = {"filter[0][field]": "ticket", "filter[0][operator]": "eq", "filter[0][value]": number}
    comments = data(client.get("/api/v6/activities.json", params=params, headers=h))["data"]
    assert [c["description"] for c in comments] == ["Zavolá zítra."]
    assert client.post("/tickets/999999/comments", data={"csrf": csrf, "description": "x"}).status_code == 404

    # An attachment: an empty file gets the API's message; a real one is listed and downloads.
    empty = {"file": ("prazdny.txt", b"", "text/plain")}
    r = client.post(f"/tickets/{number}/attachments", data={"csrf": csrf}, files=empty)
    assert r.status_code == 400 and "The file is empty." in r.text
    scan = {"file": ("sken.txt", b"obsah skenu", "text/plain")}
    r = client.post(f"/tickets/{number}/attachments", data={"csrf": csrf}, files=scan, follow_redirects=False)
    assert r.status_code == 303, r.text
    # Without the page's token the upload is refused like every other change.
    assert client.post(f"/tickets/{number}/attachments", files=scan).status_code == 403
    page = client.get(f"/tickets/{number}")
    assert "Zavolá zítra." in page.text and "sken.txt" in page.text
    link = re.search(r'href="(/file/attachments/[^"?]+)\?download=1"', page.text)
    assert link is not None
    got = client.get(link.group(1) + "?download=1")
    assert got.status_code == 200 and got.content == b"obsah skenu"
    assert got.headers["content-disposition"].startswith("attachment")
    with app.state.session_factory() as s:
        actions = {e.action for e in s.query(AuditEntry).filter_by(actor="acme-operator")}
    assert {
        "helpdesk.ticket.create",
        "activities.attachment.create",
        "activities.attachment.download",
    } <= actions


def test_a_chat_opens_from_the_contacts_timeline_with_its_messages(
    client: Any, tenant: TenantFixture
) -> None:
    h = tenant.h("admin")
    assert client.post(
        "/api/v6/queues.json", json={"name": "600", "title": "Chat", "type": "chat"}, headers=h
    )
    contact = data(
        client.post("/api/v6/contacts.json", json={"lastname": "Malá", "database": "main"}, headers=h)
    )
    chat = data(
        client.post(
            "/api/v6/activitiesWeb.json",
            json={"queue": "600", "contact": contact["name"], "title": "Eva", "direction": "in"},
            headers=h,
        )
    )["activity"]
    body = {"activity": chat, "direction": "IN", "text": "Dobrý den, kdy přijde faktura?"}
    assert client.post("/api/v6/activitiesMessages.json", json=body, headers=h).status_code == 201
    _signed_in(client, "acme-operator")
    card = client.get(f"/contacts/{contact['name']}")
    assert f'href="/activities/{chat}"' in card.text
    page = client.get(f"/activities/{chat}")
    assert page.status_code == 200 and "kdy přijde faktura" in page.text
    # The DPO's Delete buttons are not an operator's.
    assert "/dpo/conversations/" not in page.text
    assert client.get("/activities/nothing-here").status_code == 404


def test_a_right_to_write_shows_no_record_one_may_not_read(client: Any, tenant: TenantFixture) -> None:
    """A role that may comment (create activities) but not read tickets gets the 403 page for a
    refused comment, not the ticket it was refused on; nor a contact on the new-ticket form."""
    h = tenant.h("admin")
    _category(client, h)
    contact = data(
        client.post("/api/v6/contacts.json", json={"lastname": "Skrytá", "database": "main"}, headers=h)
    )
    body = {"title": "Tajný tiket", "category": "dotazy", "contact": contact["name"]}
    number = data(client.post("/api/v6/tickets.json", json=body, headers=h))["name"]
    role = {"name": "writer", "title": "Writer", "permissions": ["activities:activities:create"]}
    assert client.post("/api/v6/roles.json", json=role, headers=h).status_code == 201
    role = {"name": "opener", "title": "Opener", "permissions": ["helpdesk:tickets:create"]}
    assert client.post("/api/v6/roles.json", json=role, headers=h).status_code == 201
    for login, kind in (("acme-writer", "writer"), ("acme-opener", "opener")):
        user = {"name": login, "title": "W", "role": kind, "password": "correct horse 1"}
        assert client.post("/api/v6/users.json", json=user, headers=h).status_code == 201

    csrf = _signed_in(client, "acme-writer")
    r = client.post(f"/tickets/{number}/comments", data={"csrf": csrf, "description": ""})
    assert r.status_code == 403 and "Tajný tiket" not in r.text
    client.cookies.clear()
    _signed_in(client, "acme-opener")
    r = client.get(f"/new/ticket?contact={contact['name']}")
    assert r.status_code == 403 and "Skrytá" not in r.text
