"""Contract end, end to end on both databases: a demo-like tenant exported to the controller's age
key (the package decrypts, its manifest verifies, its JSON Lines read back record for record as the
API gives them), then purged on a second operator's approval (nothing of the tenant left in the
database files, the WAL or the blob store; the other tenant untouched; the certificate verifies and
fails once a byte changes)."""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pyrage
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import data, make_tenant
from erasure_data import EMAIL, LAST, build
from hovor.audit.log import PLATFORM
from hovor.audit.models import AuditEntry
from hovor.auth import totp
from hovor.cli import app as cli
from hovor.core.config import Settings
from hovor.core.db import Base
from hovor.privacy.contract.verify import check_package, open_package
from test_erasure import _blob_files, _database_files, _found, _relations, fresh  # noqa: F401
from test_platform import make_staff, staff_login

OTHER_NAME, OTHER_PHONE = "Bohuslava Krkavcová", "+420 777 888 999"
# Resources compared record for record with what the API lists.
COMPARED = ("contacts", "tickets", "activities", "activitiesCall", "activitiesEmail", "users", "queues")


def _staff(client: TestClient, app: Any, name: str) -> dict[str, str]:
    secret = make_staff(app, name)
    assert secret is not None
    return {"X-AUTH-TOKEN": data(staff_login(client, name, totp.code_now(secret)))["accessToken"]}


def _until(client: TestClient, staff: dict[str, str], tenant: str, state: str) -> dict[str, Any]:
    """The contract end once it reached ``state`` and its job has finished too: the job's last
    step sets the state, and the job is marked done in a transaction of its own just after."""
    deadline = time.monotonic() + 120
    while True:
        shown = data(client.get(f"/api/v6/platform/contractEnds/{tenant}.json", headers=staff))
        jobs = [shown[job] or {} for job in ("exportJob", "purgeJob")]
        failed = any(job.get("state") == "failed" for job in jobs)
        settled = all(job.get("state") in (None, "done", "failed") for job in jobs)
        if (shown["state"] == state and settled) or failed or time.monotonic() > deadline:
            return dict(shown)
        time.sleep(0.1)


def _listed(client: TestClient, h: dict[str, str], endpoint: str) -> dict[str, Any]:
    body = data(client.get(f"/api/v6/{endpoint}.json", params={"take": 1000}, headers=h))
    return {str(row["name"]): row for row in body["data"]}


def _other_tenant(client: TestClient, app: Any) -> tuple[Any, str, int]:
    other = make_tenant(app, "other")
    h = other.h()
    data(client.post("/api/v6/ticketsCategories.json", json={"name": "obec", "title": "Obecné"}, headers=h))
    contact = data(
        client.post(
            "/api/v6/contacts.json",
            json={
                "firstname": "Bohuslava",
                "lastname": "Krkavcová",
                "database": "main",
                "description": OTHER_PHONE,
            },
            headers=h,
        )
    )["name"]
    ticket = data(
        client.post(
            "/api/v6/tickets.json", json={"title": "Dotaz", "category": "obec", "contact": contact}, headers=h
        )
    )["name"]
    return other, contact, ticket


def _read_back(archive: zipfile.ZipFile, client: TestClient, h: dict[str, str]) -> None:
    """Every compared resource's JSON Lines equal the API's list, record for record."""
    for endpoint in COMPARED:
        lines = archive.read(f"data/{endpoint}.jsonl").splitlines()
        exported = {str(row["name"]): row for row in map(orjson.loads, lines)}
        assert exported == _listed(client, h, endpoint), endpoint
        assert exported, endpoint
    assert b"password" not in archive.read("data/users.jsonl").lower()
    assert b"totp" not in archive.read("data/users.jsonl").lower()


def _audit_chain(archive: zipfile.ZipFile) -> None:
    entries = [orjson.loads(line) for line in archive.read("audit/entries.jsonl").splitlines()]
    assert len(entries) > 10
    for before, after in itertools.pairwise(entries):
        assert after["prev_hash"] == before["hash"]
    checkpoints = [orjson.loads(line) for line in archive.read("audit/checkpoints.jsonl").splitlines()]
    assert checkpoints and checkpoints[-1]["hash"] == entries[-1]["hash"]  # the head is signed
    assert checkpoints[-1]["public_key"] == archive.read("audit/public-key.txt").decode().strip()


def _nothing_of(app: Any, tenant: str) -> dict[str, int]:
    with app.state.engine.connect() as conn:
        left = {
            t.name: conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant)).scalar()
            for t in Base.metadata.sorted_tables
            if "tenant_id" in t.c and t.name != "contract_ends"
        }
        tenants = Base.metadata.tables["tenants"]
        left["tenants"] = conn.execute(
            select(func.count()).select_from(tenants).where(tenants.c.id == tenant)
        ).scalar()
    return {k: v for k, v in left.items() if v}


def test_contract_end_exports_then_purges(
    fresh: tuple[Any, TestClient, Settings],  # noqa: F811
    backend: str,
    tmp_path: Path,
) -> None:
    app, client, settings = fresh
    acme = make_tenant(app, "acme")
    subject = build(client, acme.h())
    other, other_contact, other_ticket = _other_tenant(client, app)
    eva, adam = _staff(client, app, "eva"), _staff(client, app, "adam")
    identity = pyrage.x25519.Identity.generate()
    target = tmp_path / "out" / "acme.zip.age"

    # A tenant's token cannot start it; the platform operator can.
    body = {"tenant": "acme", "recipient": str(identity.to_public()), "destination": str(target)}
    assert client.post("/api/v6/platform/contractEnds.json", json=body, headers=acme.h()).status_code == 403
    r = client.post("/api/v6/platform/contractEnds.json", json=body, headers=eva)
    assert r.status_code == 202, r.text
    shown = _until(client, eva, "acme", "exported")
    assert shown["exportJob"]["state"] == "done", shown
    assert hashlib.sha256(target.read_bytes()).hexdigest() == shown["packageSha256"]
    assert not target.with_name(target.name + ".partial").exists()
    assert LAST.encode() not in target.read_bytes()  # encrypted

    # The controller decrypts it; the manifest verifies (signature, every file's digest).
    assert check_package(target, identity) == []
    assert check_package(target, pyrage.x25519.Identity.generate()) != []  # not for anyone else
    archive = open_package(target, identity)
    signed = orjson.loads(archive.read("manifest.json"))
    assert signed["keyId"] and set(signed["manifest"]["files"]) == set(archive.namelist()) - {"manifest.json"}
    _read_back(archive, client, acme.h())
    assert orjson.loads(archive.read("tenant.json"))["id"] == "acme"
    names = archive.namelist()
    assert f"files/recordings/{subject.calls[0]}.wav" in names
    assert any(n.startswith("files/attachments/") for n in names)
    eml = archive.read(f"files/emails/{subject.activities['EMAIL']}.eml")
    assert EMAIL.encode() in eml
    recording = client.get(f"/file/recording/{subject.calls[0]}", headers=acme.h()).content
    assert archive.read(f"files/recordings/{subject.calls[0]}.wav") == recording
    _audit_chain(archive)
    assert "other" not in {
        orjson.loads(line)["tenant"] for line in archive.read("audit/entries.jsonl").splitlines()
    }

    before = _found(_database_files(app, backend, settings))
    assert {LAST, EMAIL} <= set(before), before  # the search sees the data it looks for

    # Four eyes: not the operator who started it; not before receipt (or the grace period).
    purge = "/api/v6/platform/contractEnds/acme/purge.json"
    assert client.post(purge, json={}, headers=eva).status_code == 403
    assert client.post(purge, json={}, headers=adam).status_code == 409
    assert (
        client.post("/api/v6/platform/contractEnds/acme/received.json", json={}, headers=eva).status_code
        == 200
    )
    assert client.post(purge, json={}, headers=eva).status_code == 403
    r = client.post(purge, json={}, headers=adam)
    assert r.status_code == 202, r.text
    shown = _until(client, adam, "acme", "purged")
    assert shown["state"] == "purged", shown

    # Nothing of the tenant is left: no row, no byte in the database files, WAL or blob store.
    assert _nothing_of(app, "acme") == {}
    after = _found(_database_files(app, backend, settings) + _blob_files(settings))
    assert after == {}, (after, _relations(app, backend, after))
    assert client.get("/api/v6/contacts.json", headers=acme.h()).status_code == 401

    # The other tenant reads as before.
    assert (
        data(client.get(f"/api/v6/contacts/{other_contact}.json", headers=other.h()))["lastname"]
        == "Krkavcová"
    )
    assert data(client.get(f"/api/v6/tickets/{other_ticket}.json", headers=other.h()))["title"] == "Dotaz"

    # The certificate: counts per table, no personal data, signed; one changed byte breaks it.
    signed_cert = shown["certificate"]
    cert = signed_cert["certificate"]
    assert cert["tenant"] == "acme" and cert["approvedBy"] == "adam" and cert["startedBy"] == "eva"
    assert cert["rowsDeleted"]["crm_contacts"] >= 1 and cert["rowsDeleted"]["tenants"] == 1
    assert cert["blobsShredded"] >= 2 and cert["export"]["sha256"] == shown["packageSha256"]
    assert LAST not in orjson.dumps(signed_cert).decode()
    path = tmp_path / "certificate.json"
    path.write_bytes(orjson.dumps(signed_cert))
    runner = CliRunner()
    ok = runner.invoke(cli, ["tenant", "certificate", "verify", str(path)])
    assert ok.exit_code == 0, ok.output
    raw = bytearray(path.read_bytes())
    at = raw.index(b'"tenants":1') + len(b'"tenants":')
    raw[at] = ord("2")
    path.write_bytes(bytes(raw))
    assert runner.invoke(cli, ["tenant", "certificate", "verify", str(path)]).exit_code == 1
    with app.state.session_factory() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == PLATFORM)))
    assert {"platform.contract.export", "platform.contract.approve", "platform.contract.purged"} <= set(
        actions
    )


def test_the_package_goes_to_an_s3_bucket(
    fresh: tuple[Any, TestClient, Settings],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    app, client, settings = fresh
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for key, value in {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "eu-central-1",
        }.items():
            monkeypatch.setenv(key, value)
        s3 = boto3.client("s3")
        bucket = f"handover-{uuid.uuid4().hex[:10]}"  # moto keeps buckets per process
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        acme = make_tenant(app, "acme")
        contact = data(
            client.post(
                "/api/v6/contacts.json",
                json={"firstname": "Bohuslava", "lastname": "Krkavcová", "database": "main"},
                headers=acme.h(),
            )
        )["name"]
        eva = _staff(client, app, "eva")
        identity = pyrage.x25519.Identity.generate()
        body = {
            "tenant": "acme",
            "recipient": str(identity.to_public()),
            "destination": f"s3://{bucket}/acme/p.age",
        }
        assert client.post("/api/v6/platform/contractEnds.json", json=body, headers=eva).status_code == 202
        shown = _until(client, eva, "acme", "exported")
        assert shown["state"] == "exported", shown
        package = tmp_path / "p.age"
        package.write_bytes(s3.get_object(Bucket=bucket, Key="acme/p.age")["Body"].read())
        assert hashlib.sha256(package.read_bytes()).hexdigest() == shown["packageSha256"]
        assert check_package(package, identity) == []
        rows = open_package(package, identity).read("data/contacts.jsonl").splitlines()
        assert [orjson.loads(line)["name"] for line in rows] == [contact]
        assert not list(Path(settings.data_dir).glob("contract-*.partial"))  # the local copy is gone
    finally:
        server.stop()
