"""GDPR erasure end to end: the residue test (a byte search of the database files, the WAL and the
blob store), what anonymized records read back as, mentions redacted in other people's records,
the signed certificate, legal holds, the DPO right, plain deletes with tombstones, and the jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from conftest import make_tenant, migrated_url
from erasure_data import EMAIL, FIRST, FOLDED_FORMS, INSTAGRAM, LAST, NEEDLES, VIBER, build
from hovor.app import create_app
from hovor.core.config import Settings
from hovor.jobs.models import Job
from hovor.privacy.erasure import verify_certificate
from hovor.privacy.models import Tombstone


def _settings(url: str, data_dir: Path, **kw: Any) -> Settings:
    return Settings(environment="test", database_url=url, data_dir=data_dir, auth_cache_seconds=0, **kw)


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient, Settings]]:
    """An app on a database of its own: the byte search must see only this test's files."""
    url = migrated_url(backend, tmp_path, "_erasure")
    settings = _settings(url, tmp_path / "data", erasure_compact_delay_seconds=0)
    app = create_app(settings)
    with TestClient(app) as client:  # the lifespan runs the in-process job worker
        yield app, client, settings
    app.state.engine.dispose()


def wait_done(client: TestClient, job: str, headers: dict[str, str], seconds: float = 60) -> dict[str, Any]:
    """The job's state once the in-process worker has finished it (or the time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(f"/api/v6/jobs/{job}.json", headers=headers).json()["result"]
        if state["state"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.05)


def _sqlite_files(settings: Settings) -> list[Path]:
    db = Path(make_url(settings.resolved_database_url).database or "")
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def _pg_files(app: Any) -> list[Path]:
    with app.state.engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))  # what is in shared buffers reaches the files
        data_dir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        oid = conn.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    base = data_dir / "base" / str(oid)
    files = [p for p in base.iterdir() if p.is_file()]
    assert len(files) > 50  # the database's tables, indexes and TOAST; a wrong path would prove nothing
    return files


def _blob_files(settings: Settings) -> list[Path]:
    root = Path(urlparse(settings.resolved_blob_store_url).path)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _found(files: list[Path]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in files:
        content = path.read_bytes()
        for needle in NEEDLES:
            for form in {needle, needle.lower()}:
                if form.encode() in content:
                    hits.setdefault(needle, []).append(path.name)
    return hits


def _relations(app: Any, backend: str, hits: dict[str, list[str]]) -> dict[str, str]:
    """Which table or index each PostgreSQL file found belongs to (for the failure message)."""
    if backend != "postgres":
        return {}
    nodes = {name.split(".")[0].split("_")[0] for names in hits.values() for name in names}
    with app.state.engine.connect() as conn:
        return {
            node: str(
                conn.execute(text("SELECT pg_filenode_relation(0, :n)::text"), {"n": int(node)}).scalar()
            )
            for node in nodes
            if node.isdigit()
        }


def _database_files(app: Any, backend: str, settings: Settings) -> list[Path]:
    return _sqlite_files(settings) if backend == "sqlite" else _pg_files(app)


def test_residue_after_erasure(fresh: tuple[Any, TestClient, Settings], backend: str) -> None:
    app, client, settings = fresh
    tenant = make_tenant(app, "acme")
    subject = build(client, tenant.h())
    if backend == "postgres":
        # What autovacuum may do at any time: sample the tables into pg_statistic.
        with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    before = _found(_database_files(app, backend, settings))
    assert {LAST, EMAIL, "603123456"} <= set(before), before  # the search sees the data it looks for
    assert FOLDED_FORMS[1] in before, before  # and her name in the search index (only there folded)

    # The preview lists what will change, and the unlinked call the DPO may include.
    dpo = tenant.h("dpo")
    preview = client.get(f"/api/v6/contacts/{subject.contact}/erasure.json", headers=dpo).json()["result"]
    assert preview["unlinked"]["activitiesCall"] == [subject.unlinked_call]
    kinds = {(r["type"], r["name"]) for r in preview["records"]}
    assert ("contacts", subject.contact) in kinds and ("tickets", str(subject.tickets[0])) in kinds
    call = next(r for r in preview["records"] if r["name"] == subject.activities["CALL"])
    changed = {c["field"]: c["action"] for c in call["changes"]}
    assert changed["activity_calls.clid"] == "null"
    assert changed["call_recordings.blob"] == "delete_row"
    assert changed["activities.title"] == "redact_text"
    assert sorted(m["key"]["name"] for m in preview["mentions"]) == sorted(
        [str(subject.neighbour_ticket), subject.neighbour_crm_record]
    )

    r = client.post(
        f"/api/v6/contacts/{subject.contact}/erasure.json",
        json={"include": {"activitiesCall": [subject.unlinked_call]}},
        headers=dpo,
    )
    assert r.status_code == 202, r.text
    job = r.json()["result"]["name"]
    assert r.headers["location"] == f"/api/v6/jobs/{job}.json"
    state = wait_done(client, job, dpo)
    assert state["state"] == "done", state
    compaction = state["result"]["certificate"]["compaction"]
    if backend == "postgres":  # the tables are rewritten by a job of their own, right after
        assert wait_done(client, compaction, dpo)["state"] == "done"
    else:
        assert compaction == "done"  # the WAL was truncated by the erasure itself

    # Nothing of her is left in the database files, the WAL, or the blob store.
    after = _found(_database_files(app, backend, settings) + _blob_files(settings))
    assert after == {}, (after, _relations(app, backend, after))

    # What reads back: statistics kept, personal data gone, anonymized marked.
    h = tenant.h()
    assert client.get(f"/api/v6/contacts/{subject.contact}.json", headers=h).status_code == 404
    call_read = client.get(f"/api/v6/activitiesCall/{subject.activities['CALL']}.json", headers=h).json()[
        "result"
    ]
    assert call_read["clid"] is None and call_read["direction"] == "in"
    activity = client.get(f"/api/v6/activities/{subject.activities['CALL']}.json", headers=h).json()["result"]
    assert (
        activity["anonymized"] is True and activity["queue"]["name"] == "100" and activity["contact"] is None
    )
    assert activity["title"] == "Hovor [name]"
    mail = client.get(f"/api/v6/activitiesEmail/{subject.activities['EMAIL']}.json", headers=h).json()[
        "result"
    ]
    assert mail["text"] is None and mail["html"] is None and mail["address"] is None
    assert mail["title"] == "Reklamace: [name]"
    assert (
        client.get(f"/api/v6/activities/{subject.activities['EMAIL']}/attachments.json", headers=h).json()[
            "result"
        ]["total"]
        == 0
    )
    unlinked = client.get(f"/api/v6/activitiesCall/{subject.unlinked_call}.json", headers=h).json()["result"]
    assert unlinked["clid"] is None
    ticket = client.get(f"/api/v6/tickets/{subject.tickets[0]}.json", headers=h).json()["result"]
    assert ticket["title"] == "Reklamace [name]" and ticket["email"] is None and ticket["description"] is None
    record = client.get(f"/api/v6/campaignsRecords/{subject.records[0]}.json", headers=h).json()["result"]
    assert record["number"] is None and record["anonymized"] is True
    deal = client.get(f"/api/v6/crmRecords/{subject.crm_records[0]}.json", headers=h).json()["result"]
    assert deal["title"] == "Hypotéka [name]" and deal["description"] is None and deal["contact"] is None
    assert deal["customFields"] == {} and deal["anonymized"] is True and deal["type"]["title"] == "Hypotéky"
    neighbours_deal = client.get(f"/api/v6/crmRecords/{subject.neighbour_crm_record}.json", headers=h)
    assert neighbours_deal.json()["result"]["description"] == "Doporučila paní [name]."
    neighbour = client.get(f"/api/v6/tickets/{subject.neighbour_ticket}.json", headers=h).json()["result"]
    assert neighbour["title"] == "Soused paní [name]"
    assert neighbour["description"] == (
        "Mluvil jsem s paní [name], číslo [phone], e-mail [e-mail]. "
        "Pan Vrba chce vrátit zboží, jeho číslo je 777 111 222."
    )

    # The certificate: signed, counts per type and field, no personal data.
    cert = client.get(f"/api/v6/contacts/{subject.contact}/erasure.json", headers=dpo).json()["result"][
        "result"
    ]
    assert verify_certificate(cert)
    body = cert["certificate"]
    # eight channels, the ticket's comment, the included call
    assert body["records"]["activities"] == 10
    assert body["records"]["contacts"] == 1 and body["blobsShredded"] == 3
    assert body["fieldsCleared"]["activity_calls.clid"] == 2
    assert body["records"]["crmRecords"] == 1
    assert body["mentionsRedacted"] == {
        "crm_records.description": 1,
        "tickets.description": 1,
        "tickets.title": 1,
    }
    forged = {**cert, "certificate": {**body, "blobsShredded": 0}}
    assert not verify_certificate(forged)
    with app.state.session_factory() as s:
        stones = s.scalars(select(Tombstone).where(Tombstone.job == job)).all()
        assert {(t.record_type, t.action) for t in stones} >= {
            ("contacts", "erase"),
            ("activities", "anonymize"),
        }
    # The audit log holds the erasure, and nothing of her.
    entries = client.get("/api/v6/auditLog.json?take=1000", headers=dpo).json()["result"]["data"]
    actions = {e["action"] for e in entries}
    assert {"privacy.erasure.preview", "privacy.erasure.request", "privacy.erasure.done"} <= actions
    assert not any(n in str(entries) for n in (LAST, EMAIL, FIRST, "603123456"))


# --- through the official SDK ---------------------------------------------------------------------
def test_sdk_delete_with_anonymize_erases(client: TestClient, tenant: Any) -> None:
    # The suite's client runs the app's lifespan, and with it the in-process job worker of `hovor serve`.
    from test_sdk import sdk

    subject = build(client, tenant.h())
    api = sdk(client, tenant.tokens["dpo"])
    api.delete(f"contacts/{subject.contact}", {"anonymize": 1})
    admin = sdk(client, tenant.tokens["admin"])
    for channel, endpoint in (
        ("CALL", "activitiesCall"),
        ("EMAIL", "activitiesEmail"),
        ("CHAT", "activitiesWeb"),
    ):
        activity = admin.get_one("activities", subject.activities[channel]).data
        assert activity["anonymized"] is True and activity["contact"] is None
        item = admin.get_one(endpoint, subject.activities[channel]).data
        assert not any(n in str(item) for n in NEEDLES), item
    assert admin.get("activitiesMessages").total == 0  # every message was hers
    # Without the right: 403, and nothing happens.
    other = build_contact(client, tenant.h())
    r = client.delete(f"/api/v6/contacts/{other}.json?anonymize=1", headers=tenant.h("admin"))
    assert r.status_code == 403
    assert client.get(f"/api/v6/contacts/{other}.json", headers=tenant.h()).status_code == 200


def build_contact(client: TestClient, h: dict[str, str], lastname: str = "Vrba") -> str:
    r = client.post("/api/v6/contacts.json", json={"lastname": lastname, "database": "main"}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["result"]["name"])


# --- legal holds ----------------------------------------------------------------------------------
def test_legal_hold_blocks_delete_erasure_and_dpo_deletes(client: TestClient, tenant: Any, app: Any) -> None:
    subject = build(client, tenant.h())
    dpo, admin = tenant.h("dpo"), tenant.h()
    assert (
        client.post(
            "/api/v6/legalHolds.json",
            json={"object_type": "contacts", "object_key": "nope", "reason": "Spor"},
            headers=dpo,
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v6/legalHolds.json",
            json={"object_type": "queues", "object_key": "100", "reason": "Spor"},
            headers=admin,
        ).status_code
        == 403
    )
    hold = client.post(
        "/api/v6/legalHolds.json",
        json={
            "name": "spor-2026-17",
            "object_type": "queues",
            "object_key": "100",
            "reason": "Soudní spor 17",
        },
        headers=dpo,
    )
    assert hold.status_code == 201, hold.text

    # The call in queue 100 is held: erasing its contact, deleting it or its recording is refused.
    for method, path, headers in (
        ("POST", f"/api/v6/contacts/{subject.contact}/erasure.json", dpo),
        ("DELETE", f"/api/v6/contacts/{subject.contact}.json?anonymize=1", dpo),
        ("DELETE", f"/api/v6/activitiesCall/{subject.activities['CALL']}/recording.json", dpo),
        ("DELETE", f"/api/v6/activitiesCall/{subject.activities['CALL']}.json", admin),
    ):
        r = client.request(method, path, headers=headers, json={} if method == "POST" else None)
        assert r.status_code == 409, (path, r.text)
        assert "spor-2026-17" in r.json()["error"][0]
    preview = client.get(f"/api/v6/contacts/{subject.contact}/erasure.json", headers=dpo).json()["result"]
    assert preview["holds"][0]["name"] == "spor-2026-17"
    with app.state.session_factory() as s:
        assert s.scalars(select(Job)).all() == []
        assert s.scalars(select(Tombstone)).all() == []
    recording = client.get(f"/file/recording/{subject.activities['CALL']}", headers=admin)
    assert recording.status_code == 200

    # A hold on the contact itself blocks its plain delete; an expired hold blocks nothing.
    held = build_contact(client, admin, "Held")
    client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "contacts", "object_key": held, "reason": "Spor"},
        headers=dpo,
    )
    assert client.delete(f"/api/v6/contacts/{held}.json", headers=admin).status_code == 409
    expired = build_contact(client, admin, "Expired")
    client.post(
        "/api/v6/legalHolds.json",
        json={
            "object_type": "contacts",
            "object_key": expired,
            "reason": "Spor",
            "until": "2020-01-01 00:00:00",
        },
        headers=dpo,
    )
    assert client.delete(f"/api/v6/contacts/{expired}.json", headers=admin).status_code == 204

    # Released, the erasure goes through.
    assert client.delete("/api/v6/legalHolds/spor-2026-17.json", headers=dpo).status_code == 204
    r = client.post(f"/api/v6/contacts/{subject.contact}/erasure.json", json={}, headers=dpo)
    assert r.status_code == 202
    assert wait_done(client, r.json()["result"]["name"], dpo)["state"] == "done"
    assert client.get(f"/api/v6/contacts/{subject.contact}.json", headers=admin).status_code == 404
    actions = {
        e["action"]
        for e in client.get("/api/v6/auditLog.json?take=1000", headers=dpo).json()["result"]["data"]
    }
    assert {"privacy.hold.create", "privacy.hold.delete"} <= actions


# --- the DPO right ----------------------------------------------------------------------------------
def test_dpo_deletes_one_recording_or_conversation(client: TestClient, tenant: Any, app: Any) -> None:
    subject = build(client, tenant.h())
    call, email, chat = subject.activities["CALL"], subject.activities["EMAIL"], subject.activities["CHAT"]
    admin, dpo = tenant.h(), tenant.h("dpo")
    assert client.delete(f"/api/v6/activitiesCall/{call}/recording.json", headers=admin).status_code == 403
    assert client.delete(f"/api/v6/activitiesEmail/{email}/content.json", headers=admin).status_code == 403
    with app.state.session_factory() as s:
        blobs_before = s.execute(
            text("SELECT count(*) FROM blobs WHERE wrapped_key IS NOT NULL")
        ).scalar_one()

    assert client.delete(f"/api/v6/activitiesCall/{call}/recording.json", headers=dpo).status_code == 204
    assert client.get(f"/file/recording/{call}", headers=admin).status_code == 404
    item = client.get(f"/api/v6/activitiesCall/{call}.json", headers=admin).json()["result"]
    assert item["recording"] is None and item["direction"] == "in"
    assert (
        client.get(f"/api/v6/activitiesCall/{call}/transcripts.json", headers=admin).json()["result"]["total"]
        == 0
    )
    assert client.delete(f"/api/v6/activitiesCall/{call}/recording.json", headers=dpo).status_code == 404

    assert client.delete(f"/api/v6/activitiesEmail/{email}/content.json", headers=dpo).status_code == 204
    mail = client.get(f"/api/v6/activitiesEmail/{email}.json", headers=admin).json()["result"]
    assert mail["text"] is None and mail["html"] is None and mail["title"] is None and mail["headers"] == {}
    activity = client.get(f"/api/v6/activities/{email}.json", headers=admin).json()["result"]
    assert activity["anonymized"] is True and activity["queue"]["name"] == "300"
    assert (
        client.get(f"/api/v6/activities/{email}/attachments.json", headers=admin).json()["result"]["total"]
        == 0
    )

    assert client.delete(f"/api/v6/activitiesWeb/{chat}/content.json", headers=dpo).status_code == 204
    web = client.get(f"/api/v6/activitiesWeb/{chat}.json", headers=admin).json()["result"]
    assert web["email"] is None and web["ipaddress"] is None
    with app.state.session_factory() as s:
        blobs_after = s.execute(text("SELECT count(*) FROM blobs WHERE wrapped_key IS NOT NULL")).scalar_one()
        stones = {(t.record_key, t.action) for t in s.scalars(select(Tombstone))}
    assert blobs_after == blobs_before - 2  # the recording and the e-mail's attachment, shredded
    assert {(call, "dpo"), (email, "dpo"), (chat, "dpo")} <= stones
    actions = [
        e["action"]
        for e in client.get("/api/v6/auditLog.json?take=1000", headers=dpo).json()["result"]["data"]
    ]
    assert "privacy.recording.delete" in actions and actions.count("privacy.communication.delete") == 2


# --- plain deletes ----------------------------------------------------------------------------------
def test_plain_delete_leaves_tombstones_and_shreds(client: TestClient, tenant: Any, app: Any) -> None:
    subject = build(client, tenant.h())
    admin = tenant.h()
    ticket = subject.tickets[0]
    with app.state.session_factory() as s:
        live = s.execute(text("SELECT count(*) FROM blobs WHERE wrapped_key IS NOT NULL")).scalar_one()
    assert client.delete(f"/api/v6/tickets/{ticket}.json", headers=admin).status_code == 204
    assert (
        client.delete(f"/api/v6/campaignsRecords/{subject.records[0]}.json", headers=admin).status_code == 204
    )
    assert client.delete(f"/api/v6/contacts/{subject.contact}.json", headers=admin).status_code == 204
    with app.state.session_factory() as s:
        stones = s.scalars(select(Tombstone)).all()
        assert {(t.record_type, t.record_key, t.action) for t in stones} == {
            ("tickets", str(ticket), "delete"),
            ("campaignsRecords", subject.records[0], "delete"),
            ("contacts", subject.contact, "delete"),
        }
        assert all(t.request_id for t in stones)
        remaining = s.execute(text("SELECT count(*) FROM blobs WHERE wrapped_key IS NOT NULL")).scalar_one()
    assert remaining == live - 1  # the ticket's attachment
    # A plain delete keeps the calls (they lose the link); erasure is what anonymizes them.
    activity = client.get(f"/api/v6/activities/{subject.activities['CALL']}.json", headers=admin).json()[
        "result"
    ]
    assert activity["contact"] is None and activity["anonymized"] is False


# --- subjects ---------------------------------------------------------------------------------------
def test_subjects_finds_every_record_of_a_person(client: TestClient, tenant: Any) -> None:
    subject = build(client, tenant.h())
    dpo = tenant.h("dpo")
    by_phone = client.post("/api/v6/subjects.json", json={"phone": "00420603123456"}, headers=dpo).json()
    groups = by_phone["result"]["data"]
    assert set(groups["activitiesCall"]["keys"]) == {subject.activities["CALL"], subject.unlinked_call}
    assert groups["activitiesSms"]["keys"] == [subject.activities["SMS"]]
    assert groups["activitiesWeb"]["keys"] == [subject.activities["CHAT"]]
    assert groups["activitiesWap"]["keys"] == [subject.activities["WAP"]]  # WhatsApp: her number
    assert groups["campaignsRecords"]["keys"] == subject.records
    assert groups["crmRecords"]["keys"] == subject.crm_records  # by the phone field of its form
    assert groups["contacts"]["keys"] == [subject.contact]
    by_email = client.post("/api/v6/subjects.json", json={"email": EMAIL.upper()}, headers=dpo).json()
    assert set(by_email["result"]["data"]) == {
        "activitiesEmail",
        "activitiesWeb",
        "contacts",
        "tickets",
        "activitiesMessages",  # the chat's
        "attachments",  # the e-mail's and the ticket's
    }
    by_name = client.post("/api/v6/subjects.json", json={"name": f"{FIRST} {LAST}"}, headers=dpo).json()
    assert by_name["result"]["data"]["contacts"]["keys"] == [subject.contact]
    assert by_name["result"]["data"]["activitiesWeb"]["count"] == 1
    # The call whose caller the PBX named, and the profile names of the messaging conversations.
    for endpoint in ("activitiesCall", "activitiesFbm", "activitiesWap", "activitiesIgdm", "activitiesVbr"):
        assert by_name["result"]["data"][endpoint]["count"] == 1, endpoint  # the profile's name
    by_social = client.post("/api/v6/subjects.json", json={"social": "psid-zlatohlavkova-77"}, headers=dpo)
    assert by_social.json()["result"]["data"]["activitiesFbm"]["keys"] == [subject.activities["FBM"]]
    for social, endpoint, code in ((INSTAGRAM, "activitiesIgdm", "IGDM"), (VIBER, "activitiesVbr", "VBR")):
        found = client.post("/api/v6/subjects.json", json={"social": social}, headers=dpo).json()["result"]
        assert found["data"][endpoint]["keys"] == [subject.activities[code]]
    by_ip = client.post("/api/v6/subjects.json", json={"ip": "198.51.100.77"}, headers=dpo)
    assert by_ip.json()["result"]["data"]["activitiesWeb"]["count"] == 1
    by_contact = client.post("/api/v6/subjects.json", json={"contact": subject.contact}, headers=dpo).json()
    everything = by_contact["result"]["data"]
    assert everything["activities"]["count"] == 9 and everything["activitiesCall"]["keys"] == [
        subject.unlinked_call
    ]
    assert everything["tickets"]["keys"] == [str(subject.tickets[0])]
    assert (
        everything["activitiesMessages"]["count"] == 6
        and everything["activitiesCallTranscripts"]["count"] == 1
    )
    assert everything["attachments"]["count"] == 2  # the e-mail's and the ticket's

    assert client.post("/api/v6/subjects.json", json={}, headers=dpo).status_code == 400
    assert client.post("/api/v6/subjects.json", json={"phone": 603123456}, headers=dpo).status_code == 400
    assert client.post("/api/v6/subjects.json", json={"nick": "x"}, headers=dpo).status_code == 400
    bad = client.post("/api/v6/subjects.json", json={"phone": "12"}, headers=dpo)
    assert bad.status_code == 400 and "phone" in bad.json()["error"]["form"]
    assert (
        client.post("/api/v6/subjects.json", json={"phone": "603123456"}, headers=tenant.h()).status_code
        == 403
    )
    entries = client.get("/api/v6/auditLog.json?take=1000", headers=dpo).json()["result"]["data"]
    searches = [e for e in entries if e["action"] == "privacy.subjects.search"]
    assert len(searches) == 8
    assert not any(
        n in str(searches) for n in (LAST, EMAIL, EMAIL.upper(), "603123456", "+420603123456", "198.51")
    )


def test_a_file_name_in_another_persons_record_loses_the_name(client: TestClient, tenant: Any) -> None:
    """A file name joins its words with underscores, hyphens and dots, where a word boundary does
    not see a name: "Faktura_Řezníček_2026.pdf" kept the surname after Bohuslav Řezníček's erasure."""
    h = tenant.h()
    client.post("/api/v6/ticketsCategories.json", json={"name": "fakt", "title": "Fakturace"}, headers=h)
    person = client.post(
        "/api/v6/contacts.json",
        json={"firstname": "Bohuslav", "lastname": "Řezníček", "database": "main"},
        headers=h,
    ).json()["result"]["name"]
    neighbours = client.post(
        "/api/v6/tickets.json", json={"title": "Faktury za říjen", "category": "fakt"}, headers=h
    ).json()["result"]["name"]
    for filename in ("Faktura_Řezníček_2026.pdf", "smlouva-Řezníčka-2026.pdf", "Bohuslav.Řezníček.jpg"):
        r = client.post(
            f"/api/v6/tickets/{neighbours}/attachments.json",
            files={"file": (filename, b"%PDF-1.4", "application/pdf")},
            headers=h,
        )
        assert r.status_code == 201, r.text
    r = client.delete(f"/api/v6/contacts/{person}.json?anonymize=1", headers=tenant.h("dpo"))
    assert r.status_code == 204, r.text
    names = sorted(
        a["title"]
        for a in client.get(f"/api/v6/tickets/{neighbours}/attachments.json", headers=h).json()["result"][
            "data"
        ]
    )
    assert names == ["Faktura_[name]_2026.pdf", "[name].jpg", "smlouva-[name]-2026.pdf"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_compacted_table_keeps_its_visibility_map(client: TestClient, tenant: Any, app: Any) -> None:
    """The compaction's VACUUM FULL writes a table's files anew without their visibility map; a
    count by an index reads the table until one is made, and autovacuum makes none for a table
    without dead rows. The compaction makes it: every page of the rewritten table is all-visible."""
    from sqlalchemy import text

    from hovor.privacy import compaction

    h = tenant.h()
    for i in range(300):
        body = {"lastname": f"Nováková {i}", "database": "main"}
        r = client.post("/api/v6/contacts.json", json=body, headers=h)
        assert r.status_code == 201, r.text
    engine = app.state.engine
    compaction.vacuum(engine, ["crm_contacts"])
    with engine.connect() as conn:
        pages, visible = conn.execute(
            text("SELECT relpages, relallvisible FROM pg_class WHERE oid = 'crm_contacts'::regclass")
        ).one()
    assert pages > 1 and visible == pages, (pages, visible)
