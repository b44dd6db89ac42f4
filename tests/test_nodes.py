"""Two hovor nodes — two processes with data directories of their own, as on two machines — on one
PostgreSQL, one S3-compatible blob store (moto) and one Redis: writes through both, a recording
uploaded through one and played through the other, a client banned by one refused by the other,
every job run exactly once, and the audit chain intact (docs/operations.md, "More than one node")."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PG_BASE, make_tenant, migrated_url, needs_postgres
from hovor.activities.audio import synth_wav
from hovor.app import create_app
from hovor.core.config import Settings

HERE = Path(__file__).parent
PROXY = "127.0.0.9"
REDIS_URL = "redis://127.0.0.1:6379/13"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    base: str
    proc: subprocess.Popen[bytes]

    def call(self, method: str, path: str, source: str = "127.0.0.1", **kw: Any) -> httpx.Response:
        headers = {**kw.pop("headers", {}), "X-Forwarded-For": source}
        transport = httpx.HTTPTransport(local_address=PROXY)
        with httpx.Client(transport=transport, base_url=self.base, timeout=30) as client:
            return client.request(method, path, headers=headers, **kw)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[Node], Any]]:
    needs_postgres()
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    bucket = f"hovor-{uuid.uuid4().hex[:12]}"
    shared = {
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATABASE_URL": migrated_url("postgres", tmp_path, "_nodes"),
        "HOVOR_BLOB_STORE_URL": f"s3://{bucket}/blobs",
        "HOVOR_FIREWALL_REDIS_URL": REDIS_URL,
        "HOVOR_FIREWALL_REDIS_PREFIX": f"hovor-test:{uuid.uuid4().hex}",
        "HOVOR_FIREWALL_SYNC_SECONDS": "0.2",
        "HOVOR_TRUSTED_PROXIES": PROXY,
        "HOVOR_SECRET_KEY": "nodes-secret",
        "HOVOR_AUTH_CACHE_SECONDS": "0",
        "HOVOR_JOB_POLL_SECONDS": "0.1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=shared["AWS_ENDPOINT_URL"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="eu-central-1",
    ).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    # The keys every node holds a copy of: the master key and the audit signing key.
    keys = tmp_path / "keys"
    keys.mkdir()
    saved = {k: os.environ.get(k) for k in shared}
    os.environ.update(shared)
    settings = Settings(
        data_dir=tmp_path / "setup",
        master_key_file=keys / "master.key",
        audit_signing_key_file=keys / "audit-signing.key",
    )
    app = create_app(settings)  # makes the keys, and the tenant with its users and tokens
    tenant = make_tenant(app, "acme")
    app.state.engine.dispose()
    nodes, procs = [], []
    try:
        for i in range(2):
            env = {
                **os.environ,
                **shared,
                "HOVOR_DATA_DIR": str(tmp_path / f"node{i}"),
                "HOVOR_MASTER_KEY_FILE": str(tmp_path / f"node{i}-master.key"),
                "HOVOR_AUDIT_SIGNING_KEY_FILE": str(tmp_path / f"node{i}-audit.key"),
            }
            shutil.copy(keys / "master.key", env["HOVOR_MASTER_KEY_FILE"])
            shutil.copy(keys / "audit-signing.key", env["HOVOR_AUDIT_SIGNING_KEY_FILE"])
            port_i = _port()
            proc = subprocess.Popen(
                [
                    *(
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "served_app:create",
                        "--factory",
                        "--app-dir",
                        str(HERE),
                    ),
                    *("--port", str(port_i), "--no-access-log"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            nodes.append(Node(f"http://127.0.0.1:{port_i}", proc))
        deadline = time.monotonic() + 30
        for node in nodes:
            while True:
                try:
                    node.call("GET", "/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        output = (node.proc.stdout.read() if node.proc.stdout else b"").decode()
                        pytest.fail("a node did not start: " + output[-3000:])
                    time.sleep(0.1)
        yield nodes, tenant
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        moto.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_two_nodes_share_one_database_one_store_and_one_firewall(cluster: Any) -> None:
    (a, b), tenant = cluster
    h = tenant.h()
    dpo = tenant.h("dpo")
    # Writes through both.
    made = []
    for i in range(10):
        node = (a, b)[i % 2]
        r = node.call(
            "POST", "/api/v6/contacts.json", json={"lastname": f"Uzel{i}", "database": "main"}, headers=h
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["result"]["name"])
    listed = b.call("GET", "/api/v6/contacts.json?take=100", headers=h).json()["result"]
    assert set(made) <= {c["name"] for c in listed["data"]}

    # A recording uploaded through one node plays through the other (the blob store is shared).
    assert (
        a.call(
            "POST", "/api/v6/queues.json", json={"name": "100", "title": "In", "type": "in"}, headers=h
        ).status_code
        == 201
    )
    call = a.call("POST", "/api/v6/activitiesCall.json", json={"queue": "100", "direction": "in"}, headers=h)
    name = call.json()["result"]["name"]
    wav = synth_wav(0.4, seed=3)
    up = a.call(
        "POST",
        f"/api/v6/activitiesCall/{name}/recording.json",
        content=wav,
        headers={**h, "content-type": "audio/wav"},
    )
    assert up.status_code == 201, up.text
    played = b.call("GET", f"/file/recording/{name}", headers=h)
    assert played.status_code == 200 and played.content == wav

    # Jobs: exports asked through both nodes, each built exactly once by whichever node took it.
    exports = []
    for i, node in enumerate((a, b, a, b)):
        r = node.call("POST", "/api/v6/subjectExports.json", json={"contact": made[i]}, headers=dpo)
        assert r.status_code == 201, r.text
        exports.append(r.json()["result"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [
            a.call("GET", f"/api/v6/subjectExports/{e['name']}.json", headers=dpo).json()["result"]["state"]
            for e in exports
        ]
        if all(s == "ready" for s in states):
            break
        time.sleep(0.2)
    assert states == ["ready"] * 4
    for export in exports:
        job = b.call("GET", f"/api/v6/jobs/{export['job']}.json", headers=dpo).json()["result"]
        assert job["state"] == "done" and job["attempts"] == 1
    log = a.call(
        "GET",
        "/api/v6/auditLog.json?take=1000&filter[field]=action&filter[value]=privacy.export.ready",
        headers=tenant.h("auditor"),
    ).json()["result"]
    assert sorted(e["object_key"] for e in log["data"]) == sorted(e["name"] for e in exports)

    # A client banned by one node is refused by the other.
    hostile = "198.51.100.23"
    for _ in range(6):
        a.call(
            "POST",
            "/api/v6/login.json",
            source=hostile,
            json={"username": f"x{uuid.uuid4().hex[:6]}", "password": "wrong"},
        )
    deadline = time.monotonic() + 10
    refused = None
    while time.monotonic() < deadline:
        refused = b.call("GET", "/api/v6/whoim.json", source=hostile, headers=h)
        if refused.status_code == 403:
            break
        time.sleep(0.2)
    assert refused is not None and refused.status_code == 403 and "retry-after" in refused.headers

    # The audit chain both nodes wrote is one, and it verifies.
    verified = b.call(
        "GET",
        "/api/v6/auditLog/verify.json",
        headers=tenant.h("auditor"),
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["result"]["ok"] is True


def test_nodes_starting_together_migrate_once(tmp_path: Path) -> None:
    needs_postgres()
    import psycopg
    from sqlalchemy.engine import make_url

    from conftest import CREATED, _dsn

    name = f"hovor_test_together_{os.getpid()}"
    with psycopg.connect(_dsn(PG_BASE), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    CREATED.append(name)
    url = make_url(PG_BASE).set(database=name).render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hovor", "db", "upgrade"],
            env={**os.environ, "HOVOR_DATABASE_URL": url, "HOVOR_DATA_DIR": str(tmp_path / f"n{i}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        heads = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(heads) == 1
