"""``backup_medium`` and ``restore_medium`` (registered into bench.run), SQLite.

backup: ``hovor backup run``'s work to one empty folder destination — SQLite's online backup,
encrypted as it is written, the blob store's objects copied, the ledger shipped, the manifest.
Baseline in the same run: the same online backup with the plain ``sqlite3`` module into a file,
and the same objects copied with ``shutil``.

restore: ``hovor backup restore`` from that destination into an empty data directory — decrypted,
digest checked, objects copied back, the ledger replayed, the WAL truncated. Baseline: the plain
backup file and the objects copied into an empty folder."""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import hovor.models  # noqa: F401 - every mapper, so references across domains resolve
from bench.common import settings_for, stats_ms


def _objects(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]


def _plain_backup(database: Path, blob_root: Path, out: Path) -> float:
    t0 = time.perf_counter()
    source, target = sqlite3.connect(database), sqlite3.connect(out / "backup.db")
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    for path in _objects(blob_root):
        shutil.copyfile(path, out / path.name)
    return time.perf_counter() - t0


def _plain_restore(out: Path, into: Path) -> float:
    t0 = time.perf_counter()
    into.mkdir(parents=True)
    for path in out.iterdir():
        shutil.copyfile(path, into / path.name)
    return time.perf_counter() - t0


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from hovor.backup import service
    from hovor.backup.destinations import declared
    from hovor.core.db import make_engine, make_session_factory
    from hovor.files import crypto
    from hovor.files.service import Files

    if not args.db.startswith("sqlite"):
        from bench import pg_backups

        return pg_backups.run(args)
    base = settings_for(args.db, args.data_dir)
    database = Path(make_url(args.db).database or "")
    blob_root = Path(base.resolved_blob_store_url.removeprefix("file://"))
    reps = max(1, min(args.reps, 3))
    backup_s, base_backup_s, restore_s, base_restore_s = [], [], [], []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=database.parent) as scratch:
            root = Path(scratch)
            places = [{"name": "bench", "url": (root / "dest").as_uri(), "location": "here"}]
            settings = base.model_copy(update={"backup_destinations": json.dumps(places)})
            engine = make_engine(args.db)
            factory = make_session_factory(engine)
            files = Files(settings)
            destinations = declared(settings)
            t0 = time.perf_counter()
            service.take(settings, factory, files, destinations)
            backup_s.append(time.perf_counter() - t0)
            engine.dispose()
            (root / "plain").mkdir()
            base_backup_s.append(_plain_backup(database, blob_root, root / "plain"))
            target = base.model_copy(
                update={
                    "data_dir": root / "restored",
                    "database_url": None,
                    "blob_store_url": None,
                    "master_key_file": base.resolved_master_key_file,
                }
            )
            master = crypto.load_master_key(base.resolved_master_key_file, create=False)
            t0 = time.perf_counter()
            service.restore(target, destinations[0], master)
            restore_s.append(time.perf_counter() - t0)
            base_restore_s.append(_plain_restore(root / "plain", root / "plain-restored"))
    result: dict[str, Any] = {"runs": reps, "database_bytes": database.stat().st_size}
    for name, ours, plain in (
        ("backup", backup_s, base_backup_s),
        ("restore", restore_s, base_restore_s),
    ):
        a, b = stats_ms(ours), stats_ms(plain)
        result[name] = {
            "hovor": a,
            "plain": b,
            "ratio_p50": round(a["p50_ms"] / b["p50_ms"], 2) if b["p50_ms"] else 0.0,
            "target_ratio<=1.5": a["p50_ms"] <= 1.5 * b["p50_ms"],
        }
    return result


def backup_medium(args: argparse.Namespace) -> dict[str, Any]:
    return _run(args)
