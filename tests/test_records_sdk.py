"""Tickets, activities on every channel and campaign records, driven by the official SDK."""

from __future__ import annotations

from typing import Any

import pytest
from daktela import (
    DaktelaFilter,
    DaktelaNotFoundException,
    DaktelaQuery,
    DaktelaSort,
    DaktelaValidationException,
)

from conftest import TenantFixture, data
from test_sdk import sdk


@pytest.fixture
def setup(client: Any, tenant: TenantFixture) -> dict[str, Any]:
    admin = sdk(client, tenant.tokens["admin"])
    for name, title, kind in [
        ("100", "Příchozí", "in"),
        ("101", "Odchozí", "out"),
        ("300", "E-mail", "email"),
        ("400", "Chat", "chat"),
        ("500", "SMS", "sms"),
        ("600", "Messenger", "fbm"),
    ]:
        admin.post("queues", {"name": name, "title": title, "type": kind})
    admin.post("ticketsCategories", {"name": "rekl", "title": "Reklamace", "sla_response": 60})
    admin.post("ticketsCategories", {"name": "fakt", "title": "Fakturace"})
    contact = admin.post("contacts", {"firstname": "Jana", "lastname": "Nováková", "database": "main"}).data
    return {"admin": admin, "contact": contact["name"]}


def test_tickets(client: Any, tenant: TenantFixture, setup: dict[str, Any]) -> None:
    api = sdk(client, tenant.tokens["operator"])
    first = api.post(
        "tickets",
        {
            "title": "Nefunguje displej",
            "category": "rekl",
            "contact": setup["contact"],
            "email": "Jana@Example.cz",
            "priority": "HIGH",
            "followers": ["acme-supervisor"],
        },
    ).data
    second = api.post("tickets", {"title": "Faktura", "category": "fakt"}).data
    assert isinstance(first["name"], int) and second["name"] == first["name"] + 1
    assert first["email"] == "jana@example.cz" and first["category"] == {"name": "rekl", "title": "Reklamace"}
    assert first["stage"] == "OPEN" and first["closed"] is None

    q = DaktelaQuery().filter(DaktelaFilter.eq("priority", "HIGH")).sort(DaktelaSort.desc("name"))
    assert [t["name"] for t in api.get("tickets", q).data] == [first["name"]]
    closed = api.put(f"tickets/{first['name']}", {"stage": "CLOSE"}).data
    assert closed["stage"] == "CLOSE" and closed["closed"] is not None
    assert api.get_one("tickets", str(first["name"])).data["title"] == "Nefunguje displej"
    assert api.get_relation("contacts", setup["contact"], "tickets").total == 1

    comment = api.post(
        "activities", {"ticket": first["name"], "description": "Zákaznice volala, posílám technika."}
    ).data
    assert comment["type"] == "COMMENT"
    related = api.get_relation("tickets", str(first["name"]), "activities")
    assert [a["name"] for a in related.data] == [comment["name"]]

    with pytest.raises(DaktelaValidationException):
        api.post("tickets", {"title": "X", "category": "nope"})
    with pytest.raises(DaktelaValidationException):
        api.post("tickets", {"title": "X", "category": "rekl", "stage": "LOST"})


def test_ticket_delete_removes_comments_and_shreds_attachments(
    client: Any, tenant: TenantFixture, setup: dict[str, Any]
) -> None:
    api = setup["admin"]
    ticket = api.post("tickets", {"title": "S přílohou", "category": "rekl"}).data
    r = client.post(
        f"/api/v6/tickets/{ticket['name']}/attachments.json",
        files={"file": ("foto.jpg", b"\xff\xd8\xff\xe0 jpeg bytes", "image/jpeg")},
        headers=tenant.h("operator"),
    )
    assert r.status_code == 201
    attachment = data(r)
    assert attachment["title"] == "foto.jpg" and attachment["size"] == 15
    api.post("activities", {"ticket": ticket["name"], "description": "komentář"})
    call = api.post("activitiesCall", {"queue": "100", "direction": "in", "ticket": ticket["name"]}).data
    assert api.get_relation("tickets", str(ticket["name"]), "attachments").total == 1

    assert api.delete(f"tickets/{ticket['name']}").status_code == 204
    with pytest.raises(DaktelaNotFoundException):
        api.get_one("attachments", attachment["name"])
    assert client.get(f"/file/attachments/{attachment['name']}", headers=tenant.h()).status_code == 404
    assert api.get("activities", DaktelaQuery().filter(DaktelaFilter.eq("type", "COMMENT"))).total == 0
    # The call filed under the ticket is a record of its own: it stays, without the link.
    assert api.get_one("activities", call["name"]).data["ticket"] is None


def test_every_channel(client: Any, tenant: TenantFixture, setup: dict[str, Any]) -> None:
    api = sdk(client, tenant.tokens["integration"])
    contact = setup["contact"]
    call = api.post(
        "activitiesCall",
        {
            "queue": "100",
            "direction": "in",
            "clid": "604 123 456",
            "did": "+420 222 333 444",
            "answered": True,
            "waiting_time": 12,
            "duration": 184,
            "contact": contact,
            "user": "acme-operator",
            "time": "2026-11-02 09:30:00",
        },
    ).data
    assert call["clid"] == "+420604123456" and call["time"] == "2026-11-02 09:30:00"
    assert call["queue"]["name"] == "100" and call["user"]["name"] == "acme-operator"
    api.post(
        "activitiesCallTranscripts",
        {
            "activity": call["name"],
            "start": 0,
            "end": 2.5,
            "speaker": "agent",
            "text": "Dobrý den, zákaznická linka.",
        },
    )
    api.post(
        "activitiesCallTranscripts",
        {
            "activity": call["name"],
            "start": 2.6,
            "end": 5,
            "speaker": "customer",
            "text": "Dobrý den, volám kvůli reklamaci.",
        },
    )
    transcript = api.get_relation("activitiesCall", call["name"], "transcripts")
    assert [s["speaker"] for s in transcript.data] == ["agent", "customer"]

    email = api.post(
        "activitiesEmail",
        {
            "queue": "300",
            "direction": "out",
            "address": "Jana@Example.cz",
            "title": "Re: reklamace",
            "text": "Dobrý den, ...",
            "contact": contact,
        },
    ).data
    assert email["address"] == "jana@example.cz" and email["title"] == "Re: reklamace"

    chat = api.post(
        "activitiesWeb",
        {
            "queue": "400",
            "title": "Jana",
            "email": "jana@example.cz",
            "phone": "604123456",
            "ipaddress": "2001:db8::1",
            "browser": "Firefox",
            "gdpr": True,
        },
    ).data
    assert chat["phone"] == "+420604123456" and chat["gdpr"] is True and chat["ipaddress"] == "2001:db8::1"
    sms = api.post("activitiesSms", {"queue": "500", "sender": "604 123 456", "direction": "in"}).data
    fbm = api.post(
        "activitiesFbm", {"queue": "600", "sender": "6712345678901234", "title": "Jana N.", "direction": "in"}
    ).data
    for thread in (chat, sms, fbm):
        api.post("activitiesMessages", {"activity": thread["name"], "direction": "IN", "text": "Dobrý den"})
        api.post(
            "activitiesMessages",
            {"activity": thread["name"], "direction": "OUT", "text": "Dobrý den, jak pomohu?"},
        )
    for endpoint, thread in (("activitiesWeb", chat), ("activitiesSms", sms), ("activitiesFbm", fbm)):
        messages = api.get_relation(endpoint, thread["name"], "messages")
        assert [m["direction"] for m in messages.data] == ["IN", "OUT"]
        assert messages.data[1]["user"] == "acme-integration"

    everything = api.get("activities", DaktelaQuery().sort(DaktelaSort.asc("type")))
    assert [a["type"] for a in everything.data] == ["CALL", "CHAT", "EMAIL", "FBM", "SMS"]
    assert everything.data[0]["item"]["clid"] == "+420604123456"
    window = (
        DaktelaQuery()
        .filter(DaktelaFilter.eq("queue", "100"))
        .filter(DaktelaFilter.gte("time", "2026-11-02 00:00:00"))
        .filter(DaktelaFilter.lt("time", "2026-11-03 00:00:00"))
        .sort(DaktelaSort.desc("time"))
    )
    assert [a["name"] for a in api.get("activities", window).data] == [call["name"]]
    assert api.get_relation("contacts", contact, "activities").total == 2
    assert (
        api.get("activitiesCall", DaktelaQuery().filter(DaktelaFilter.eq("clid", "+420604123456"))).total == 1
    )
    assert (
        api.get("activitiesSms", DaktelaQuery().filter(DaktelaFilter.eq("sender", "+420604123456"))).total
        == 1
    )

    updated = api.put(
        f"activitiesCall/{call['name']}", {"disposition": "resolved", "description": "vyřízeno"}
    ).data
    assert updated["disposition"] == "resolved" and updated["description"] == "vyřízeno"
    # A channel goes to a queue of its kind only.
    with pytest.raises(DaktelaValidationException) as exc:
        api.post("activitiesSms", {"queue": "100", "sender": "604123456", "direction": "in"})
    assert "queue" in exc.value.errors[0]["form"]
    with pytest.raises(DaktelaValidationException):
        api.post("activitiesMessages", {"activity": call["name"], "direction": "IN", "text": "x"})

    assert setup["admin"].delete(f"activitiesWeb/{chat['name']}").status_code == 204
    assert api.get("activitiesMessages").total == 4


def test_campaign_records(client: Any, tenant: TenantFixture, setup: dict[str, Any]) -> None:
    admin = setup["admin"]
    campaign = admin.post(
        "campaignsTypes", {"name": "podzim", "title": "Podzimní nabídka", "queue": "101"}
    ).data
    assert campaign["queue"]["name"] == "101"
    admin.post(
        "formFields",
        {
            "name": "tarif",
            "title": "Tarif",
            "object_type": "records",
            "record_type": "podzim",
            "type": "select",
            "options": ["S", "M", "L"],
            "required": True,
        },
    )
    api = sdk(client, tenant.tokens["integration"])
    record = api.post(
        "campaignsRecords",
        {
            "record_type": "podzim",
            "number": "604 123 456",
            "contact": setup["contact"],
            "customFields": {"tarif": ["M"]},
            "nextcall": "2026-11-30 10:00:00",
        },
    ).data
    assert record["number"] == "+420604123456" and record["action"] == 1 and record["queue"] == "101"
    assert record["customFields"] == {"tarif": ["M"]} and record["nextcall"] == "2026-11-30 10:00:00"
    with pytest.raises(DaktelaValidationException) as exc:
        api.post("campaignsRecords", {"record_type": "podzim", "number": "604 000 000"})
    assert exc.value.errors[0]["form"] == {"customFields.tarif": ["This field is required."]}

    call = api.post(
        "activitiesCall", {"queue": "101", "direction": "out", "clid": "604123456", "record": record["name"]}
    ).data
    api.put(f"campaignsRecords/{record['name']}", {"action": 5})
    assert api.get_relation("campaignsRecords", record["name"], "activities").data[0]["name"] == call["name"]
    assert api.get_relation("campaignsTypes", "podzim", "records").total == 1
    done = api.get("campaignsRecords", DaktelaQuery().filter(DaktelaFilter.eq("action", 5)))
    assert [r["name"] for r in done.data] == [record["name"]]
    assert api.get_relation("contacts", setup["contact"], "campaignsRecords").total == 1

    assert api.delete(f"campaignsRecords/{record['name']}").status_code == 204
    assert api.get_one("activities", call["name"]).data["record"] is None


def test_rights_by_queue_and_category(client: Any, tenant: TenantFixture, setup: dict[str, Any]) -> None:
    admin = setup["admin"]
    inbound = admin.post("activitiesCall", {"queue": "100", "direction": "in"}).data
    outbound = admin.post("activitiesCall", {"queue": "101", "direction": "out"}).data
    chat = admin.post("activitiesWeb", {"queue": "400", "title": "X"}).data
    admin.post("activitiesMessages", {"activity": chat["name"], "direction": "IN", "text": "tajné"})
    t1 = admin.post("tickets", {"title": "A", "category": "rekl"}).data
    t2 = admin.post("tickets", {"title": "B", "category": "fakt"}).data
    client.post(
        f"/api/v6/tickets/{t2['name']}/attachments.json",
        files={"file": ("f.txt", b"x", "text/plain")},
        headers=tenant.h(),
    )
    admin.post("profiles", {"name": "linka", "title": "Linka 100", "queues": ["100"], "categories": ["rekl"]})
    admin.put("users/acme-operator", {"profile": "linka"})

    op = sdk(client, tenant.tokens["operator"])
    assert [a["name"] for a in op.get("activities").data] == [inbound["name"]]
    assert op.get("activitiesCall").total == 1
    with pytest.raises(DaktelaNotFoundException):
        op.get_one("activitiesCall", outbound["name"])
    assert op.get("activitiesMessages").total == 0
    assert [t["name"] for t in op.get("tickets").data] == [t1["name"]]
    assert op.get("attachments").total == 0
    with pytest.raises(DaktelaValidationException):
        op.post("activitiesCall", {"queue": "101", "direction": "out"})
    with pytest.raises(DaktelaValidationException):
        op.post("tickets", {"title": "C", "category": "fakt"})
    who = op.get("whoim").data
    assert who["queues"] == ["100"] and who["categories"] == ["rekl"]
    # A deleted queue disappears from the profiles that named it.
    admin.delete("queues/600")
    assert admin.get_one("profiles", "linka").data["queues"] == ["100"]


def test_contact_names_follow_database_rights(
    client: Any, tenant: TenantFixture, setup: dict[str, Any]
) -> None:
    admin = setup["admin"]
    admin.post("databases", {"name": "vip", "title": "VIP"})
    vip = admin.post("contacts", {"firstname": "Tajná", "lastname": "Osoba", "database": "vip"}).data
    call = admin.post("activitiesCall", {"queue": "100", "direction": "in", "contact": vip["name"]}).data
    ticket = admin.post("tickets", {"title": "T", "category": "rekl", "contact": vip["name"]}).data
    admin.post("profiles", {"name": "main-db", "title": "Main", "databases": ["main"]})
    admin.put("users/acme-operator", {"profile": "main-db"})
    op = sdk(client, tenant.tokens["operator"])
    # The call and the ticket are visible (queues and categories are not limited), the person not.
    assert op.get_one("activities", call["name"]).data["contact"] == {"name": vip["name"], "title": None}
    assert op.get_one("tickets", str(ticket["name"])).data["contact"] == {"name": vip["name"], "title": None}
    assert "Tajná" not in str(op.get("activities").data)
    assert admin.get_one("activities", call["name"]).data["contact"]["title"] == "Tajná Osoba"


def test_record_type_lookups_respect_queue_rights(
    client: Any, tenant: TenantFixture, setup: dict[str, Any]
) -> None:
    """A record type outside the caller's queues does not exist for them: not when a campaign
    record names it, not when a form field is attached to it, changed or deleted. (The lookups once
    ignored the caller's queues: a record named such a campaign got a message revealing that it
    exists, and an admin limited to other queues could add, change and delete the fields of the
    campaign's form.)"""
    admin = setup["admin"]
    field = {"title": "Tarif", "object_type": "records", "type": "text"}
    admin.post("campaignsTypes", {"name": "podzim", "title": "Podzimní nabídka", "queue": "101"})
    admin.post("formFields", {**field, "name": "tarif_podzim", "record_type": "podzim"})
    admin.post("queues", {"name": "102", "title": "Kampaně", "type": "out"})
    admin.post("campaignsTypes", {"name": "jaro", "title": "Jarní nabídka", "queue": "102"})
    admin.post("profiles", {"name": "linka", "title": "Linka 102", "queues": ["102"]})
    for user in ("acme-operator", "acme-admin"):
        admin.put(f"users/{user}", {"profile": "linka"})

    op = sdk(client, tenant.tokens["operator"])
    with pytest.raises(DaktelaValidationException) as refused:
        op.post("campaignsRecords", {"record_type": "podzim", "number": "604 000 000"})
    assert "No such record type." in str(refused.value)
    assert op.post("campaignsRecords", {"record_type": "jaro", "number": "604 000 001"}).data["queue"]

    limited_admin = sdk(client, tenant.tokens["admin"])
    with pytest.raises(DaktelaValidationException) as refused:
        limited_admin.post("formFields", {**field, "name": "tarif", "record_type": "podzim"})
    assert "No such record type." in str(refused.value)
    with pytest.raises(DaktelaNotFoundException):
        limited_admin.put("formFields/tarif_podzim", {"title": "Changed"})
    with pytest.raises(DaktelaNotFoundException):
        limited_admin.delete("formFields/tarif_podzim")
    limited_admin.post("formFields", {**field, "name": "tarif_jaro", "record_type": "jaro"})
    assert limited_admin.put("formFields/tarif_jaro", {"title": "Tarif jaro"}).data["title"] == "Tarif jaro"
    fields = {f["name"]: f["title"] for f in limited_admin.get("formFields").data}
    assert "tarif" not in fields and fields["tarif_podzim"] == "Tarif"
