"""Backups that never resurrect an erased person: a backup taken, then a person erased, a ticket
deleted and a recording swept by retention; the backup restored (from the second destination,
the first lost) with the restore ledger replayed; a byte search of the restored database and blob
store finds none of her values, the deleted ticket and the swept recording stay gone, and every
audit chain verifies. On PostgreSQL the database is restored by copying it (what pgBackRest gives
back) and the ledger replayed with ``replay_into``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from conftest import CREATED, PG_BASE, _dsn, make_tenant, migrated_url, needs_postgres
from erasure_data import NEEDLES, build
from hovor.activities.audio import synth_wav
from hovor.app import create_app
from hovor.audit.chain import verify_tenant
from hovor.audit.keys import signing_key
from hovor.backup import ledger, service
from hovor.backup.destinations import declared
from hovor.backup.replay import replay
from hovor.core.config import Settings
from hovor.core.db import make_engine, make_session_factory, utcnow
from hovor.files import crypto
from hovor.privacy import retention
from test_erasure import wait_done

TICKET_TEXT = "Zásilka ZK-4471-PLZ dorazila poškozená"  # a deleted ticket's words


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["result"]


def _settings(url: str, data_dir: Path, places: list[dict[str, str]], **kw: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=url,
        data_dir=data_dir,
        auth_cache_seconds=0,
        erasure_compact_delay_seconds=0,
        backup_destinations=json.dumps(places),
        **kw,
    )


def _found(paths: list[Path], needles: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in paths:
        content = path.read_bytes()
        for needle in needles:
            if any(form.encode() in content for form in {needle, needle.lower()}):
                hits.setdefault(needle, []).append(path.name)
    return hits


def _after_the_backup(client: TestClient, tenant: Any, subject: Any, ticket: int, app: Any) -> None:
    """Her erasure, a plain delete of a ticket, a recording swept by retention."""
    dpo = tenant.h("dpo")
    include = {"include": {"activitiesCall": [subject.unlinked_call]}}  # her call nobody linked to her
    erased = client.post(f"/api/v6/contacts/{subject.contact}/erasure.json", json=include, headers=dpo)
    assert erased.status_code == 202, erased.text
    assert wait_done(client, erased.json()["result"]["name"], dpo)["state"] == "done"
    assert client.delete(f"/api/v6/tickets/{ticket}.json", headers=tenant.h()).status_code == 204
    swept = retention.sweep(
        app.state.session_factory, app.state.files, "acme", utcnow() + dt.timedelta(days=3)
    )
    assert swept >= 1


def _before_the_backup(client: TestClient, tenant: Any) -> tuple[Any, int, str]:
    h = tenant.h()
    subject = build(client, h)
    ticket = _ok(
        client.post("/api/v6/tickets.json", json={"title": TICKET_TEXT, "category": "rekl"}, headers=h), 201
    )["name"]
    # A queue whose recordings are kept one day, and a call recorded in it.
    _ok(
        client.post(
            "/api/v6/queues.json",
            json={"name": "110", "title": "Krátké", "type": "in", "options": {"recordings_retention": 1}},
            headers=h,
        ),
        201,
    )
    call = _ok(
        client.post("/api/v6/activitiesCall.json", json={"queue": "110", "direction": "in"}, headers=h), 201
    )
    uploaded = client.post(
        f"/api/v6/activitiesCall/{call['name']}/recording.json",
        content=synth_wav(0.3, seed=7),
        headers={**h, "content-type": "audio/wav"},
    )
    assert uploaded.status_code == 201, uploaded.text
    return subject, ticket, call["name"]


def _check_restored(url: str, settings: Settings, ticket: int, call: str) -> None:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            from hovor.activities.models import Recording
            from hovor.crm.models import Contact
            from hovor.helpdesk.models import Ticket

            assert session.get(Ticket, ("acme", ticket)) is None  # the deleted ticket stays deleted
            assert session.get(Recording, ("acme", call)) is None  # the swept recording too
            assert session.query(Contact).filter(Contact.lastname == "Vrba").count() == 1  # others stay
            report = verify_tenant(session, "acme", [signing_key(settings).public_key()])
            assert report.ok, vars(report) if hasattr(report, "__dict__") else report
    finally:
        engine.dispose()


def test_a_restored_sqlite_backup_brings_back_no_one(tmp_path: Path) -> None:
    places = [
        {"name": "prague", "url": (tmp_path / "prague").as_uri(), "location": "Prague, CZ"},
        {"name": "frankfurt", "url": (tmp_path / "frankfurt").as_uri(), "location": "Frankfurt, DE"},
    ]
    url = migrated_url("sqlite", tmp_path, "_live")
    live = _settings(url, tmp_path / "live", places)
    app = create_app(live)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        subject, ticket, call = _before_the_backup(client, tenant)
        destinations = declared(live)
        manifest = service.take(live, app.state.session_factory, app.state.files, destinations)
        assert [m["id"] for m in service.listed(destinations[1])] == [manifest["id"]]
        _after_the_backup(client, tenant, subject, ticket, app)
        assert ledger.ship(app.state.session_factory, live.data_dir, destinations) > 0
    app.state.engine.dispose()
    master = crypto.load_master_key(live.resolved_master_key_file, create=False)

    # A destination that holds no ledger is refused unless the operator says why.
    bare = tmp_path / "bare"
    shutil.copytree(tmp_path / "frankfurt" / "backups", bare / "backups")
    shutil.copytree(tmp_path / "frankfurt" / "blobs", bare / "blobs")
    bare_place = {"name": "bare", "url": bare.as_uri(), "location": "Brno, CZ"}
    refused = _settings("", tmp_path / "refused", [bare_place], master_key_file=live.resolved_master_key_file)
    with pytest.raises(service.BackupError, match="no restore ledger"):
        service.restore(refused, declared(refused)[0], master)
    assert not (refused.data_dir / "hovor.db").exists()

    # Prague is lost; Frankfurt has everything.
    shutil.rmtree(tmp_path / "prague")
    restored = _settings(
        "", tmp_path / "restored", [places[1]], master_key_file=live.resolved_master_key_file
    )
    done = service.restore(restored, declared(restored)[0], master)
    assert done["backup"] == manifest["id"] and done["replayed"] > 0
    assert done["outcomes"].get("redacted", 0) >= 1  # the neighbour's ticket, redacted again
    # Her activities were anonymized and kept (their statistics stay); her contact and the ticket
    # were deleted: the ledger told the two apart, and the replay did each again.
    assert done["outcomes"].get("anonymized", 0) >= 5 and done["outcomes"].get("deleted", 0) >= 2
    assert not (restored.data_dir / service.MARKER).exists()
    db = Path(make_url(restored.resolved_database_url).database or "")
    files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
    blobs = [p for p in (restored.data_dir / "blobs").rglob("*") if p.is_file()]
    assert _found(files + blobs, [*NEEDLES, TICKET_TEXT]) == {}
    # Her recordings' and attachments' objects are gone with their keys: what is left is what lives.
    assert done["blobs"] >= 3  # her recording and attachments, and the swept recording, came back…
    assert {p.name for p in blobs} == _live_objects(restored.resolved_database_url)  # …and went again
    _check_restored(restored.resolved_database_url, restored, ticket, call)
    # The restored directory serves; its audit log says it was restored.
    app = create_app(restored)
    with TestClient(app) as client:
        # The backup holds the users and their tokens as they were.
        log = _ok(client.get("/api/v6/auditLog.json", headers=tenant.h()))
    app.state.engine.dispose()
    assert any(e["action"] == "platform.backup.restore" for e in log["data"])


def _live_objects(url: str) -> set[str]:
    from sqlalchemy import select

    from hovor.files.models import Blob

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return set(session.scalars(select(Blob.store_key).where(Blob.wrapped_key.is_not(None))))
    finally:
        engine.dispose()


def test_a_half_restored_directory_does_not_serve(tmp_path: Path) -> None:
    url = migrated_url("sqlite", tmp_path, "_half")
    settings = _settings(url, tmp_path / "half", [])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / service.MARKER).write_text("restoring\n")
    app = create_app(settings)
    with pytest.raises(RuntimeError, match="restore"), TestClient(app):
        pass
    app.state.engine.dispose()


def test_the_ledger_replays_into_a_postgresql_restore(tmp_path: Path) -> None:
    needs_postgres()
    places = [{"name": "prague", "url": (tmp_path / "prague").as_uri(), "location": "Prague, CZ"}]
    url = migrated_url("postgres", tmp_path, "_bk")
    live = _settings(url, tmp_path / "live", places)
    app = create_app(live)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        subject, ticket, call = _before_the_backup(client, tenant)
        ledger.ship(app.state.session_factory, live.data_dir, declared(live))
    app.state.engine.dispose()
    # The backup: the database as it is now (what pgBackRest restores), and the blob store.
    backed_up = utcnow()
    copy = f"{make_url(url).database}_copy"
    with psycopg.connect(_dsn(PG_BASE), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{make_url(url).database}"')
    CREATED.append(copy)
    shutil.copytree(live.data_dir / "blobs", tmp_path / "restored" / "blobs")
    app = create_app(live)
    with TestClient(app) as client:
        _after_the_backup(client, tenant, subject, ticket, app)
        ledger.ship(app.state.session_factory, live.data_dir, declared(live))
    app.state.engine.dispose()

    copy_url = make_url(url).set(database=copy).render_as_string(hide_password=False)
    restored = _settings(
        copy_url, tmp_path / "restored", places, master_key_file=live.resolved_master_key_file
    )
    counts = service.replay_into(restored, declared(restored)[0], backed_up)
    assert counts.get("anonymized", 0) + counts.get("deleted", 0) > 5 and counts.get("redacted", 0) >= 1
    engine = make_engine(copy_url)
    try:
        from test_erasure import _pg_files

        class Holder:
            state = type("S", (), {"engine": engine})

        hits = _found(_pg_files(Holder), [*NEEDLES, TICKET_TEXT])
    finally:
        engine.dispose()
    blobs = [p for p in (restored.data_dir / "blobs").rglob("*") if p.is_file()]
    assert _found(blobs, NEEDLES) == {} and hits == {}, hits
    _check_restored(copy_url, restored, ticket, call)


def test_the_commands_back_up_list_and_drill(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = migrated_url("sqlite", tmp_path, "_cli")
    places = [{"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"}]
    app = create_app(_settings(url, tmp_path / "cli", places))
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        build(client, tenant.h())
    app.state.engine.dispose()
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATABASE_URL": url,
        "HOVOR_DATA_DIR": str(tmp_path / "cli"),
        "HOVOR_BACKUP_DESTINATIONS": json.dumps(places),
    }

    def hovor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hovor", "backup", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    made = hovor("run")
    assert made.returncode == 0, made.stderr[-2000:]
    listed = hovor("list")
    assert listed.returncode == 0 and "Brno" not in listed.stdout  # ids and sizes, not places
    drilled = hovor("verify", "--drill")
    assert drilled.returncode == 0, drilled.stderr[-2000:]
    result = json.loads(drilled.stdout)
    assert result["integrity"] == "ok" and result["chains_ok"] is True and result["chains"] >= 1
    # The drill is in the audit log of the live database.
    engine = make_engine(url)
    try:
        from sqlalchemy import select

        from hovor.audit.models import AuditEntry

        with make_session_factory(engine)() as session:
            actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == "acme")))
    finally:
        engine.dispose()
    assert {"platform.backup.take", "platform.backup.drill"} <= actions
    # A wrong declaration is a clear error, not a traceback.
    env["HOVOR_BACKUP_DESTINATIONS"] = '[{"name": "x"}]'
    wrong = hovor("run")
    assert wrong.returncode == 2 and "needs a name, a url and a location" in wrong.stderr


def test_backups_are_kept_by_day_week_and_month_and_never_past_the_contract(tmp_path: Path) -> None:
    url = migrated_url("sqlite", tmp_path, "_prune")
    places = [{"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"}]
    settings = _settings(
        url,
        tmp_path / "prune",
        places,
        backup_keep_daily=3,
        backup_keep_weekly=2,
        backup_keep_monthly=2,
        backup_margin_days=10,
    )
    destination = declared(settings)[0]
    now = utcnow()
    ages = [0, 0.5, 1, 2, 3, 4, 9, 16, 40, 70, 200, 500]  # days
    for age in ages:
        started = now - dt.timedelta(days=age)
        backup_id = f"{started:%Y%m%dT%H%M%S}-{int(age * 10)}"
        destination.write_json(
            f"backups/{backup_id}/manifest.json", {"id": backup_id, "started": started.isoformat()}
        )
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            from hovor.tenancy.models import Tenant

            session.add(
                Tenant(id="acme", title="Acme", timezone="Europe/Prague", country="CZ", retention_days=365)
            )
            session.commit()
        dropped = service.prune(settings, factory, [destination])
    finally:
        engine.dispose()
    kept = [dt.datetime.fromisoformat(m["started"]) for m in service.listed(destination)]
    kept_ages = sorted(round((now - k).total_seconds() / 86400, 1) for k in kept)
    assert 500 not in kept_ages  # past 365 + 10 days: gone whatever the classes say
    assert kept_ages[0] == 0 and 200 not in kept_ages  # the newest kept; beyond two months, none
    assert len({k.date() for k in kept}) == len(kept)  # each kept one is the newest of its day
    newest_days = sorted({(now - dt.timedelta(days=a)).date() for a in ages}, reverse=True)[:3]
    assert {k.date() for k in kept} >= set(newest_days)  # the three newest days are all kept
    assert len(kept) + len(dropped) == len(ages) and len(dropped) > 0


def test_a_backup_in_an_s3_bucket_restores_when_the_other_site_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in (
            ("AWS_ENDPOINT_URL", f"http://{host}:{port}"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
        ):
            monkeypatch.setenv(name, value)
        bucket = f"hovor-{uuid.uuid4().hex[:12]}"
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        places = [
            {"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"},
            {"name": "frankfurt", "url": f"s3://{bucket}/hovor", "location": "Frankfurt, DE"},
        ]
        url = migrated_url("sqlite", tmp_path, "_s3")
        live = _settings(url, tmp_path / "live", places)
        app = create_app(live)
        with TestClient(app) as client:
            tenant = make_tenant(app, "acme")
            subject = build(client, tenant.h())
            manifest = service.take(live, app.state.session_factory, app.state.files, declared(live))
        app.state.engine.dispose()
        s3 = declared(live)[1]
        assert [m["id"] for m in service.listed(s3)] == [manifest["id"]]
        assert any(n.startswith("blobs/") for n in s3.place.names("blobs/"))
        shutil.rmtree(tmp_path / "brno")  # one site lost
        master = crypto.load_master_key(live.resolved_master_key_file, create=False)
        restored = _settings("", tmp_path / "restored", places, master_key_file=live.resolved_master_key_file)
        done = service.restore(restored, declared(restored)[1], master)
        assert done["backup"] == manifest["id"] and done["blobs"] >= 3
        app = create_app(restored)
        with TestClient(app) as client:
            call = subject.activities["CALL"]
            played = client.get(f"/file/recording/{call}", headers=tenant.h())
            assert played.status_code == 200 and played.content[:4] == b"RIFF"  # decrypts after restore
        app.state.engine.dispose()
    finally:
        server.stop()


def test_a_tenant_purged_at_contract_end_stays_purged_after_a_restore(tmp_path: Path) -> None:
    """The purge is in the ledger (``contract_ends`` outlives the tenant): replayed into a database
    restored from before it, the tenant goes again, and the other tenant stays."""
    from sqlalchemy import func, select

    from hovor.core.db import Base, unit_of_work
    from hovor.privacy.contract.models import ContractEnd
    from hovor.tenancy.models import Tenant

    url = migrated_url("sqlite", tmp_path, "_purge")
    settings = _settings(url, tmp_path / "purge", [])
    app = create_app(settings)
    with TestClient(app) as client:
        gone, kept = make_tenant(app, "gone"), make_tenant(app, "kept")
        build(client, gone.h())
        build(client, kept.h())
    with unit_of_work(app.state.session_factory) as session:
        session.add(
            ContractEnd(
                tenant_id="gone", recipient="age1x", destination="/x", started_by="op", purged=utcnow()
            )
        )
    with app.state.read_session_factory() as session:
        entries = ledger.entries_since(session, utcnow() - dt.timedelta(minutes=5))
    purges = [e for e in entries if e["source"] == "purge"]
    assert [e["tenant"] for e in purges] == ["gone"]
    counts = replay(app.state.session_factory, app.state.files, settings.secret_key, purges)
    assert counts == {"purged": 1}
    with app.state.session_factory() as session:
        assert session.get(Tenant, "gone") is None and session.get(Tenant, "kept") is not None
        for table in Base.metadata.sorted_tables:
            if "tenant_id" in table.c and table.name != "contract_ends":
                left = session.scalar(
                    select(func.count()).select_from(table).where(table.c.tenant_id == "gone")
                )
                assert left == 0, table.name
    app.state.engine.dispose()


def test_objects_no_kept_backup_refers_to_leave_the_destination(tmp_path: Path) -> None:
    places = [{"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"}]
    destination = declared(_settings("", tmp_path / "x", places))[0]
    for backup_id, objects in (("b1", ["a", "b"]), ("b2", ["b"])):
        destination.write_json(
            f"backups/{backup_id}/manifest.json",
            {"id": backup_id, "started": utcnow().isoformat(), "objects": objects},
        )
    for key in ("a", "b", "c"):
        destination.place.put(f"blobs/{key}", [b"ciphertext"])
    service._drop_unreferenced(destination, service.listed(destination))
    assert destination.place.names("blobs/") == ["blobs/a", "blobs/b"]  # c: no backup needs it
    destination.place.delete("backups/b1")  # its manifest goes first, then the rest
    service._drop_unreferenced(destination, service.listed(destination))
    assert destination.place.names("blobs/") == ["blobs/b"]


def test_the_server_backs_up_and_drills_by_itself(tmp_path: Path) -> None:
    """With destinations declared, `hovor serve` takes a backup when none is recent and drills a
    restore when none was drilled, without being asked; the ledger ships meanwhile."""
    import time

    places = [{"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"}]
    url = migrated_url("sqlite", tmp_path, "_serve")
    settings = _settings(url, tmp_path / "serve", places, ledger_ship_seconds=0.2)
    app = create_app(settings)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        _ok(
            client.post(
                "/api/v6/contacts.json", json={"lastname": "Nová", "database": "main"}, headers=tenant.h()
            ),
            201,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if service.listed(declared(settings)[0]) and service.last_drill(settings.data_dir) is not None:
                break
            time.sleep(0.2)
    app.state.engine.dispose()
    assert len(service.listed(declared(settings)[0])) == 1  # one backup: the next is a day away
    assert service.last_drill(settings.data_dir) is not None
    assert (tmp_path / "brno" / "ledger" / ".present").exists()


def test_a_drill_holds_the_restored_chains_against_the_exported_checkpoints(tmp_path: Path) -> None:
    """A chain truncated in the database before a backup, with the checkpoints inside it that would
    tell, still links from its first entry: only the checkpoints the operator exported and keeps
    elsewhere (HOVOR_AUDIT_CHECKPOINTS_FILE) show the drill that entries are gone."""
    from sqlalchemy import delete, func, select

    from hovor.audit.chain import export_checkpoints, sign_checkpoints
    from hovor.audit.models import AuditCheckpoint, AuditEntry
    from hovor.core.db import unit_of_work

    places = [{"name": "brno", "url": (tmp_path / "brno").as_uri(), "location": "Brno, CZ"}]
    url = migrated_url("sqlite", tmp_path, "_drill")
    kept = tmp_path / "operator" / "checkpoints.jsonl"
    settings = _settings(url, tmp_path / "drill", places, audit_checkpoints_file=kept)
    app = create_app(settings)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        build(client, tenant.h())
    factory, files, signer = app.state.session_factory, app.state.files, app.state.audit_signer
    public = signer.public_key()
    destination = declared(settings)[0]

    def export() -> int:
        with unit_of_work(factory) as session:
            sign_checkpoints(session, signer)
            lines = [json.dumps(cp) for cp in export_checkpoints(session, public)]
            signed = session.scalar(
                select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.tenant_id == "acme")
            )
        kept.parent.mkdir(exist_ok=True)
        kept.write_text("".join(line + "\n" for line in lines))
        assert signed
        return signed

    def actions() -> list[dict[str, Any]]:
        with factory() as session:
            return list(
                session.scalars(
                    select(AuditEntry.details)
                    .where(AuditEntry.tenant_id == "acme", AuditEntry.action == "platform.backup.drill")
                    .order_by(AuditEntry.name)
                )
            )

    # Honest: the chain holds every exported checkpoint signed before the backup; the one signed
    # after it (of the backup's own entry) is left out, not counted against the chain.
    export()
    service.take(settings, factory, files, [destination])
    export()
    honest = service.drill(settings, factory, destination, files.master, public)
    chain = honest["per_chain"]["acme"]
    assert honest["chains_ok"] is True and honest["exported_checkpoints"] is True
    assert chain["ok"] is True and chain["exported_checkpoints"] >= 1 and chain["exported_later"] == 1
    assert actions()[-1]["chain_ok"] is True and actions()[-1]["exported_checkpoints"] >= 1

    # Truncated: the newest entries and every checkpoint in the database go; the next entries chain
    # on from what is left, so the chain verifies inside the database alone.
    signed = export()
    with unit_of_work(factory) as session:
        session.execute(
            delete(AuditEntry).where(AuditEntry.tenant_id == "acme", AuditEntry.name > signed - 3)
        )
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.tenant_id == "acme"))
    service.take(settings, factory, files, [destination])
    alone = settings.model_copy(update={"audit_checkpoints_file": None})
    inside = service.drill(alone, factory, destination, files.master, public)
    assert inside["chains_ok"] is True and inside["exported_checkpoints"] is False
    drilled = service.drill(settings, factory, destination, files.master, public)
    chain = drilled["per_chain"]["acme"]
    assert drilled["chains_ok"] is False and chain["ok"] is False
    assert signed - 2 <= chain["first_broken"]["seq"] <= signed
    assert "exported" in chain["first_broken"]["reason"]
    audited = actions()[-1]
    assert audited["ok"] is False and audited["chain_ok"] is False
    assert audited["first_broken"] == chain["first_broken"]["seq"]
    # The operator's file cannot be read: the drill says so rather than passing on the inside alone.
    kept.unlink()
    with pytest.raises(service.BackupError, match="cannot be read"):
        service.drill(settings, factory, destination, files.master, public)
    app.state.engine.dispose()


def test_objects_copied_before_the_database_is_there_are_the_ones_it_refers_to(tmp_path: Path) -> None:
    """The restore copies the manifest's objects while the snapshot decrypts; the snapshot decides:
    what it refers to and the manifest missed is copied, what only the manifest listed goes."""
    from hovor.backup.destinations import Folder
    from hovor.backup.objects import FolderToStore
    from hovor.files.stores import LocalStore

    folder = Folder(tmp_path / "dest")
    for key in ("a1b2c3", "a1ffff", "b2c3d4", "c3d4e5"):
        folder.put(f"blobs/{key}", [key.encode() * 100])
    store = LocalStore(tmp_path / "store")
    early = FolderToStore(store, folder)
    early.start(["a1b2c3", "a1ffff", "b2c3d4"])  # the manifest's list
    copied, missing = early.finish(["a1b2c3", "c3d4e5", "d4e5f6"], None)  # the snapshot's blobs
    assert (copied, missing) == (2, 1)  # d4e5f6: not at the destination
    assert store.exists("a1b2c3") and store.exists("c3d4e5")
    assert not store.exists("a1ffff") and not store.exists("b2c3d4")
    assert b"".join(store.read("c3d4e5")) == b"c3d4e5" * 100
    assert store.path("c3d4e5").stat().st_mode & 0o077 == 0  # owner-only, as the store writes
