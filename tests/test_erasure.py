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
from erasure_data import EMAIL, FIRST, LAST, NEEDLES, build
from hovor.app import create_app
from hovor.config import Settings
from hovor.privacy.erasure import verify_certificate
from hovor.privacy.models import Tombstone


def _settings(url: str, data_dir: Path, **kw: Any) -> Settings:
    return Settings(environment="test", database_url=url, data_dir=data_dir, auth_cache_seconds=0, **kw)


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient, Settings]]:
    """An app on a database of its own: the byte search must see only this test's files."""
    url = migrated_url(backend, tmp_path, "_erasure")
    settings = _settings(url, tmp_path / "data")
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


def _database_files(app: Any, backend: str, settings: Settings) -> list[Path]:
    return _sqlite_files(settings) if backend == "sqlite" else _pg_files(app)


def test_residue_after_erasure(fresh: tuple[Any, TestClient, Settings], backend: str) -> None:
    app, client, settings = fresh
    tenant = make_tenant(app, "acme")
    subject = build(client, tenant.h())
    before = _found(_database_files(app, backend, settings))
    assert {LAST, EMAIL, "603123456"} <= set(before), before  # the search sees the data it looks for

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
    assert [m["key"]["name"] for m in preview["mentions"]] == [str(subject.neighbour_ticket)]

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

    # Nothing of her is left in the database files, the WAL, or the blob store.
    after = _found(_database_files(app, backend, settings) + _blob_files(settings))
    assert after == {}, after

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
    assert body["records"]["activities"] == 7  # five channels, the ticket's comment, the included call
    assert body["records"]["contacts"] == 1 and body["blobsShredded"] == 3
    assert body["fieldsCleared"]["activity_calls.clid"] == 2
    assert body["mentionsRedacted"] == {"tickets.description": 1, "tickets.title": 1}
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
