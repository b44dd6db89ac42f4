"""Recording retention with a fake clock: the tenant's ceiling, each queue's own retention, legal
holds, who may change what, the preview, the sweep as a job, and a sweep killed ten times."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from conftest import _truncate, make_tenant, migrated_url
from hovor.activities.audio import synth_wav
from hovor.app import create_app
from hovor.core.config import Settings
from hovor.core.db import unit_of_work
from hovor.jobs import service as jobs
from hovor.privacy import retention
from hovor.tenancy.service import set_recordings_ceiling

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
WAV = synth_wav(0.2)


@pytest.fixture
def quiet(app: Any, engine: Engine) -> Iterator[tuple[TestClient, Any, jobs.Env]]:
    _truncate(engine)
    client = TestClient(app)  # no lifespan: no worker, no scheduler; the test sweeps
    tenant = make_tenant(app, "acme")
    h = tenant.h()
    client.post(
        "/api/v6/queues.json",
        json={"name": "100", "title": "Short", "type": "in", "options": {"recordings_retention": 30}},
        headers=h,
    )
    client.post(
        "/api/v6/queues.json",
        json={"name": "200", "title": "Ceiling", "type": "in", "options": {"recordings_retention": 0}},
        headers=h,
    )
    yield client, tenant, jobs.env_of(app.state)


def _call(
    client: TestClient, h: dict[str, str], queue: str | None, age: dt.timedelta, now: dt.datetime = NOW
) -> str:
    body: dict[str, Any] = {"direction": "in", "clid": "603 123 456", "time": (now - age).isoformat()}
    if queue:
        body["queue"] = queue
    name = str(client.post("/api/v6/activitiesCall.json", json=body, headers=h).json()["result"]["name"])
    r = client.post(
        f"/api/v6/activitiesCall/{name}/recording.json",
        content=WAV,
        headers={**h, "content-type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    client.post(
        "/api/v6/activitiesCallTranscripts.json",
        json={"activity": name, "start": 0, "end": 1, "speaker": "customer", "text": "haló"},
        headers=h,
    )
    return name


def _has_recording(client: TestClient, h: dict[str, str], call: str) -> bool:
    item = client.get(f"/api/v6/activitiesCall/{call}.json", headers=h).json()["result"]
    assert item is not None, "the call itself always stays"
    return item["recording"] is not None


def test_queue_retention_ceiling_and_holds(quiet: Any, app: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    inside = _call(client, h, "100", 30 * day - hour)
    outside = _call(client, h, "100", 30 * day + hour)
    held = _call(client, h, "100", 40 * day)
    ceiling_inside = _call(client, h, "200", 365 * day - hour)  # queue 0 follows the ceiling (365)
    ceiling_outside = _call(client, h, "200", 365 * day + hour)
    no_queue_outside = _call(client, h, None, 366 * day)
    r = client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "activities", "object_key": held, "reason": "Spor 12"},
        headers=tenant.h("dpo"),
    )
    assert r.status_code == 201

    with env.factory() as s:
        plan = retention.preview(s, "acme", NOW)
    by_queue = {q["queue"]: q for q in plan["queues"]}
    assert plan["count"] == 3 and by_queue["100"]["count"] == 1 and by_queue["200"]["days"] == 365
    assert by_queue[None]["count"] == 1

    assert retention.sweep(env.factory, env.files, "acme", NOW) == 3
    assert retention.sweep(env.factory, env.files, "acme", NOW) == 0  # nothing left: idempotent
    env.files.reap(env.factory)
    assert _has_recording(client, h, inside) and _has_recording(client, h, held)
    assert _has_recording(client, h, ceiling_inside)
    for gone in (outside, ceiling_outside, no_queue_outside):
        assert not _has_recording(client, h, gone)
        transcript = client.get(f"/api/v6/activitiesCall/{gone}/transcripts.json", headers=h).json()
        assert transcript["result"]["total"] == 0
    kept = client.get(f"/api/v6/activitiesCall/{inside}/transcripts.json", headers=h).json()
    assert kept["result"]["total"] == 1
    with env.factory() as s:
        stones = set(s.execute(text("SELECT record_key, action FROM tombstones")).all())
        live_blobs = s.execute(text("SELECT count(*) FROM blobs")).scalar_one()
    assert stones == {(outside, "retention"), (ceiling_outside, "retention"), (no_queue_outside, "retention")}
    assert live_blobs == 3  # the other three were shredded and reaped
    entries = client.get("/api/v6/auditLog.json", headers=tenant.h("dpo")).json()["result"]["data"]
    chunk = next(e for e in entries if e["action"] == "privacy.retention.chunk")
    assert chunk["details"]["records"] == 3 and chunk["details"]["policy"] == "recordings"

    # The platform operator lowers the ceiling: the queue that follows it follows at once, and a
    # queue that kept recordings longer than the new ceiling keeps them for the ceiling.
    with unit_of_work(env.factory) as s:
        set_recordings_ceiling(s, "acme", 20, retention.ACTOR)
    assert retention.sweep(env.factory, env.files, "acme", NOW) == 2  # inside (30 d - 1 h) and ceiling_inside
    assert _has_recording(client, h, held)


def test_queue_above_the_ceiling_is_refused_and_tenant_users_cannot_move_it(quiet: Any) -> None:
    client, tenant, _ = quiet
    h = tenant.h()
    r = client.put("/api/v6/queues/100.json", json={"options": {"recordings_retention": 400}}, headers=h)
    assert r.status_code == 400 and "options.recordings_retention" in r.json()["error"]["form"]
    r = client.post(
        "/api/v6/queues.json",
        json={"name": "300", "title": "Long", "type": "in", "options": {"recordings_retention": 366}},
        headers=h,
    )
    assert r.status_code == 400
    assert client.get("/api/v6/queues/300.json", headers=h).status_code == 404
    assert (
        client.get("/api/v6/queues/100.json", headers=h).json()["result"]["options"]["recordings_retention"]
        == 30
    )
    for role in ("admin", "dpo"):
        r = client.put(
            "/api/v6/tenant.json", json={"recordings_retention_days": 3650}, headers=tenant.h(role)
        )
        assert r.status_code == 403, r.text
    assert client.get("/api/v6/tenant.json", headers=h).json()["result"]["recordings_retention_days"] == 365


def test_the_sweep_runs_as_a_job_and_the_preview_is_served(quiet: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    with unit_of_work(env.factory) as s:
        assert retention.schedule_sweeps(s, env.settings) == []  # nothing expired yet: no job
    old = _call(client, h, "100", dt.timedelta(days=400), dt.datetime.now(dt.UTC))
    preview = client.get("/api/v6/retentionPolicies/preview.json", headers=h).json()["result"]["data"][0]
    assert preview["count"] == 1
    assert (
        client.get("/api/v6/retentionPolicies/preview.json", headers=tenant.h("operator")).status_code == 403
    )
    with unit_of_work(env.factory) as s:
        assert len(retention.schedule_sweeps(s, env.settings)) == 1
        assert retention.schedule_sweeps(s, env.settings) == []  # one waiting sweep per tenant
    assert jobs.run_pending(env) == 1
    assert not _has_recording(client, h, old)


# --- killed ten times -------------------------------------------------------------------------------
def _run(url: str, data: Path, fault: str | None) -> int:
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATABASE_URL": url,
        "HOVOR_DATA_DIR": str(data),
        "HOVOR_JOB_LEASE_SECONDS": "0.3",
        "HOVOR_RETENTION_CHUNK": "1",
        "HOVOR_ERASURE_COMPACT_DELAY_SECONDS": "0",
    }
    env.pop("HOVOR_FAULT_POINT", None)
    if fault:
        env["HOVOR_FAULT_POINT"] = fault
    proc = subprocess.run(
        [sys.executable, "-m", "hovor", "jobs", "run"], env=env, capture_output=True, timeout=120, check=False
    )
    assert proc.returncode in (0, 137), proc.stderr.decode()[-3000:]
    return proc.returncode


def _state(url: str, data: Path) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {
                "recordings": sorted(conn.execute(text("SELECT name, blob FROM call_recordings")).all()),
                "transcripts": sorted(conn.execute(text("SELECT name FROM call_transcripts")).all()),
                "activities": sorted(
                    conn.execute(text("SELECT name, type, anonymized FROM activities")).all()
                ),
                "webs": sorted(conn.execute(text("SELECT name, email, ipaddress FROM activity_webs")).all()),
                "messages": sorted(conn.execute(text("SELECT name FROM messages")).all()),
                "tombstones": sorted(conn.execute(text("SELECT record_key, action FROM tombstones")).all()),
                "blobs": sorted(conn.execute(text("SELECT name FROM blobs")).all()),
                "swept": sum(
                    json.loads(details)["records"]
                    for (details,) in conn.execute(
                        text("SELECT details FROM audit_entries WHERE action = 'privacy.retention.chunk'")
                    )
                ),
                "job": conn.execute(text("SELECT state FROM jobs WHERE kind = 'retention'")).scalar_one(),
            }
    finally:
        engine.dispose()
    out["files"] = sorted(p.name for p in (data / "blobs").rglob("*") if p.is_file())
    return out


def test_a_sweep_killed_ten_times_ends_like_one_that_was_not(tmp_path: Path) -> None:
    url = migrated_url("sqlite", tmp_path, "_ret")
    template = tmp_path / "template"
    app = create_app(Settings(environment="test", database_url=url, data_dir=template, auth_cache_seconds=0))
    client = TestClient(app)
    tenant = make_tenant(app, "acme")
    h = tenant.h()
    client.post(
        "/api/v6/queues.json",
        json={"name": "100", "title": "Q", "type": "in", "options": {"recordings_retention": 30}},
        headers=h,
    )
    real_now = dt.datetime.now(dt.UTC)
    for i in range(27):
        _call(client, h, "100", dt.timedelta(days=31 + i if i < 24 else 1), real_now)
    # And the other policies: e-mails deleted after 30 days, web chats anonymized after 30 days.
    for name, kind in (("300", "email"), ("400", "chat")):
        client.post("/api/v6/queues.json", json={"name": name, "title": name, "type": kind}, headers=h)
    for i in range(8):
        when = (real_now - dt.timedelta(days=40 if i < 6 else 5)).isoformat()
        body = {"queue": "300", "direction": "in", "address": "a@example.cz", "title": "Dotaz", "time": when}
        assert client.post("/api/v6/activitiesEmail.json", json=body, headers=h).status_code == 201
        chat = client.post(
            "/api/v6/activitiesWeb.json",
            json={"queue": "400", "email": "b@example.cz", "ipaddress": "198.51.100.9", "time": when},
            headers=h,
        ).json()["result"]["name"]
        client.post(
            "/api/v6/activitiesMessages.json",
            json={"activity": chat, "direction": "IN", "text": "Dobrý den"},
            headers=h,
        )
    for name, action in (("activitiesEmail", "delete"), ("activitiesWeb", "anonymize")):
        r = client.post(
            "/api/v6/retentionPolicies.json",
            json={"name": name, "days": 30, "action": action},
            headers=tenant.h("dpo"),
        )
        assert r.status_code == 201, r.text
    with unit_of_work(app.state.session_factory) as s:
        retention.schedule_sweeps(s, app.state.settings)
    with app.state.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    app.state.engine.dispose()

    def copy(n: int) -> tuple[str, Path]:
        data = tmp_path / f"data{n}"
        shutil.copytree(template, data)
        db = tmp_path / f"copy{n}.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), db)
        return f"sqlite:///{db}", data

    ref_url, ref_data = copy(0)
    assert _run(ref_url, ref_data, None) == 0
    reference = _state(ref_url, ref_data)
    assert (
        reference["job"] == "done" and reference["swept"] == 24 + 6 + 6 and len(reference["recordings"]) == 3
    )
    assert sum(1 for _, kind, _ in reference["activities"] if kind == "EMAIL") == 2
    assert sum(1 for _, kind, anonymized in reference["activities"] if kind == "CHAT" and anonymized) == 6
    assert len(reference["messages"]) == 2

    # Five kills at random chunks of the recordings' sweep (one recording per chunk here), two
    # inside the shredding of their files, three in the other policies' chunks: ten deaths, each
    # followed by a restart that takes the job over.
    rnd = random.Random(7)
    points = [f"retention.recordings.chunk@{rnd.randint(1, 2)}" for _ in range(3)]
    points += ["blob.after_key", "blob.after_object"]
    points += [f"retention.recordings.chunk@{rnd.randint(1, 2)}" for _ in range(2)]
    points += [f"retention.policies.chunk@{rnd.randint(1, 3)}" for _ in range(3)]
    url2, data2 = copy(1)
    for point in points:
        assert _run(url2, data2, point) == 137, point
        time.sleep(0.35)  # the dead worker's lease runs out
    assert _run(url2, data2, None) == 0
    assert _state(url2, data2) == reference


def test_the_cutoff_is_utc_whatever_the_database_session_zone(quiet: Any, app: Any, backend: str) -> None:
    """Half an hour either side of a queue's retention, swept over connections in New York time."""
    from sqlalchemy import event

    from hovor.core.db import make_engine, make_session_factory

    client, tenant, env = quiet
    h = tenant.h()
    day, half = dt.timedelta(days=1), dt.timedelta(minutes=30)
    inside = _call(client, h, "100", 30 * day - half)
    outside = _call(client, h, "100", 30 * day + half)
    engine = make_engine(str(app.state.engine.url.render_as_string(hide_password=False)))
    if backend == "postgres":
        event.listen(engine, "connect", lambda conn, _: conn.execute("SET TIME ZONE 'America/New_York'"))
    try:
        assert retention.sweep(make_session_factory(engine), env.files, "acme", NOW) == 1
    finally:
        engine.dispose()
    assert _has_recording(client, h, inside) and not _has_recording(client, h, outside)


def test_a_tenant_without_a_ceiling_keeps_what_no_queue_limits(quiet: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    with unit_of_work(env.factory) as s:
        s.execute(text("UPDATE tenants SET recordings_retention_days = NULL WHERE id = 'acme'"))
    old_in_200 = _call(client, h, "200", dt.timedelta(days=3000))  # queue 200 follows the (absent) ceiling
    old_in_100 = _call(client, h, "100", dt.timedelta(days=31))  # queue 100 keeps 30 days
    assert retention.sweep(env.factory, env.files, "acme", NOW) == 1
    assert _has_recording(client, h, old_in_200) and not _has_recording(client, h, old_in_100)
    # Its queues may then keep recordings as long as they like, up to the platform's maximum.
    r = client.put("/api/v6/queues/200.json", json={"options": {"recordings_retention": 3000}}, headers=h)
    assert r.status_code == 200, r.text
    # A PUT of the tenant that repeats the ceiling as it stands is not a change.
    tenant_now = client.get("/api/v6/tenant.json", headers=h).json()["result"]
    r = client.put(
        "/api/v6/tenant.json", json={"title": "ACME", "recordings_retention_days": None}, headers=h
    )
    assert r.status_code == 200 and tenant_now["recordings_retention_days"] is None


def test_a_sweep_that_anonymizes_activities_compacts_what_goes_with_them() -> None:
    """A contact's or a ticket's sweep anonymizes their activities, and with each activity its
    channel item, messages and transcript: on PostgreSQL those tables are rewritten too, or the
    old row versions (and their index entries) would stay in the files."""
    for policy in ("contacts", "tickets"):
        tables = set(retention.touched_tables({"policies": {policy: 1}}))
        assert {"activities", "activity_emails", "messages", "call_transcripts", "activity_calls"} <= tables
    assert "messages" not in retention.touched_tables({"policies": {"pausesTaken": 1}})
