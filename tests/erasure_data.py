"""A data subject with a trace on every channel, and a neighbour whose records mention her."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hovor.activities.audio import synth_wav

FIRST, LAST = "Květoslava", "Zlatohlávková"
PHONE_WRITTEN = "+420 603 123 456"
EMAIL = "kvetoslava.zlatohlavkova@example.cz"
SOCIAL = "psid-zlatohlavkova-77"
INSTAGRAM, VIBER = "ig-zlatohlavkova-1977", "viber-zlatohlavkova-77"
IP = "198.51.100.77"

# What must not be found anywhere after the erasure, in the shapes people write it.
NAME_FORMS = ["Zlatohlávková", "Zlatohlávkové", "Zlatohlávkovou", "ZLATOHLÁVKOVÁ", "Květoslava Zlatohlávková"]
PHONE_FORMS = ["+420 603 123 456", "603123456", "00420603123456", "+420603123456", "603 123 456"]
# Her name as the search index holds it (hovor.index.fold): lower case, no diacritics.
FOLDED_FORMS = ["zlatohlavkova", "kvetoslava zlatohlavkova", "zlatohlavkove", "zlatohlavkovou"]
NEEDLES = [*NAME_FORMS, *FOLDED_FORMS, *PHONE_FORMS, EMAIL, SOCIAL, INSTAGRAM, VIBER, IP]


@dataclass
class Subject:
    contact: str
    neighbour: str
    neighbour_ticket: int
    neighbour_crm_record: str = ""
    calls: list[str] = field(default_factory=list)
    activities: dict[str, str] = field(default_factory=dict)
    tickets: list[int] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    crm_records: list[str] = field(default_factory=list)
    unlinked_call: str = ""


def data(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()["result"]


def build(client: Any, h: dict[str, str]) -> Subject:
    post = lambda path, body: data(client.post(f"/api/v6/{path}.json", json=body, headers=h))  # noqa: E731
    post("formFields", {"name": "number", "title": "Telefon", "object_type": "contacts", "type": "phone"})
    post("formFields", {"name": "email", "title": "E-mail", "object_type": "contacts", "type": "email"})
    post("formFields", {"name": "note", "title": "Poznámka", "object_type": "contacts", "type": "text"})
    for name, kind in (
        ("100", "in"),
        ("300", "email"),
        ("400", "chat"),
        ("500", "sms"),
        ("600", "fbm"),
        ("700", "wap"),
        ("800", "igdm"),
        ("900", "vbr"),
    ):
        post("queues", {"name": name, "title": name, "type": kind})
    post("ticketsCategories", {"name": "rekl", "title": "Reklamace"})
    contact = post(
        "contacts",
        {
            "firstname": FIRST,
            "lastname": LAST,
            "database": "main",
            "description": f"Paní {LAST} preferuje ranní hovory na {PHONE_WRITTEN}.",
            "customFields": {"number": [PHONE_WRITTEN], "email": [EMAIL], "note": ["VIP"]},
        },
    )["name"]
    subject = Subject(contact=contact, neighbour="", neighbour_ticket=0)

    call = post(
        "activitiesCall",
        {
            "queue": "100",
            "direction": "in",
            "clid": PHONE_WRITTEN,
            "prefix_clid_name": "Květoslava Zlatohlávková",  # as the PBX's caller-name lookup gave it
            "contact": contact,
            "title": f"Hovor {LAST}",
        },
    )["name"]
    subject.calls.append(call)
    r = client.post(
        f"/api/v6/activitiesCall/{call}/recording.json",
        content=synth_wav(0.4),
        headers={**h, "content-type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    post(
        "activitiesCallTranscripts",
        {
            "activity": call,
            "start": 0,
            "end": 3,
            "speaker": "customer",
            "text": f"Dobrý den, tady {FIRST} {LAST}, volám z čísla 603 123 456.",
        },
    )
    email = post(
        "activitiesEmail",
        {
            "queue": "300",
            "direction": "in",
            "contact": contact,
            "address": EMAIL,
            "title": f"Reklamace: {FIRST} {LAST}",
            "text": f"Jsem {FIRST} {LAST}, tel. 00420603123456, IBAN CZ65 0800 0000 1920 0014 5399",
            "html": f"<p>{FIRST} {LAST}<br>{EMAIL}</p>",
            "headers": {"From": f"{FIRST} {LAST} <{EMAIL}>", "Message-ID": "<m1@example.cz>"},
        },
    )["name"]
    r = client.post(
        f"/api/v6/activities/{email}/attachments.json",
        files={
            "file": (
                f"{LAST}-smlouva.txt",
                f"Smlouva: {FIRST} {LAST}, {PHONE_WRITTEN}".encode(),
                "text/plain",
            )
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    chat = post(
        "activitiesWeb",
        {
            "queue": "400",
            "contact": contact,
            "title": f"{FIRST} {LAST}",
            "email": EMAIL,
            "phone": "603123456",
            "ipaddress": IP,
        },
    )["name"]
    post(
        "activitiesMessages", {"activity": chat, "direction": "IN", "text": f"Jsem {LAST}, číslo 603 123 456"}
    )
    sms = post(
        "activitiesSms", {"queue": "500", "sender": "00420603123456", "direction": "in", "contact": contact}
    )["name"]
    post("activitiesMessages", {"activity": sms, "direction": "IN", "text": f"Zde {FIRST} {LAST}, zavolejte"})
    fbm = post(
        "activitiesFbm",
        {"queue": "600", "sender": SOCIAL, "title": f"{FIRST} {LAST}", "direction": "in", "contact": contact},
    )["name"]
    post("activitiesMessages", {"activity": fbm, "direction": "IN", "text": f"Ahoj, {LAST} tady"})
    subject.activities = {"CALL": call, "EMAIL": email, "CHAT": chat, "SMS": sms, "FBM": fbm}
    # WhatsApp knows her by her number, Instagram and Viber by their ids of her.
    for code, endpoint, queue, sender in (
        ("WAP", "activitiesWap", "700", PHONE_WRITTEN),
        ("IGDM", "activitiesIgdm", "800", INSTAGRAM),
        ("VBR", "activitiesVbr", "900", VIBER),
    ):
        body = {
            "queue": queue,
            "sender": sender,
            "title": f"{FIRST} {LAST}",
            "direction": "in",
            "contact": contact,
        }
        thread = post(endpoint, body)["name"]
        post(
            "activitiesMessages",
            {"activity": thread, "direction": "IN", "text": f"Dobrý den, {FIRST} {LAST}"},
        )
        subject.activities[code] = thread

    ticket = post(
        "tickets",
        {
            "title": f"Reklamace {LAST}",
            "category": "rekl",
            "contact": contact,
            "email": EMAIL,
            "description": f"Zákaznice {FIRST} {LAST}, {PHONE_WRITTEN}",
        },
    )["name"]
    subject.tickets.append(ticket)
    post("activities", {"description": "Volala paní Zlatohlávkové dcera, vrátí se zítra.", "ticket": ticket})
    r = client.post(
        f"/api/v6/tickets/{ticket}/attachments.json",
        files={"file": ("foto.txt", f"{EMAIL}".encode(), "text/plain")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    campaign = post("campaignsTypes", {"title": "Nabídka"})["name"]
    subject.records.append(
        post("campaignsRecords", {"record_type": campaign, "contact": contact, "number": "603123456"})["name"]
    )

    # A deal in the CRM: about her, with her number in its form.
    post(
        "formFields", {"name": "crm_phone", "title": "Telefon", "object_type": "crmRecords", "type": "phone"}
    )
    deals = post("crmRecordTypes", {"title": "Hypotéky", "database": "main"})["name"]
    subject.crm_records.append(
        post(
            "crmRecords",
            {
                "type": deals,
                "title": f"Hypotéka {LAST}",
                "description": f"Volat na {PHONE_WRITTEN} nebo psát na {EMAIL}.",
                "contact": contact,
                "customFields": {"crm_phone": "603 123 456"},
            },
        )["name"]
    )

    # A neighbour's records that mention her.
    neighbour = post("contacts", {"firstname": "Bohumil", "lastname": "Vrba", "database": "main"})["name"]
    subject.neighbour = neighbour
    subject.neighbour_crm_record = post(
        "crmRecords",
        {
            "type": deals,
            "title": "Hypotéka Vrba",
            "contact": neighbour,
            "description": f"Doporučila paní {LAST}.",
        },
    )["name"]
    subject.neighbour_ticket = post(
        "tickets",
        {
            "title": "Soused paní Zlatohlávkové",
            "category": "rekl",
            "contact": neighbour,
            "description": f"Mluvil jsem s paní Zlatohlávkovou, číslo +420 603 123 456, e-mail {EMAIL}. "
            f"Pan Vrba chce vrátit zboží, jeho číslo je 777 111 222.",
        },
    )["name"]
    # A call from her number that nobody linked to her: the resolver finds it, the DPO may include it.
    subject.unlinked_call = post(
        "activitiesCall", {"queue": "100", "direction": "in", "clid": "603 123 456"}
    )["name"]
    return subject
