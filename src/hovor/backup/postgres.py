"""Backups, restores and drills on PostgreSQL, with pgBackRest (backup/pgbackrest.py).

``take`` ships the ledger, has pgBackRest back the cluster up into every destination's repository
(full when the newest full is older than ``pgbackrest_full_days``, differential otherwise), copies
the blob store's objects there as on SQLite, and writes hovor's manifest for each repository's
backup (``backups/<label>/manifest.json``: what ``list``, retention and ``newest`` read, with the
objects the backup's database refers to). WAL is archived into every repository continuously by
PostgreSQL's ``archive_command``, so a restore can stop at any moment since the oldest backup.

``restore`` has pgBackRest restore the stopped cluster (to the end of the archive, to a backup, or
to a point in time), starts it, and replays the restore ledger from that moment on before anything
serves from it; then what the replay removed leaves the files (``VACUUM FULL``) and the WAL
(old segments removed, not recycled). ``drill`` does the same into a scratch cluster on a free
port, checks it with ``pg_amcheck`` and verifies every audit chain.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hovor.audit import log as audit
from hovor.backup import chains, ledger, objects, service
from hovor.backup import pgbackrest as pgbr
from hovor.backup.destinations import Destination
from hovor.backup.replay import replay
from hovor.core.config import Settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from hovor.files.service import Files
from hovor.privacy.compaction import drop_old_wal, touched_tables, vacuum
from hovor.tenancy.models import Tenant

log = logging.getLogger("hovor.backup")
READY_SECONDS = 900.0


def _keep_days(settings: Settings, factory: sessionmaker[Session]) -> int:
    with factory() as session:
        longest = session.scalar(select(func.max(Tenant.retention_days)))
    return int(longest or 3650) + settings.backup_margin_days


def setup(
    settings: Settings, factory: sessionmaker[Session], destinations: list[Destination], master: bytes
) -> Path:
    """The configuration written and the stanza created in every repository (idempotent)."""
    path = pgbr.write_config(settings, destinations, master, _keep_days(settings, factory))
    pgbr.command(settings, "stanza-create", timeout=600)
    return path


def _when(stamp: int) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat()


def take(
    settings: Settings,
    factory: sessionmaker[Session],
    files: Files,
    destinations: list[Destination],
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """One backup into every destination's repository; the newest one's manifest."""
    if not destinations:
        raise service.BackupError("no backup destination is declared (HOVOR_BACKUP_DESTINATIONS)")
    ledger.ship(factory, settings.data_dir, destinations)
    try:
        setup(settings, factory, destinations, files.master)
        before = {(b["database"]["repo-key"], b["label"]) for b in pgbr.info(settings)}
        full_age = dt.timedelta(days=settings.pgbackrest_full_days)
        for repo in pgbr.repos(destinations):
            fulls = [
                b
                for b in pgbr.info(settings)
                if b["database"]["repo-key"] == repo.index and b["type"] == "full"
            ]
            recent = (
                fulls
                and utcnow() - dt.datetime.fromtimestamp(fulls[-1]["timestamp"]["start"], dt.UTC) < full_age
            )
            pgbr.command(settings, f"--type={'diff' if recent else 'full'}", "backup", repo=repo.index)
            if progress:
                progress("database", repo.index, len(destinations))
        now_there = pgbr.info(settings)
        made = [b for b in now_there if (b["database"]["repo-key"], b["label"]) not in before]
    except pgbr.PgBackRestError as exc:
        raise service.BackupError(str(exc)) from None
    _forget_expired(destinations, {(b["database"]["repo-key"], b["label"]) for b in now_there})
    objects = service.copy_blobs(factory, files, destinations, progress)
    shipped = ledger.ship(factory, settings.data_dir, destinations)
    with factory() as session:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    manifests = []
    for repo in pgbr.repos(destinations):
        for backup in (b for b in made if b["database"]["repo-key"] == repo.index):
            manifest = {
                "id": backup["label"],
                "started": _when(backup["timestamp"]["start"]),
                "finished": _when(backup["timestamp"]["stop"]),
                "database": "postgresql",
                "type": backup["type"],
                "prior": backup.get("prior"),
                "revision": revision,
                "size": backup["info"]["size"],
                "blobs": len(objects),
                "objects": objects,
                "ledger_entries_shipped": shipped,
                "destinations": [{"name": repo.destination.name, "location": repo.destination.location}],
            }
            repo.destination.write_json(f"backups/{backup['label']}/manifest.json", manifest)
            manifests.append(manifest)
    if not manifests:
        raise service.BackupError("pgBackRest reported no new backup")
    with unit_of_work(factory) as session:
        for (tenant_id,) in session.execute(select(Tenant.id)):
            audit.record(
                session,
                tenant_id,
                "platform.backup.take",
                service.ACTOR,
                "backups",
                manifests[0]["id"],
                {"blobs": len(objects), "repositories": len(manifests)},
            )
    return {**manifests[0], "ids": [m["id"] for m in manifests]}


def _forget_expired(destinations: list[Destination], present: set[tuple[int, str]]) -> None:
    """Manifests of backups pgBackRest expired by itself (its time limit) go too: ``list`` and
    retention must not offer a backup that is not there."""
    for repo in pgbr.repos(destinations):
        for manifest in service.listed(repo.destination):
            if manifest.get("database") == "postgresql" and (repo.index, manifest["id"]) not in present:
                repo.destination.place.delete(f"backups/{manifest['id']}")


def _pick(destination: Destination, backup_id: str | None, target: dt.datetime | None) -> dict[str, Any]:
    backups = [m for m in service.listed(destination) if m.get("database") == "postgresql"]
    if backup_id:
        backups = [m for m in backups if m["id"] == backup_id]
    if target:
        backups = [m for m in backups if dt.datetime.fromisoformat(m["finished"]) <= target]
    if not backups:
        raise service.BackupError(f"no complete PostgreSQL backup at {destination.name} fits")
    return backups[0]


def _pg_bin(settings: Settings) -> Path:
    """The server's own programs (pg_ctl, pg_amcheck), by the version of its data directory."""
    assert settings.pgbackrest_pg_path is not None
    try:
        major = (settings.pgbackrest_pg_path / "PG_VERSION").read_text().strip()
    except OSError:
        major = ""
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin"), Path("/usr/lib/postgresql/bin")):
        if major and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if not found:
        raise service.BackupError("pg_ctl is not found (the PostgreSQL server's programs)")
    return Path(found).parent


def _wait_ready(url: str, deadline: float) -> None:
    """Until the server accepts connections and has finished its recovery (promoted)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row and not row[0]:
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise service.BackupError("the restored cluster did not finish its recovery in time")
        time.sleep(0.5)


def ledger_since(
    destination: Destination, since: dt.datetime, without_ledger: str | None
) -> list[dict[str, Any]]:
    try:
        return ledger.read(destination, since - ledger.OVERLAP)
    except ledger.LedgerMissing:
        if not without_ledger:
            raise service.BackupError(
                f"{destination.name} holds no restore ledger: the backup would bring back every person "
                "erased since it was taken. Give --without-ledger REASON to restore anyway (audited)."
            ) from None
        return []


def _restore_args(manifest: dict[str, Any], backup_id: str | None, target: dt.datetime | None) -> list[str]:
    args = [f"--set={manifest['id']}"]
    if target:
        args += ["--type=time", f"--target={target.isoformat()}", "--target-action=promote"]
    elif backup_id:
        args += ["--type=immediate", "--target-action=promote"]
    return args  # neither: to the end of the archive, the newest state there is


def restore(
    settings: Settings,
    destination: Destination,
    destinations: list[Destination],
    master: bytes,
    *,
    backup_id: str | None = None,
    target: dt.datetime | None = None,
    without_ledger: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Restores the stopped cluster from ``destination`` and, when hovor may start it, replays the
    ledger into it; until then the data directory stays marked and nothing serves."""
    pg_path = settings.pgbackrest_pg_path
    if pg_path is None:
        raise service.BackupError("HOVOR_PGBACKREST_PG_PATH (the cluster's data directory) is not set")
    if (pg_path / "postmaster.pid").exists():
        raise service.BackupError("PostgreSQL runs on that data directory: stop it before restoring")
    manifest = _pick(destination, backup_id, target)
    since = min(target, dt.datetime.fromisoformat(manifest["started"])) if target else None
    since = since or dt.datetime.fromisoformat(manifest["started"])
    entries = ledger_since(destination, since, without_ledger)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.data_dir / service.MARKER
    marker.write_text(f"restoring {manifest['id']} from {destination.name} (PostgreSQL)\n")
    t0 = time.monotonic()
    # Written afresh: the restored cluster archives into the destinations declared now (the live
    # database that says the contract's limit is the one being restored: pgBackRest's own limit
    # is the widest until the next backup writes it again).
    pgbr.write_config(settings, destinations, master, 3650 + settings.backup_margin_days)
    repo = pgbr.repo_of(destinations, destination.name)
    delta = ["--delta"] if any(pg_path.iterdir()) else []
    phases: dict[str, float] = {}
    # The blob objects are copied beside pgBackRest's restore and the cluster's recovery.
    early = objects.folder_to_store(Files(settings), destination)
    if early is not None and "objects" in manifest:
        early.start(manifest["objects"])
    try:
        args = _restore_args(manifest, backup_id, target)
        pgbr.command(settings, *args, *delta, "restore", repo=repo.index)
        phases["pgbackrest"] = round(time.monotonic() - t0, 2)
        done: dict[str, Any] = {
            "backup": manifest["id"],
            "target": target.isoformat() if target else None,
            "since": since.isoformat(),
        }
        if not settings.pgbackrest_start_command:
            if early is not None:
                early.finish(list(manifest.get("objects", [])), None)  # `replay` settles the rest
            return {
                **done,
                "next": "start PostgreSQL, then run `hovor backup replay --since "
                f"{since.isoformat()} --from {destination.name}`",
            }
        start = shlex.split(settings.pgbackrest_start_command)
        began = subprocess.run(  # noqa: S603 - the operator's own command
            start, capture_output=True, text=True, timeout=READY_SECONDS, check=False
        )
        if began.returncode != 0:
            said = " ".join((began.stderr or began.stdout).strip().splitlines()[-3:])
            raise service.BackupError(f"the start command failed ({began.returncode}): {said}")
        _wait_ready(settings.resolved_database_url, time.monotonic() + READY_SECONDS)
        phases["start"] = round(time.monotonic() - t0 - phases["pgbackrest"], 2)
    except pgbr.PgBackRestError as exc:
        if early is not None:
            early.abandon()
        raise service.BackupError(str(exc)) from None
    except BaseException:
        if early is not None:
            early.abandon()
        raise
    counts, copied, missing = finish(
        settings, destination, manifest["id"], entries, without_ledger, progress, phases, early
    )
    return {
        **done,
        "replayed": len(entries),
        "outcomes": counts,
        "blobs": copied,
        "missing_blobs": missing,
        "seconds": round(time.monotonic() - t0, 2),
        "phases": phases,
    }


def finish(
    settings: Settings,
    destination: Destination,
    backup_id: str,
    entries: list[dict[str, Any]],
    without_ledger: str | None,
    progress: Callable[[str, int, int], None] | None,
    phases: dict[str, float] | None = None,
    early: objects.FolderToStore | None = None,
) -> tuple[dict[str, int], int, int]:
    """The restored cluster made whole: blobs back, the ledger replayed, what it removed gone
    from the files and the WAL, every tenant's log told; then the data directory is unmarked.
    ``phases`` receives the seconds each step took."""
    took = phases if phases is not None else {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        took[name] = round(now - clock, 2)
        clock = now

    engine = make_engine(settings.resolved_database_url)
    try:
        factory = make_session_factory(engine)
        files = Files(settings)
        copied, missing = service.restore_blobs(factory, files, destination, early, progress)
        lap("blobs")
        counts = replay(factory, files, settings.secret_key, entries)
        files.reap(factory, limit=10**9)
        lap("replay")
        # What the replay changed: the statistics of a restored cluster begin at its recovery.
        engine.dispose()  # the replay's sessions end, and their counts reach the statistics
        vacuum(engine, touched_tables(engine))
        lap("rewrite")
        if not drop_old_wal(engine):
            log.warning("old WAL segments may stay in pg_wal: no superuser, or the archiver is behind")
        lap("wal")
        with unit_of_work(factory) as session:
            for (tenant_id,) in session.execute(select(Tenant.id)):
                details: dict[str, Any] = {"backup": backup_id, "replayed": len(entries), "blobs": copied}
                if without_ledger:
                    details["without_ledger"] = without_ledger[:200]
                audit.record(
                    session,
                    tenant_id,
                    "platform.backup.restore",
                    service.ACTOR,
                    "backups",
                    backup_id,
                    details,
                )
    finally:
        engine.dispose()
    if counts.get("failed"):
        raise service.BackupError(
            f"{counts['failed']} ledger entries could not be replayed (the log names them); fix the "
            "cause and run `hovor backup replay`, which unmarks the directory once every entry replays"
        )
    (settings.data_dir / service.MARKER).unlink(missing_ok=True)
    return counts, copied, missing


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(
    settings: Settings, argv: list[str], timeout: float = READY_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the server's own programs, hovor's arguments
        pgbr.as_user(settings, argv), capture_output=True, text=True, timeout=timeout, check=False
    )


def drill(
    settings: Settings,
    factory: sessionmaker[Session],
    destinations: list[Destination],
    destination: Destination,
    master: bytes,
    public: Any,
    checkpoints: Path | None = None,
) -> dict[str, Any]:
    """The newest backup restored into a scratch cluster beside the live one (on a free port, not
    archiving), the ledger replayed, ``pg_amcheck`` run over it, every audit chain verified and
    held against the exported checkpoints (``checkpoints``, else ``HOVOR_AUDIT_CHECKPOINTS_FILE``);
    the result audited in the live database."""
    t0 = time.monotonic()
    try:
        exported = chains.load(checkpoints or settings.audit_checkpoints_file)
    except chains.CheckpointsUnreadable as exc:
        raise service.BackupError(str(exc)) from None
    manifest = _pick(destination, None, None)
    assert settings.pgbackrest_pg_path is not None
    bin_dir = _pg_bin(settings)
    owner = pgbr._owner(settings)
    scratch = Path(tempfile.mkdtemp(prefix="hovor-drill-", dir=settings.pgbackrest_pg_path.parent))
    data_dir = Path(tempfile.mkdtemp(prefix=".drill-", dir=settings.data_dir))
    pg_data, port = scratch / "data", _free_port()
    pg_data.mkdir(mode=0o700)
    for path in (scratch, pg_data):
        if owner:
            os.chown(path, *owner)
    url = make_url(settings.resolved_database_url)
    scratch_url = url.set(host=None, port=None, query={"host": str(scratch), "port": str(port)})
    scratch_settings = settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": scratch_url.render_as_string(hide_password=False),
            "blob_store_url": None,
            "master_key_file": settings.resolved_master_key_file,
        }
    )
    started = False
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(pg_data)]
    try:
        repo = pgbr.repo_of(destinations, destination.name)
        pgbr.write_config(settings, destinations, master, _keep_days(settings, factory))
        pgbr.command(
            settings,
            f"--set={manifest['id']}",
            "--type=immediate",
            "--target-action=promote",
            "--archive-mode=off",
            f"--pg1-path={pg_data}",
            "restore",
            repo=repo.index,
        )
        options = f"-p {port} -k {scratch} -c listen_addresses='' -c archive_mode=off"
        started_run = _run(settings, [*pg_ctl, "-l", str(scratch / "log"), "-o", options, "-w", "start"])
        if started_run.returncode != 0:
            raise service.BackupError("the scratch cluster did not start")
        started = True
        _wait_ready(scratch_settings.resolved_database_url, time.monotonic() + READY_SECONDS)
        entries = ledger_since(destination, dt.datetime.fromisoformat(manifest["started"]), None)
        counts, _, missing = finish(scratch_settings, destination, manifest["id"], entries, None, None)
        checked = _run(
            settings,
            [
                str(bin_dir / "pg_amcheck"),
                "-h",
                str(scratch),
                "-p",
                str(port),
                "-U",
                url.username or "postgres",
                "--install-missing",
                "--heapallindexed",
                "--no-strict-names",
                url.database or "postgres",
            ],
        )
        integrity = "ok" if checked.returncode == 0 else f"pg_amcheck exit {checked.returncode}"
        engine = make_engine(scratch_settings.resolved_database_url)
        try:
            with make_session_factory(engine)() as session:
                taken = dt.datetime.fromisoformat(manifest["started"])
                verified = chains.verify(session, [public], exported or [], taken)
        finally:
            engine.dispose()
    finally:
        if started:
            _run(settings, [*pg_ctl, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    done = {
        "backup": manifest["id"],
        "started": manifest["started"],
        "replayed": len(entries),
        "outcomes": counts,
        "missing_blobs": missing,
    }
    return service.drilled(settings, factory, done, integrity, verified, exported is not None, t0)
