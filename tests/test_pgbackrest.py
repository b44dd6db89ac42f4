"""PostgreSQL backed up by pgBackRest, restored to a point in time, and nobody resurrected.

A PostgreSQL cluster of the test's own (initdb, WAL archived by pgBackRest into two repositories:
the folders of two destinations, "Prague" and "Frankfurt"). A backup with ``hovor backup run``;
then a person erased with traces on every channel, a ticket deleted, a recording swept by
retention. Prague is lost and the cluster's data directory with it; ``hovor backup restore
--from frankfurt --time T`` restores to a moment before the erasure, starts the cluster and
replays the restore ledger. A byte search of every file of the restored cluster (its WAL
included) and of the blob store finds none of her values, the ticket and the recording stay
gone, what was written after T is not there, and the audit chain verifies. A drill then restores
the newest backup into a scratch cluster and checks it with pg_amcheck.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_tenant, needs_postgres
from erasure_data import NEEDLES
from hovor.app import create_app
from hovor.audit.chain import export_checkpoints, sign_checkpoints
from hovor.audit.models import AuditEntry
from hovor.backup import ledger, pgbackrest
from hovor.backup.destinations import declared
from hovor.core.config import Settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from hovor.migrations import alembic_config
from test_backup import TICKET_TEXT, _after_the_backup, _before_the_backup, _check_restored, _found

LATE_NAME = "Pozdějšínský"  # a contact written after the moment restored to


def _pg_bin() -> Path | None:
    for version in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (version / "initdb").exists():
            return version
    return None


def needs_pgbackrest() -> None:
    needs_postgres()
    missing = [n for n, ok in (("pgbackrest", shutil.which("pgbackrest")), ("initdb", _pg_bin())) if not ok]
    if os.geteuid() != 0:
        missing.append("root (to run the cluster as postgres)")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the pgBackRest tests: missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)} (make test installs pgbackrest)")


@dataclass
class Cluster:
    base: Path
    pg_data: Path
    port: int
    socket: Path
    bin: Path

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / "pg_ctl"), "-D", str(self.pg_data), *args]
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=False
        )

    @property
    def start_command(self) -> str:
        log = self.socket / "pg.log"  # a folder of postgres's own
        return f"runuser -u postgres -- {self.bin / 'pg_ctl'} -D {self.pg_data} -l {log} -w start"

    def url(self, database: str = "hovor") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    needs_pgbackrest()
    bin_dir = _pg_bin()
    assert bin_dir is not None
    base = Path(tempfile.mkdtemp(prefix="hovor-pgbr-", dir="/tmp"))
    base.chmod(0o755)
    made = Cluster(base, base / "pg", _free_port(), base / "sock", bin_dir)
    for folder in (made.pg_data, made.socket):
        folder.mkdir()
        shutil.chown(folder, "postgres", "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(made.pg_data), "-A", "trust", "-U", "postgres"]
    subprocess.run(["runuser", "-u", "postgres", "--", *initdb], check=True, capture_output=True)
    archive = pgbackrest.archive_command(
        Settings(environment="test", pgbackrest_config=base / "pgbackrest" / "pgbackrest.conf")
    )
    with (made.pg_data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {made.port}\nunix_socket_directories = '{made.socket}'\n"
            "listen_addresses = '127.0.0.1'\nwal_level = replica\narchive_mode = on\n"
            f"archive_command = '{archive}'\nfsync = off\nshared_buffers = 32MB\n"
        )
    started = made.pg_ctl("-l", str(made.socket / "pg.log"), "-w", "start")
    assert started.returncode == 0, started.stderr
    with psycopg.connect(
        f"host=127.0.0.1 port={made.port} user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute("CREATE DATABASE hovor")
    try:
        yield made
    finally:
        made.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _settings(cluster: Cluster, data_dir: Path, places: list[dict[str, str]], **kw: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=cluster.url(),
        data_dir=data_dir,
        auth_cache_seconds=0,
        erasure_compact_delay_seconds=0,
        backup_destinations=json.dumps(places),
        pgbackrest_pg_path=cluster.pg_data,
        pgbackrest_user="postgres",
        pgbackrest_config=cluster.base / "pgbackrest" / "pgbackrest.conf",
        pgbackrest_socket=str(cluster.socket),
        pgbackrest_start_command=cluster.start_command,
        ledger_ship_seconds=3600,  # the test ships and backs up itself
        **kw,
    )


def _hovor(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    for name, value in settings.model_dump(exclude_none=True).items():
        keys = ("master_key_file", "audit_signing_key_file")
        if name in ("environment", "database_url", "data_dir", "backup_destinations", *keys) or (
            name.startswith("pgbackrest_")
        ):
            env[f"HOVOR_{name.upper()}"] = str(value)
    return subprocess.run(
        [sys.executable, "-m", "hovor", "backup", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_point_in_time_restore_from_the_surviving_site_brings_back_no_one(
    cluster: Cluster, tmp_path: Path
) -> None:
    places = [
        {"name": "prague", "url": (cluster.base / "prague").as_uri(), "location": "Prague, CZ"},
        {"name": "frankfurt", "url": (cluster.base / "frankfurt").as_uri(), "location": "Frankfurt, DE"},
    ]
    command.upgrade(alembic_config(cluster.url()), "head")
    live = _settings(cluster, tmp_path / "live", places)
    app = create_app(live)
    with TestClient(app) as client:
        tenant = make_tenant(app, "acme")
        subject, ticket, call = _before_the_backup(client, tenant)
        ledger.ship(app.state.session_factory, live.data_dir, declared(live))
        # The operator exports the signed checkpoints and keeps them elsewhere.
        with unit_of_work(app.state.session_factory) as session:
            sign_checkpoints(session, app.state.audit_signer)
            exported = export_checkpoints(session, app.state.audit_signer.public_key())
        kept = tmp_path / "operator" / "checkpoints.jsonl"
        kept.parent.mkdir()
        kept.write_text("".join(json.dumps(cp) + "\n" for cp in exported))
        made = _hovor(live, "run")
        assert made.returncode == 0, made.stderr[-3000:]
        for place in places:  # a backup in each repository, its manifest beside it
            listed = _hovor(live, "list", "--destination", place["name"])
            assert listed.returncode == 0, listed.stderr
            assert len(list((cluster.base / place["name"] / "backups").glob("*/manifest.json"))) == 1
        time.sleep(1.2)
        moment = utcnow()
        time.sleep(1.2)
        late_contact = {"lastname": LATE_NAME, "database": "main"}
        late = client.post("/api/v6/contacts.json", json=late_contact, headers=tenant.h())
        assert late.status_code == 201, late.text
        _after_the_backup(client, tenant, subject, ticket, app)
        ledger.ship(app.state.session_factory, live.data_dir, declared(live))
    app.state.engine.dispose()
    pgbackrest.command(live, "check", timeout=120)  # the WAL up to now is in both repositories

    # Prague is lost, and the cluster's files with it. The operator declares what is left.
    assert cluster.pg_ctl("-m", "fast", "-w", "stop").returncode == 0
    shutil.rmtree(cluster.base / "prague")
    for path in cluster.pg_data.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    restored = _settings(
        cluster,
        tmp_path / "restored",
        places[1:],
        master_key_file=live.resolved_master_key_file,  # the operator's copies of the two keys
        audit_signing_key_file=live.resolved_audit_signing_key_file,
    )
    done = _hovor(restored, "restore", "--from", "frankfurt", "--time", moment.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["replayed"] > 5 and result["outcomes"].get("redacted", 0) >= 1, result
    assert not (restored.data_dir / "RESTORING").exists()

    files = [p for p in cluster.pg_data.rglob("*") if p.is_file()]
    assert any(p.parent.name == "pg_wal" for p in files) and len(files) > 500
    hits = _found(files, [*NEEDLES, TICKET_TEXT])
    blobs = [p for p in (restored.data_dir / "blobs").rglob("*") if p.is_file()]
    assert result["blobs"] >= 1 and _found(blobs, NEEDLES) == {} and hits == {}, hits
    _check_restored(cluster.url(), restored, ticket, call)
    engine = make_engine(cluster.url())
    try:
        with make_session_factory(engine)() as session:
            from hovor.crm.models import Contact

            # Restored to the moment: what was written after it is not there.
            assert session.query(Contact).filter(Contact.lastname == LATE_NAME).count() == 0
            actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == "acme")))
        assert {"platform.backup.take", "platform.backup.restore"} <= actions
    finally:
        engine.dispose()

    # The drill: the newest backup into a scratch cluster beside this one, checked.
    drilled = _hovor(restored, "verify", "--drill", "--from", "frankfurt", "--checkpoints", str(kept))
    assert drilled.returncode == 0, drilled.stderr[-3000:]
    report = json.loads(drilled.stdout)
    assert report["integrity"] == "ok" and report["chains_ok"] is True and report["chains"] >= 1, report
    assert report["exported_checkpoints"] is True and report["per_chain"]["acme"]["exported_checkpoints"] >= 1
    assert not list(cluster.base.glob("hovor-drill-*"))  # the scratch cluster is gone


def test_the_configuration_has_a_repository_per_destination_and_no_pass_on_a_command_line(
    tmp_path: Path,
) -> None:
    places = [
        {"name": "prague", "url": (tmp_path / "p").as_uri(), "location": "Prague, CZ"},
        {"name": "frankfurt", "url": "s3://hovor-backups/eu", "location": "Frankfurt, DE"},
    ]
    settings = Settings(
        environment="test",
        database_url="postgresql+psycopg://hovor@db.internal:6543/hovor",
        data_dir=tmp_path,
        backup_destinations=json.dumps(places),
        pgbackrest_pg_path=Path("/var/lib/postgresql/15/main"),
    )
    os.environ["AWS_ENDPOINT_URL"] = "https://s3.example.cz:8443"
    try:
        path = pgbackrest.write_config(settings, declared(settings), b"k" * 32, 400)
    finally:
        del os.environ["AWS_ENDPOINT_URL"]
    text = path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"repo1-path={tmp_path / 'p' / 'pgbackrest'}" in text and "repo1-type=posix" in text
    assert (
        "repo2-type=s3" in text
        and "repo2-s3-bucket=hovor-backups" in text
        and "repo2-path=/eu/pgbackrest" in text
    )
    assert "repo2-s3-endpoint=s3.example.cz" in text and "repo2-storage-port=8443" in text
    assert "repo1-retention-full=400" in text and "pg1-port=6543" in text and "pg1-user=hovor" in text
    passes = [line.split("=", 1)[1] for line in text.splitlines() if "cipher-pass" in line]
    assert len(set(passes)) == 2 and all(len(p) >= 40 for p in passes)  # one per destination
    assert passes[0] == pgbackrest.cipher_pass(b"k" * 32, "prague")  # the master key alone restores
    assert "cipher-pass" not in pgbackrest.archive_command(settings)


def test_retention_expires_postgresql_backups_in_pgbackrest_and_keeps_what_a_kept_one_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept differential keeps the full it was taken against; a full dropped takes its
    differentials with it, and pgBackRest is told once, for the full."""
    import datetime as dt

    from conftest import migrated_url
    from hovor.backup import service
    from hovor.tenancy.models import Tenant

    url = migrated_url("sqlite", tmp_path, "_pgprune")
    places = [{"name": "prague", "url": (tmp_path / "p").as_uri(), "location": "Prague, CZ"}]
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=tmp_path / "d",
        backup_destinations=json.dumps(places),
        backup_keep_daily=1,
        backup_keep_weekly=0,
        backup_keep_monthly=0,
        backup_margin_days=10,
    )
    destination = declared(settings)[0]
    now = utcnow()
    # (label, age in days, prior): an old chain past the contract, a chain whose newest member is
    # kept (a differential on a full three days old).
    chain = [
        ("OLD-F", 400, None),
        ("OLD-D", 390, "OLD-F"),
        ("MID-F", 3, None),
        ("MID-D1", 2, "MID-F"),
        ("MID-D2", 0, "MID-F"),
    ]
    for label, age, prior in chain:
        started = (now - dt.timedelta(days=age)).isoformat()
        manifest = {"id": label, "started": started, "database": "postgresql", "prior": prior}
        destination.write_json(f"backups/{label}/manifest.json", manifest)
    told: list[tuple[str, ...]] = []
    monkeypatch.setattr(
        service.pgbr,
        "command",
        lambda _s, *args, repo=None, timeout=None: told.append((*args, f"repo{repo}")),
    )
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            session.add(
                Tenant(id="acme", title="A", timezone="Europe/Prague", country="CZ", retention_days=365)
            )
            session.commit()
        dropped = service.prune(settings, factory, [destination])
    finally:
        engine.dispose()
    assert sorted(m["id"] for m in service.listed(destination)) == ["MID-D2", "MID-F"]
    assert sorted(dropped) == ["MID-D1", "OLD-D", "OLD-F"]
    # OLD-D goes with OLD-F; MID-D1 is a differential of a kept full: expired on its own.
    assert sorted(told) == [("--set=MID-D1", "expire", "repo1"), ("--set=OLD-F", "expire", "repo1")]
