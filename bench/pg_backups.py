"""``backup_medium`` and ``restore_medium`` on PostgreSQL (called by bench/backups.py).

The cluster is the benchmarks' own (bench/pgcluster.py: WAL archiving through pgBackRest), named
by the ``HOVOR_PGBACKREST_*`` variables ``python -m bench.pgcluster env`` prints.

backup: ``hovor backup run``'s work to one empty folder destination — the stanza created,
pgBackRest's full backup (zstd, AES-256), the blob store's objects copied, the ledger shipped, the
manifest. Baseline in the same run: the plain tool, ``pgbackrest backup`` alone into a second repository
of the same kind, and the same objects copied with ``shutil``.

restore: ``hovor backup restore`` from that destination into an empty data directory — pgBackRest's
restore, the cluster started and recovered, the objects copied back, the ledger replayed, every
table rewritten, the old WAL dropped. Baseline: ``pgbackrest restore`` alone from the second
repository into an empty data directory, the cluster started until it answers, the objects
copied into an empty folder."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.common import settings_for, stats_ms


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)


def _owned_folder(path: Path) -> Path:
    path.mkdir(mode=0o700)
    shutil.chown(path, "postgres", "postgres")
    return path


def _copy_objects(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            shutil.copyfile(path, target / path.name)


def _wait(dsn: str) -> None:
    for _ in range(1200):
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the plain restore's cluster did not start")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from hovor.backup import pgbackrest, postgres
    from hovor.backup.destinations import declared
    from hovor.core.db import make_engine, make_session_factory
    from hovor.files import crypto
    from hovor.files.service import Files

    base = settings_for(args.db, args.data_dir)
    pg_path = base.pgbackrest_pg_path
    if pg_path is None or base.pgbackrest_socket is None:
        return {"skipped": "set the HOVOR_PGBACKREST_* variables (python -m bench.pgcluster env)"}
    bin_dir = postgres._pg_bin(base)
    url = make_url(args.db)
    blob_root = Path(base.resolved_blob_store_url.removeprefix("file://"))
    master = crypto.load_master_key(base.resolved_master_key_file, create=False)
    reps = max(1, min(args.reps, 3))
    backup_s, base_backup_s, restore_s, base_restore_s = [], [], [], []
    size = 0
    phases: list[dict[str, float]] = []
    for _ in range(reps):
        root = Path(tempfile.mkdtemp(prefix="bench-pgbr-", dir=pg_path.parent))
        root.chmod(0o755)
        try:
            places = [{"name": "bench", "url": (root / "dest").as_uri(), "location": "here"}]
            settings = base.model_copy(update={"backup_destinations": json.dumps(places)})
            engine = make_engine(args.db)
            factory = make_session_factory(engine)
            destinations = declared(settings)
            t0 = time.perf_counter()
            made = postgres.take(settings, factory, Files(settings), destinations)
            backup_s.append(time.perf_counter() - t0)
            size = made["size"]
            engine.dispose()

            # The plain tool: pgBackRest alone, into a second repository of the same kind (its
            # stanza made untimed), and the objects copied with shutil.
            both = declared(
                base.model_copy(
                    update={
                        "backup_destinations": json.dumps(
                            [*places, {**places[0], "name": "plain", "url": (root / "plain").as_uri()}]
                        )
                    }
                )
            )
            pgbackrest.write_config(settings, both, master, 3650)
            pgbackrest.command(settings, "stanza-create")
            t0 = time.perf_counter()
            pgbackrest.command(settings, "--type=full", "backup", repo=2)
            _copy_objects(blob_root, root / "plain-blobs")
            base_backup_s.append(time.perf_counter() - t0)

            port, sock = _free_port(), _owned_folder(root / "sock")
            restored_url = url.set(host=None, port=None, query={"host": str(sock), "port": str(port)})
            log = sock / "log"
            target = base.model_copy(
                update={
                    "data_dir": root / "hovor",
                    "database_url": restored_url.render_as_string(hide_password=False),
                    "blob_store_url": None,
                    "master_key_file": base.resolved_master_key_file,
                    "pgbackrest_pg_path": _owned_folder(root / "restored"),
                    "pgbackrest_config": root / "pgbackrest" / "pgbackrest.conf",
                    "pgbackrest_socket": str(sock),
                    "pgbackrest_start_command": (
                        f"runuser -u postgres -- {bin_dir / 'pg_ctl'} -D {root / 'restored'} -l {log} "
                        f"-o \"-p {port} -k {sock} -c listen_addresses='' -c archive_mode=off\" -w start"
                    ),
                }
            )
            t0 = time.perf_counter()
            phases.append(postgres.restore(target, destinations[0], destinations, master)["phases"])
            restore_s.append(time.perf_counter() - t0)
            pgbackrest.write_config(target, both, master, 3650)  # the plain restore's repository too
            _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(root / "restored"), "-m", "immediate", "stop")

            shutil.rmtree(root / "restored")
            _owned_folder(root / "restored")
            t0 = time.perf_counter()
            pgbackrest.command(target, f"--pg1-path={root / 'restored'}", "restore", repo=2)
            options = f"-p {port} -k {sock} -c listen_addresses='' -c archive_mode=off"
            pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(root / "restored")]
            _as_postgres(*pg_ctl, "-l", str(log), "-o", options, "-w", "start")
            _wait(f"host={sock} port={port} user={url.username or 'postgres'} dbname={url.database}")
            _copy_objects(root / "plain-blobs", root / "plain-blobs-restored")
            base_restore_s.append(time.perf_counter() - t0)
            _as_postgres(*pg_ctl, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    result: dict[str, Any] = {
        "runs": reps,
        "database_bytes": size,
        "engine": "postgresql",
        "restore_phases_s": phases,
    }
    for name, ours, plain_s in (("backup", backup_s, base_backup_s), ("restore", restore_s, base_restore_s)):
        a, b = stats_ms(ours), stats_ms(plain_s)
        result[name] = {
            "hovor": a,
            "plain": b,
            "ratio_p50": round(a["p50_ms"] / b["p50_ms"], 2) if b["p50_ms"] else 0.0,
            "target_ratio<=1.5": a["p50_ms"] <= 1.5 * b["p50_ms"],
        }
    return result
