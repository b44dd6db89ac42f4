"""Access and portability exports (GDPR Art. 15, 20): the residue test's person exported through a
subject request, the package read back (JSON of every record the resolver found, the report in
Czech and English rendered by Chromium, the original recording byte for byte, a neighbour and the
operators taken out), downloads audited, and the package unreadable once its key is destroyed."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_tenant, migrated_url
from erasure_data import EMAIL, FIRST, LAST, build
from hovor.app import create_app
from hovor.audit.models import AuditEntry
from hovor.core.config import Settings
from hovor.core.db import unit_of_work
from hovor.files.models import Blob
from hovor.files.service import Unreadable
from hovor.privacy.exports import expire
from hovor.privacy.models import SubjectExport
from test_erasure import wait_done

ARTIFACTS = Path(
    os.environ.get("HOVOR_TEST_ARTIFACTS", Path(__file__).parent.parent / "var" / "test-artifacts")
)
NEIGHBOUR_NOTE = "Soused pan Bohumil Vrba volal z čísla 777 111 222, psal z vrba.bohumil@example.com."


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    url = migrated_url(backend, tmp_path, "_export")
    settings = Settings(
        environment="test", database_url=url, data_dir=tmp_path / "data", auth_cache_seconds=0
    )
    app = create_app(settings)
    with TestClient(app) as client:  # the lifespan runs the in-process job worker
        yield app, client
    app.state.engine.dispose()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["result"]


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
    return found


def _render(report: Path, name: str) -> str:
    """The report as Chromium renders it: a screenshot in the test artifacts, and the DOM."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed here (CI installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={report.parent / 'chromium'}",
    ]
    shot = ARTIFACTS / f"{name}.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a page was drawn, not an empty frame
    dom = subprocess.run(
        [*flags, "--dump-dom", report.as_uri()], capture_output=True, timeout=120, check=True
    ).stdout.decode()
    return dom


def test_the_residue_tests_person_exported_end_to_end(
    fresh: tuple[Any, TestClient], backend: str, tmp_path: Path
) -> None:
    app, client = fresh
    tenant = make_tenant(app, "acme")
    subject = build(client, tenant.h())
    admin, dpo = tenant.h(), tenant.h("dpo")
    ticket = subject.tickets[0]
    _ok(
        client.post(
            "/api/v6/activities.json", json={"description": NEIGHBOUR_NOTE, "ticket": ticket}, headers=admin
        ),
        201,
    )
    # The neighbour in the title of a call with her, and in the name of a file on her ticket.
    call_body = {
        "queue": "100",
        "direction": "out",
        "contact": subject.contact,
        "title": "Volat kvůli Bohumil Vrba",
    }
    _ok(client.post("/api/v6/activitiesCall.json", json=call_body, headers=admin), 201)
    neighbour_file = {"file": ("Vrba-reklamace.txt", b"obsah", "text/plain")}
    uploaded = client.post(f"/api/v6/tickets/{ticket}/attachments.json", files=neighbour_file, headers=admin)
    assert uploaded.status_code == 201, uploaded.text
    # A field hidden from operators is still hers.
    hidden = {"name": "risk", "title": "Riziko", "object_type": "contacts", "type": "text", "hidden": True}
    _ok(client.post("/api/v6/formFields.json", json=hidden, headers=admin), 201)
    risk = {"customFields": {"risk": ["nízké"]}}
    consent = {"contact": subject.contact, "purpose": "marketing", "channel": "sms", "state": "given"}
    _ok(client.post("/api/v6/consentEvents.json", json=consent, headers=admin), 201)
    _ok(client.put(f"/api/v6/contacts/{subject.contact}.json", json=risk, headers=admin))

    # The request, registered, verified and extended.
    request = _ok(
        client.post(
            "/api/v6/subjectRequests.json",
            json={"kind": "access", "received_via": "email", "contact": subject.contact, "email": EMAIL},
            headers=dpo,
        ),
        201,
    )
    url = f"/api/v6/subjectRequests/{request['name']}"
    unverified = client.post("/api/v6/subjectExports.json", json={"request": request["name"]}, headers=dpo)
    assert unverified.status_code == 409  # nothing is executed before the identity is checked
    _ok(client.post(f"{url}/verify.json", json={"method": "id_document"}, headers=dpo))
    told = dt.datetime.now(dt.UTC).isoformat()
    _ok(
        client.post(
            f"{url}/extend.json", json={"months": 1, "reason": "Many records", "told": told}, headers=dpo
        )
    )

    # The export: a job, whose progress the job shows.
    operator = client.post(
        "/api/v6/subjectExports.json", json={"request": request["name"]}, headers=tenant.h("operator")
    )
    assert operator.status_code == 403
    export = _ok(
        client.post(
            "/api/v6/subjectExports.json", json={"request": request["name"], "include": "all"}, headers=dpo
        ),
        201,
    )
    assert export["state"] == "building" and export["contact"] == subject.contact
    job = wait_done(client, export["job"], dpo)
    assert job["state"] == "done", job
    assert job["progress"]["exported"]["records"] > 20
    export = _ok(client.get(f"/api/v6/subjectExports/{export['name']}.json", headers=dpo))
    assert export["state"] == "ready" and export["download"] == f"/file/exports/{export['name']}"
    walked = _ok(client.get(f"{url}.json", headers=dpo))
    assert walked["state"] == "in_progress" and walked["export"] == export["name"]

    package = client.get(export["download"], headers=dpo)
    assert package.status_code == 200, package.text
    assert package.headers["content-type"] == "application/zip"
    assert len(package.content) == export["size"]
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    names = set(archive.namelist())
    assert {"report.cs.html", "report.en.html", "manifest.json", "data/contacts.json"} <= names
    wire = {n[5:-5]: json.loads(archive.read(n)) for n in names if n.startswith("data/")}

    # Every record the resolver finds for her is in the JSON, in the v6 wire shape.
    found = _ok(
        client.post(
            "/api/v6/subjects.json",
            json={"contact": subject.contact, "phone": "603123456", "email": EMAIL},
            headers=dpo,
        )
    )["data"]
    for group, hits in found.items():
        if group in ("accounts",):
            continue
        exported = {str(row["name"]) for row in wire[group]}
        assert set(hits["keys"]) <= exported, (group, set(hits["keys"]) - exported)
    contact = wire["contacts"][0]
    assert contact["firstname"] == FIRST and contact["lastname"] == LAST  # her own data, in clear
    assert contact["customFields"].get("risk") == ["nízké"], contact["customFields"]
    assert [e["purpose"] for e in wire["consentEvents"]] == ["marketing"]  # her ledger
    assert EMAIL in json.dumps(wire["activitiesEmail"], ensure_ascii=False)
    assert subject.unlinked_call in {row["name"] for row in wire["activitiesCall"]}  # included by the DPO

    # The original recording, byte for byte.
    call = subject.activities["CALL"]
    original = client.get(f"/file/recording/{call}?download=1", headers=admin)
    assert archive.read(f"files/recordings/{call}.wav") == original.content
    assert any(n.startswith("files/attachments/") for n in names)
    mail = email.message_from_bytes(
        archive.read(f"files/emails/{subject.activities['EMAIL']}.eml"), policy=email.policy.default
    )
    assert mail["Subject"] == f"Reklamace: {FIRST} {LAST}" and mail["From"].addresses[0].addr_spec == EMAIL
    body = mail.get_body(("plain",))
    assert body is not None and body.get_content().startswith(f"Jsem {FIRST} {LAST}")

    # Other people are taken out (Art. 15(4)): the neighbour in her ticket, and the operators.
    everything = "\n".join(
        [json.dumps(wire, ensure_ascii=False), archive.read("report.cs.html").decode(), *names]
    )
    for needle in ("Vrba", "Bohumil", "777 111 222", "vrba.bohumil@example.com"):
        assert needle not in everything, needle
    note = next(r for r in wire["activities"] if "Soused" in (r.get("description") or ""))
    assert note["description"] == "Soused pan [name] volal z čísla [phone], psal z [e-mail]."
    assert {row["created_by"] for row in wire["tickets"]} == {"operator"}
    assert {row["id_agent"]["name"] for row in wire["activitiesCall"] if row.get("id_agent")} <= {"operator"}
    assert "acme-admin" not in everything

    # The report renders in Chromium, in both languages.
    for language, heading in (
        ("cs", "Osobní údaje, které o vás zpracováváme"),
        ("en", "Personal data we hold about you"),
    ):
        page = tmp_path / f"report.{language}.html"
        page.write_bytes(archive.read(f"report.{language}.html"))
        dom = _render(page, f"export-report-{backend}-{language}")
        assert heading in dom
        assert dom.count("<tr>") >= 8  # the summary: a row per kind of record
        assert LAST in dom

    # The request is answered; each download was audited.
    _ok(client.post(f"{url}/answer.json", json={"outcome": "Export sent by e-mail"}, headers=dpo))
    with app.state.session_factory() as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_key == export["name"])
                .order_by(AuditEntry.name)
            )
        )
    assert actions == ["privacy.export.create", "privacy.export.ready", "privacy.export.download"]

    # At its end the package's key is destroyed: no copy of it can be read any more.
    with unit_of_work(app.state.session_factory) as session:
        expired = expire(session, app.state.files, dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert expired == [("acme", export["name"])]
    assert client.get(export["download"], headers=dpo).status_code == 404
    with app.state.session_factory() as session:
        row = session.get(SubjectExport, ("acme", export["name"]))
        assert row is not None and row.state == "expired"
        blob = session.get(Blob, ("acme", row.blob))
        assert blob is None or blob.wrapped_key is None
        if blob is not None:
            with pytest.raises(Unreadable):
                list(app.state.files.read(session, blob))


def test_an_export_is_refused_what_it_cannot_answer(client: TestClient, tenant: Any, app: Any) -> None:
    dpo = tenant.h("dpo")
    contact = _ok(
        client.post(
            "/api/v6/contacts.json", json={"lastname": "Malá", "database": "main"}, headers=tenant.h()
        ),
        201,
    )
    erasure = _ok(
        client.post(
            "/api/v6/subjectRequests.json",
            json={"kind": "erasure", "received_via": "letter", "contact": contact["name"]},
            headers=dpo,
        ),
        201,
    )
    wrong = client.post("/api/v6/subjectExports.json", json={"request": erasure["name"]}, headers=dpo)
    assert wrong.status_code == 400 and "request" in wrong.json()["error"]["form"]
    missing = client.post("/api/v6/subjectExports.json", json={"contact": "nobody"}, headers=dpo)
    assert missing.status_code == 400 and "contact" in missing.json()["error"]["form"]
    too_long = client.post(
        "/api/v6/subjectExports.json", json={"contact": contact["name"], "days": 90}, headers=dpo
    )
    assert too_long.status_code == 400
    with app.state.session_factory() as session:
        assert session.scalars(select(SubjectExport)).all() == []  # nothing half-made


def test_an_export_killed_while_sealing_is_built_again(tmp_path: Path) -> None:
    url = migrated_url("sqlite", tmp_path, "_kill")
    data_dir = tmp_path / "data"
    settings = Settings(
        environment="test", database_url=url, data_dir=data_dir, auth_cache_seconds=0, jobs_in_process=False
    )
    app = create_app(settings)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        subject = build(client, tenant.h())
        export = _ok(
            client.post(
                "/api/v6/subjectExports.json", json={"contact": subject.contact}, headers=tenant.h("dpo")
            ),
            201,
        )
    app.state.engine.dispose()
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATABASE_URL": url,
        "HOVOR_DATA_DIR": str(data_dir),
        "HOVOR_JOB_LEASE_SECONDS": "0.5",
    }
    before = {p.name for p in (data_dir / "blobs").rglob("*") if p.is_file()}
    killed = subprocess.run(
        [sys.executable, "-m", "hovor", "jobs", "run"],
        env={**env, "HOVOR_FAULT_POINT": "export.sealed"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]
    left = {p.name for p in (data_dir / "blobs").rglob("*") if p.is_file()} - before
    assert len(left) == 1  # the package the killed run had stored
    done = subprocess.run(
        [sys.executable, "-m", "hovor", "jobs", "run"], env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    app = create_app(settings)
    with TestClient(app) as client:
        after = _ok(client.get(f"/api/v6/subjectExports/{export['name']}.json", headers=tenant.h("dpo")))
        assert after["state"] == "ready"
        package = client.get(after["download"], headers=tenant.h("dpo"))
        assert zipfile.ZipFile(io.BytesIO(package.content)).testzip() is None
        # The killed run's object is gone; the rebuilt package is another.
        with app.state.session_factory() as session:
            row = session.get(SubjectExport, ("acme", export["name"]))
            assert row is not None and row.blob is not None and row.partial is None
            blob = session.get(Blob, ("acme", row.blob))
            assert blob is not None and blob.store_key not in left
            packages = session.scalars(select(Blob.name).where(Blob.mime == "application/zip")).all()
            assert packages == [row.blob]
        now = {p.name for p in (data_dir / "blobs").rglob("*") if p.is_file()}
        assert now - before == {blob.store_key}
    app.state.engine.dispose()


def test_erasing_the_person_shreds_her_exports(fresh: tuple[Any, TestClient]) -> None:
    app, client = fresh
    tenant = make_tenant(app, "acme")
    admin, dpo = tenant.h(), tenant.h("dpo")
    contact = _ok(
        client.post(
            "/api/v6/contacts.json",
            json={"firstname": FIRST, "lastname": LAST, "database": "main"},
            headers=admin,
        ),
        201,
    )["name"]
    export = _ok(client.post("/api/v6/subjectExports.json", json={"contact": contact}, headers=dpo), 201)
    assert wait_done(client, export["job"], dpo)["state"] == "done"
    download = f"/file/exports/{export['name']}"
    assert client.get(download, headers=dpo).status_code == 200
    erasure = _ok(client.post(f"/api/v6/contacts/{contact}/erasure.json", json={}, headers=dpo), 202)
    assert wait_done(client, erasure["name"], dpo)["state"] == "done"
    after = _ok(client.get(f"/api/v6/subjectExports/{export['name']}.json", headers=dpo))
    assert after["state"] == "expired" and after["contact"] is None
    assert client.get(download, headers=dpo).status_code == 404
    with app.state.session_factory() as session:
        row = session.get(SubjectExport, ("acme", export["name"]))
        assert row is not None and row.blob is not None
        blob = session.get(Blob, ("acme", row.blob))
        assert blob is None or blob.wrapped_key is None
