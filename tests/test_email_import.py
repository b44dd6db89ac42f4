"""Raw RFC 822 messages as real mail clients write them import with correct text and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import TenantFixture, data

EML = Path(__file__).parent / "data" / "eml"


def import_eml(client: Any, t: TenantFixture, name: str, **params: str) -> dict[str, Any]:
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=(EML / name).read_bytes(),
        params={"queue": "300", **params},
        headers={**t.h("integration"), "content-type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    return data(r)  # type: ignore[no-any-return]


@pytest.fixture
def mailq(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/queues.json", json={"name": "300", "title": "E-mail", "type": "email"}, headers=tenant.h()
    )
    assert r.status_code == 201


def attachments(client: Any, t: TenantFixture, activity: str) -> list[dict[str, Any]]:
    return data(client.get(f"/api/v6/activitiesEmail/{activity}/attachments.json", headers=t.h()))["data"]  # type: ignore[no-any-return]


def test_outlook_windows_1250(client: Any, tenant: TenantFixture, mailq: None) -> None:
    m = import_eml(client, tenant, "outlook-windows-1250.eml")
    assert m["title"] == "Reklamace objednávky č. 2026-0117"
    assert m["address"] == "jiri.dvorak@example.cz"
    assert "zboží dorazilo poškozené. Žádám o výměnu." in m["text"]
    assert "Jiří Dvořák" in m["text"]
    assert "<p>posílám reklamaci \u2013 zboží dorazilo poškozené" in m["html"]
    assert m["headers"]["Message-ID"] == "<DB9PR01MB1234.eurprd01.prod.outlook.com>"
    assert "Received" not in m["headers"]  # routing headers (with relay IP addresses) are not kept
    assert m["time"] == "2026-11-02 10:15:00"  # +0100 is Prague winter time
    assert m["queue"]["name"] == "300" and m["direction"] == "in"
    assert attachments(client, tenant, m["name"]) == []


def test_thunderbird_iso_8859_2_with_pdf(client: Any, tenant: TenantFixture, mailq: None) -> None:
    m = import_eml(client, tenant, "thunderbird-iso-8859-2.eml")
    assert m["title"] == "Podepsaná smlouva"
    assert m["address"] == "vera.stastna@example.org"
    assert "v příloze zasílám podepsanou smlouvu" in m["text"] and "Věra Šťastná" in m["text"]
    assert m["html"] is None
    files = attachments(client, tenant, m["name"])
    assert [(f["title"], f["type"], f["inline"]) for f in files] == [
        ("smlouva Šťastná.pdf", "application/pdf", False)
    ]
    pdf = client.get(f"/file/attachments/{files[0]['name']}", headers=tenant.h("operator"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.4") and pdf.content.endswith(b"%%EOF\n")
    assert "filename*=UTF-8''smlouva%20%C5%A0%C5%A5astn%C3%A1.pdf" in pdf.headers["content-disposition"]


def test_gmail_inline_image_and_attachment(client: Any, tenant: TenantFixture, mailq: None) -> None:
    m = import_eml(client, tenant, "gmail-inline-image.eml")
    assert m["title"] == "Rozbitý displej \u2013 fotka"
    assert m["address"] == "katerina.novakova@example.com"
    assert "Kateřina Nováková" in m["text"]
    assert 'src="cid:ii_lq1w2e3r0"' in m["html"]
    assert m["attachments"] == 2
    files = {f["title"]: f for f in attachments(client, tenant, m["name"])}
    assert set(files) == {"displej.png", "faktura č. 17.pdf"}
    image = files["displej.png"]
    assert image["inline"] is True and image["cid"] == "ii_lq1w2e3r0" and image["type"] == "image/png"
    png = client.get(f"/file/attachments/{image['name']}", headers=tenant.h())
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and png.headers["content-disposition"].startswith(
        "inline"
    )
    assert files["faktura č. 17.pdf"]["inline"] is False
    # The v6-compatible download address serves the same file.
    legacy = client.get("/file/download.php", params={"name": image["name"]}, headers=tenant.h())
    assert legacy.content == png.content


def test_plain_utf8_8bit(client: Any, tenant: TenantFixture, mailq: None) -> None:
    m = import_eml(client, tenant, "plain-utf8-8bit.eml")
    assert m["title"] == "Dotaz na otevírací dobu"
    assert m["text"].startswith("Dobrý den, jakou máte otevírací dobu o svátcích?")
    assert m["time"] == "2026-11-05 15:22:00"  # 14:22 UTC


def test_import_files_into_a_ticket_and_lists_with_it(
    client: Any, tenant: TenantFixture, mailq: None
) -> None:
    client.post(
        "/api/v6/ticketsCategories.json", json={"name": "rekl", "title": "Reklamace"}, headers=tenant.h()
    )
    ticket = data(
        client.post(
            "/api/v6/tickets.json", json={"title": "Reklamace", "category": "rekl"}, headers=tenant.h()
        )
    )
    m = import_eml(client, tenant, "outlook-windows-1250.eml", ticket=str(ticket["name"]))
    related = data(client.get(f"/api/v6/tickets/{ticket['name']}/activities.json", headers=tenant.h()))
    assert [a["name"] for a in related["data"]] == [m["name"]]
    assert related["data"][0]["item"]["title"] == "Reklamace objednávky č. 2026-0117"


@pytest.mark.parametrize(
    ("body", "params", "status"),
    [
        (b"", {}, 400),
        (b"this is not a message", {}, 400),
        ((EML / "plain-utf8-8bit.eml").read_bytes(), {"queue": "nope"}, 400),
        ((EML / "plain-utf8-8bit.eml").read_bytes(), {"direction": "sideways"}, 400),
    ],
)
def test_bad_imports_write_nothing(
    client: Any, tenant: TenantFixture, mailq: None, body: bytes, params: dict[str, str], status: int
) -> None:
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=body,
        params={"queue": "300", **params},
        headers={**tenant.h(), "content-type": "message/rfc822"},
    )
    assert r.status_code == status, r.text
    assert data(client.get("/api/v6/activitiesEmail.json", headers=tenant.h()))["total"] == 0


def _nested(depth: int) -> bytes:
    """A message whose multiparts nest ``depth`` deep: each level a part holding the next."""
    head = b"From: a@example.cz\r\nTo: b@example.cz\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nahoj" + closing


@pytest.mark.parametrize(("depth", "why"), [(1000, "more than 1000 parts"), (40, "nested more than 30 deep")])
def test_a_deeply_nested_message_is_a_400_not_a_crash(
    client: Any, tenant: TenantFixture, mailq: None, depth: int, why: str
) -> None:
    """A thousand nested multiparts (about 56 kB) once exhausted the parser's recursion: a 500 and
    a dropped connection. Now a 400 in the envelope, nothing stored, and the client goes on."""
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=_nested(depth),
        params={"queue": "300"},
        headers={**tenant.h("integration"), "content-type": "message/rfc822"},
    )
    assert r.status_code == 400, r.text
    assert why in r.json()["error"]["form"]["body"][0]
    assert data(client.get("/api/v6/activitiesEmail.json", headers=tenant.h()))["total"] == 0


def test_a_message_nested_within_the_bound_imports(client: Any, tenant: TenantFixture, mailq: None) -> None:
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=_nested(5),
        params={"queue": "300"},
        headers={**tenant.h("integration"), "content-type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    assert data(r)["text"].strip() == "ahoj"


def test_the_same_message_imported_twice_is_stored_once(
    client: Any, tenant: TenantFixture, mailq: None
) -> None:
    """A mail fetcher that retries sends the same message again: it is found by its Message-ID and
    answered with the activity stored the first time (200), not stored twice."""
    first = import_eml(client, tenant, "thunderbird-iso-8859-2.eml")
    again = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=(EML / "thunderbird-iso-8859-2.eml").read_bytes(),
        params={"queue": "300"},
        headers={**tenant.h("integration"), "content-type": "message/rfc822"},
    )
    assert again.status_code == 200, again.text
    assert data(again)["name"] == first["name"]
    assert data(again)["attachments"] == first["attachments"] == 1
    assert data(client.get("/api/v6/activitiesEmail.json", headers=tenant.h()))["total"] == 1
    assert len(attachments(client, tenant, first["name"])) == 1


FORWARD = (
    b"From: Petr Vrba <petr.vrba@example.cz>\r\nTo: podpora@demo.example\r\nSubject: Fwd: reklamace\r\n"
    b"Message-ID: <fwd-1@example.cz>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPosilam dal, viz nize.\r\n"
    b"--outer\r\nContent-Type: message/rfc822\r\n"
    b'Content-Disposition: attachment; filename="reklamace.eml"\r\n\r\n'
    b"From: Bohuslav Reznicek <bohuslav@example.cz>\r\nTo: petr.vrba@example.cz\r\n"
    b"Subject: reklamace\r\nDate: Mon, 02 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="inner"\r\n\r\n'
    b"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTelefon 603 123 456, vadny displej.\r\n"
    b"--inner\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="uctenka.pdf"\r\n\r\n'
    b"%PDF-1.4\r\n--inner--\r\n"
    b"--outer--\r\n"
)


def test_a_forwarded_message_is_kept_as_mail_clients_show_it(
    client: Any, tenant: TenantFixture, mailq: None
) -> None:
    """Its headers and text join the searchable body (so the person in it is found and erased), and
    the message itself is filed as an .eml attachment, its own attachments inside it."""
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=FORWARD,
        params={"queue": "300"},
        headers={**tenant.h("integration"), "content-type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    mail = data(r)
    assert mail["text"].startswith("Posilam dal, viz nize.")
    assert "From: Bohuslav Reznicek <bohuslav@example.cz>" in mail["text"]
    assert "Telefon 603 123 456, vadny displej." in mail["text"]
    files = attachments(client, tenant, mail["name"])
    assert [(f["title"], f["type"]) for f in files] == [("reklamace.eml", "message/rfc822")]
    eml = client.get(f"/file/attachments/{files[0]['name']}", headers=tenant.h()).content
    assert b"uctenka.pdf" in eml and b"Subject: reklamace" in eml


def test_a_forwarded_message_with_headers_the_library_cannot_rewrite_imports(
    client: Any, tenant: TenantFixture, mailq: None
) -> None:
    """Group syntax in its To: and raw 8-bit bytes beside an encoded word in a long Subject: once a
    500 (writing the .eml out again, reading the To: for the text). Now the message imports."""
    body = (
        b"From: a@example.cz\r\nTo: podpora@demo.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nahoj\r\n'
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: x@example.cz\r\nTo: undisclosed-recipients:; " + b"a" * 90 + b"\r\n"
        b"Subject: \x9e\x9a\xe8 =?utf-8?q?a?= " + b"x" * 90 + b"\r\n\r\ntext uvnitr\r\n--o--\r\n"
    )
    r = client.post(
        "/api/v6/activitiesEmail/import.json",
        content=body,
        params={"queue": "300"},
        headers={**tenant.h("integration"), "content-type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    assert "text uvnitr" in data(r)["text"]
