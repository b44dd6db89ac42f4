"""An erasure killed (SIGKILL-like ``os._exit``) at every step ends, after a restart, in the same state
as an uninterrupted one: same rows, same tombstones, same blobs, same audit entries, same counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from conftest import CREATED, PG_BASE, _dsn, make_tenant, migrated_url, needs_postgres
from erasure_data import build
from hovor.app import create_app
from hovor.audit.models import AuditEntry
from hovor.core.config import Settings
from hovor.jobs.models import Job
from hovor.privacy.models import Tombstone

# Every step's end (the step's work committed, its done-mark not yet), the first committed chunk of
# the chunked steps, and the blob reaper's own points inside the shred step.
KILL_POINTS = [
    "erasure.plan",
    "erasure.mentions.chunk",
    "erasure.mentions",
    "erasure.anonymize.chunk",
    "erasure.anonymize",
    "erasure.contact",
    "blob.after_key",
    "blob.after_object",
    "erasure.shred",
    "erasure.compact",
    "erasure.certificate",
]
TABLES = [
    "activities",
    "activity_calls",
    "activity_emails",
    "activity_webs",
    "activity_sms",
    "activity_fbm",
    "call_recordings",
    "call_transcripts",
    "messages",
    "attachments",
    "tickets",
    "campaign_records",
    "crm_contacts",
    "crm_accounts",
    "identifiers",
]
VOLATILE = {"edited"}  # stamped with the time of the change


def _copy(backend: str, template_url: str, template_dir: Path, dest: Path, n: int) -> tuple[str, Path]:
    data_dir = dest / f"data{n}"
    shutil.copytree(template_dir, data_dir)
    if backend == "sqlite":
        db = dest / f"copy{n}.db"
        shutil.copyfile(make_url(template_url).database or "", db)
        return f"sqlite:///{db}", data_dir
    assert PG_BASE is not None
    name = f"{make_url(template_url).database}_k{n}"
    with psycopg.connect(_dsn(PG_BASE), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template_url).database}"')
    CREATED.append(name)
    return make_url(template_url).set(database=name).render_as_string(hide_password=False), data_dir


def _run_jobs(url: str, data_dir: Path, fault: str | None = None) -> int:
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATABASE_URL": url,
        "HOVOR_DATA_DIR": str(data_dir),
        "HOVOR_JOB_LEASE_SECONDS": "0.5",
        "HOVOR_ERASURE_COMPACT_DELAY_SECONDS": "0",
    }
    env.pop("HOVOR_FAULT_POINT", None)
    if fault:
        env["HOVOR_FAULT_POINT"] = fault
    proc = subprocess.run(
        [sys.executable, "-m", "hovor", "jobs", "run"], env=env, capture_output=True, timeout=120, check=False
    )
    if proc.returncode not in (0, 137):
        raise AssertionError(proc.stderr.decode()[-3000:])
    return proc.returncode


def _snapshot(url: str, data_dir: Path) -> dict[str, Any]:
    engine = create_engine(url)
    out: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            for table in TABLES:
                columns = [c["name"] for c in inspect(conn).get_columns(table) if c["name"] not in VOLATILE]
                rows = conn.execute(
                    text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{table}"')
                )
                out[table] = sorted(repr(tuple(r)) for r in rows)
            out["tombstones"] = sorted(
                repr((t.record_type, t.record_key, t.action, t.fields, t.job))
                for t in conn.execute(select(Tombstone.__table__))
            )
            out["blobs"] = sorted(
                repr((b.name, b.wrapped_key is None))
                for b in conn.execute(text("SELECT name, wrapped_key FROM blobs"))
            )
            out["audit"] = sorted(
                repr((a.action, a.object_type, a.object_key, a.details))
                for a in conn.execute(select(AuditEntry.__table__)).mappings()
            )
            job = conn.execute(select(Job.__table__).where(Job.kind == "erasure")).mappings().one()
            certificate = dict(job["result"]["certificate"])
            progress = dict(job["progress"])
            for volatile in ("started", "finished", "compaction"):  # times, and a job's random name
                certificate.pop(volatile)
                progress.pop(volatile, None)
            out["job"] = (job["state"], progress, certificate)
            compactions = conn.execute(select(Job.__table__).where(Job.kind == "compact")).mappings().all()
            out["compactions"] = [(c["state"], c["params"]) for c in compactions]
    finally:
        engine.dispose()
    out["blob_files"] = sorted(p.name for p in (data_dir / "blobs").rglob("*") if p.is_file())
    return out


@pytest.mark.parametrize("backend_", ["sqlite", "postgres"])
def test_erasure_killed_at_every_step_ends_like_an_uninterrupted_one(backend_: str, tmp_path: Path) -> None:
    if backend_ == "postgres":
        needs_postgres()
    template_url = migrated_url(backend_, tmp_path, "_killtmpl")
    template_dir = tmp_path / "template"
    settings = Settings(
        environment="test", database_url=template_url, data_dir=template_dir, auth_cache_seconds=0
    )
    app = create_app(settings)
    client = TestClient(app)  # no lifespan: no worker; the job waits for the runs below
    tenant = make_tenant(app, "acme")
    subject = build(client, tenant.h())
    r = client.post(
        f"/api/v6/contacts/{subject.contact}/erasure.json",
        json={"include": {"activitiesCall": [subject.unlinked_call]}},
        headers=tenant.h("dpo"),
    )
    assert r.status_code == 202, r.text
    if backend_ == "sqlite":
        with app.state.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    app.state.engine.dispose()

    url, data_dir = _copy(backend_, template_url, template_dir, tmp_path, 0)
    assert _run_jobs(url, data_dir) == 0
    reference = _snapshot(url, data_dir)
    assert reference["job"][0] == "done"
    assert reference["crm_contacts"] and all("Zlatohl" not in row for row in reference["crm_contacts"])

    # On PostgreSQL the tables are rewritten by a compaction job of their own; it can die too.
    points = [*KILL_POINTS, "compact.vacuum"] if backend_ == "postgres" else KILL_POINTS
    for n, point in enumerate(points, start=1):
        url, data_dir = _copy(backend_, template_url, template_dir, tmp_path, n)
        assert _run_jobs(url, data_dir, point) == 137, f"{point} was never reached"
        time.sleep(0.6)  # the dead worker's lease runs out
        assert _run_jobs(url, data_dir) == 0
        assert _snapshot(url, data_dir) == reference, point
