"""Taking, listing, pruning, restoring and drilling backups (SQLite, the embedded default).

A backup is SQLite's online backup of the database (consistent while hovor runs), encrypted
(AES-256-GCM in hovor's blob format, its data key wrapped by a key derived from the master key),
written to every declared destination with a manifest; the blob store's objects are copied there
too (they are ciphertext already). A restore decrypts the snapshot into an empty data directory,
copies the blobs back, replays the restore ledger from the backup's time on (refusing to start
without a ledger unless the operator states why), destroys again every key shredded since, makes
the files forget what the replay removed, and only then removes the marker that keeps
``hovor serve`` from starting on a half-restored directory.

PostgreSQL is backed up by pgBackRest (docs/operations.md); ``replay`` does the ledger part for a
database restored by it, or by any other tool.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import logging
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hovor.audit import log as audit
from hovor.backup import chains, ledger, objects
from hovor.backup import pgbackrest as pgbr
from hovor.backup.destinations import Destination, Folder
from hovor.backup.replay import replay
from hovor.core.config import Settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from hovor.files import crypto
from hovor.files.models import Blob, ShreddedKey
from hovor.files.service import Files
from hovor.files.stores import LocalStore
from hovor.privacy.compaction import compact_sqlite, drop_old_wal, touched_tables, truncate_wal, vacuum
from hovor.privacy.models import MentionRedaction
from hovor.tenancy.models import Tenant

log = logging.getLogger("hovor.backup")
MARKER = "RESTORING"
ACTOR = audit.Actor.system("backup")


class BackupError(Exception):
    """What the operator must know: said in one line, never with personal data."""


@contextmanager
def backup_lock(data_dir: Path, what: str = "backup") -> Iterator[bool]:
    """Whether this process holds the machine's lock for ``what`` (not waiting for it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / f".{what}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _kek(master: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hovor-backup", info=b"snapshots").derive(master)


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.resolved_database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupError(
            "PostgreSQL is backed up with pgBackRest (docs/operations.md); `hovor backup replay` "
            "then replays the restore ledger into the restored database"
        )
    return Path(url.database or "")


def _pieces(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as src:
        while piece := src.read(size):
            yield piece


def take(
    settings: Settings,
    factory: sessionmaker[Session],
    files: Files,
    destinations: list[Destination],
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """One backup to every destination; its manifest (written last: a backup without one is
    incomplete and ignored)."""
    if not destinations:
        raise BackupError("no backup destination is declared (HOVOR_BACKUP_DESTINATIONS)")
    database = _sqlite_path(settings)
    started = utcnow()
    backup_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    ledger.ship(factory, settings.data_dir, destinations)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".backup-") as scratch:
        snapshot = Path(scratch) / "snapshot.db"
        source = sqlite3.connect(database)
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)  # SQLite's online backup: one consistent snapshot
            revision = target.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        finally:
            target.close()
            source.close()
        data_key = crypto.new_key()
        encryptor = crypto.Encryptor(data_key, backup_id)
        digest = hashlib.sha256()
        header = b""

        def sealed() -> Iterator[bytes]:
            nonlocal header
            for piece in encryptor.encrypt(_pieces(snapshot)):
                header = header or piece[: crypto.HEADER_SIZE]
                digest.update(piece)
                yield piece

        # Encrypted as it is written to the first destination; the others copy that object.
        name = f"backups/{backup_id}/database.hvb"
        first, *others = destinations
        first.place.put(name, sealed())
        snapshot.unlink()
        for i, destination in enumerate(others, 2):
            destination.place.put(name, first.place.get(name))
            if progress:
                progress("database", i, len(destinations))
    objects = copy_blobs(factory, files, destinations, progress)
    shipped = ledger.ship(factory, settings.data_dir, destinations)
    manifest = {
        "id": backup_id,
        "started": started.isoformat(),
        "finished": utcnow().isoformat(),
        "database": "sqlite",
        "revision": revision,
        "size": encryptor.plain_size,
        "sha256": digest.hexdigest(),
        "header": base64.b64encode(header).decode(),
        "key": base64.b64encode(crypto.wrap(_kek(files.master), data_key, backup_id)).decode(),
        "blobs": len(objects),
        # The blob objects this backup's database refers to: what pruning keeps at a destination.
        "objects": objects,
        "ledger_entries_shipped": shipped,
        "destinations": [{"name": d.name, "location": d.location} for d in destinations],
    }
    for destination in destinations:
        destination.write_json(f"backups/{backup_id}/manifest.json", manifest)
    with unit_of_work(factory) as session:
        for (tenant_id,) in session.execute(select(Tenant.id)):
            audit.record(
                session,
                tenant_id,
                "platform.backup.take",
                ACTOR,
                "backups",
                backup_id,
                {"blobs": len(objects)},
            )
    return manifest


def copy_blobs(
    factory: sessionmaker[Session],
    files: Files,
    destinations: list[Destination],
    progress: Callable[[str, int, int], None] | None,
) -> list[str]:
    """Every live blob's object to every destination that lacks it (objects never change)."""
    with factory() as session:
        keys = sorted(session.scalars(select(Blob.store_key).where(Blob.wrapped_key.is_not(None))))
    store = files.store
    for destination in destinations:
        place = destination.place
        there = {n.removeprefix("blobs/") for n in place.names("blobs/")}
        todo = [k for k in keys if k not in there]
        for i, key in enumerate(todo, 1):
            if isinstance(store, LocalStore) and isinstance(place, Folder):
                place.put_file(f"blobs/{key}", store.path(key))
            else:
                place.put(f"blobs/{key}", store.read(key))
            if progress:
                progress(f"blobs → {destination.name}", i, len(todo))
    return keys


DRILLED = "last-drill"


def newest(destinations: list[Destination]) -> dt.datetime | None:
    """When the newest complete backup at any destination was started."""
    times = []
    for destination in destinations:
        try:
            found = listed(destination)
        except Exception:
            log.warning("backup destination %s cannot be listed now", destination.name)
            continue  # an unreachable destination: the others say
        if found:
            times.append(dt.datetime.fromisoformat(found[0]["started"]))
    return max(times) if times else None


def last_drill(data_dir: Path) -> dt.datetime | None:
    path = data_dir / DRILLED
    try:
        return dt.datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None


def listed(destination: Destination) -> list[dict[str, Any]]:
    """The complete backups a destination holds, newest first."""
    out = []
    for name in destination.place.names("backups/"):
        if name.endswith("/manifest.json"):
            out.append(destination.read_json(name))
    return sorted(out, key=lambda m: m["started"], reverse=True)


def prune(settings: Settings, factory: sessionmaker[Session], destinations: list[Destination]) -> list[str]:
    """Keeps the newest backup of each of the last N days, weeks and months; drops the rest, and
    every backup older than the longest retention a tenant contracted plus the margin."""
    with factory() as session:
        longest = session.scalar(select(func.max(Tenant.retention_days)))
    limit = utcnow() - dt.timedelta(days=(longest or 3650) + settings.backup_margin_days)
    dropped: set[str] = set()
    forget_ledger(factory, destinations, limit)
    for destination in destinations:
        backups = listed(destination)
        keep: set[str] = set()
        for count, period in (
            (settings.backup_keep_daily, "%Y-%m-%d"),
            (settings.backup_keep_weekly, "%G-W%V"),
            (settings.backup_keep_monthly, "%Y-%m"),
        ):
            seen: list[str] = []
            for manifest in backups:
                label = dt.datetime.fromisoformat(manifest["started"]).strftime(period)
                if label not in seen and len(seen) < count:
                    seen.append(label)
                    keep.add(manifest["id"])
        # A differential backup needs the full one it was taken against.
        priors = {m["id"]: m.get("prior") for m in backups}
        for kept in list(keep):
            prior = priors.get(kept)
            while prior:
                keep.add(prior)
                prior = priors.get(prior)
        going = {
            m["id"] for m in backups if m["id"] not in keep or dt.datetime.fromisoformat(m["started"]) < limit
        }
        for manifest in reversed(backups):  # oldest first
            if manifest.get("prior") in going:
                going.add(manifest["id"])  # nothing to restore it against
            if manifest["id"] not in going:
                continue
            if manifest.get("database") == "postgresql" and manifest.get("prior") not in going:
                # pgBackRest drops the set with the differential backups taken against it.
                index = pgbr.repo_of(destinations, destination.name).index
                pgbr.command(settings, f"--set={manifest['id']}", "expire", repo=index)
            destination.place.delete(f"backups/{manifest['id']}")
            dropped.add(manifest["id"])
        _drop_unreferenced(destination, [m for m in backups if m["id"] not in dropped])
    return sorted(dropped)


def _drop_unreferenced(destination: Destination, kept: list[dict[str, Any]]) -> None:
    """Blob objects no kept backup refers to go: an erased person's ciphertext does not stay
    behind the backups that held its keys. (Backups from before manifests listed their objects
    keep every object until they are gone.)"""
    if any("objects" not in m for m in kept):
        return
    referenced = {key for m in kept for key in m["objects"]}
    for name in destination.place.names("blobs/"):
        if name.removeprefix("blobs/") not in referenced:
            destination.place.delete(name)


def forget_ledger(
    factory: sessionmaker[Session], destinations: list[Destination], limit: dt.datetime
) -> None:
    """What only backups older than ``limit`` could need goes: no backup that old is kept. The
    keyed hashes of an erased person's names leave the database and every destination then."""
    with unit_of_work(factory) as session:
        for model in (ShreddedKey, MentionRedaction):
            session.execute(delete(model).where(model.at < limit))
    stamp = (limit - ledger.OVERLAP).strftime("%Y%m%dT%H%M%S")
    for destination in destinations:
        for name in destination.place.names("ledger/"):
            if name.endswith(".jsonl") and name.removeprefix("ledger/")[:15] < stamp:
                destination.place.delete(name)


def _find(destination: Destination, backup_id: str | None) -> dict[str, Any]:
    backups = listed(destination)
    chosen = [m for m in backups if backup_id in (None, m["id"])]
    if not chosen:
        raise BackupError(f"no complete backup {backup_id or ''} at {destination.name}".replace("  ", " "))
    return chosen[0]


def restore(
    settings: Settings,
    destination: Destination,
    master: bytes,
    *,
    backup_id: str | None = None,
    without_ledger: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Restores a backup into ``settings``' data directory, which must hold no database yet, and
    replays the ledger. Returns what was done."""
    database = _sqlite_path(settings)
    if database.exists():
        raise BackupError(f"{database} exists: restore into an empty data directory")
    manifest = _find(destination, backup_id)
    started = dt.datetime.fromisoformat(manifest["started"])
    try:
        entries = ledger.read(destination, started - ledger.OVERLAP)
    except ledger.LedgerMissing:
        if not without_ledger:
            raise BackupError(
                f"{destination.name} holds no restore ledger: the backup would bring back every person "
                "erased since it was taken. Give --without-ledger REASON to restore anyway (audited)."
            ) from None
        entries = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.data_dir / MARKER
    marker.write_text(f"restoring {manifest['id']} from {destination.name}\n")
    t0 = time.monotonic()
    database.parent.mkdir(parents=True, exist_ok=True)
    files = Files(settings)
    early = objects.folder_to_store(files, destination)
    if early is not None and "objects" in manifest:
        early.start(manifest["objects"])  # beside the decryption
    try:
        _decrypt_snapshot(destination, manifest, master, database)
    except BaseException:
        if early is not None:
            early.abandon()
        raise
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    copied, missing = restore_blobs(factory, files, destination, early, progress)
    counts = replay(factory, files, settings.secret_key, entries)
    files.reap(factory, limit=10**9)
    compact_sqlite(engine)  # what the replay removed from the search index too
    with unit_of_work(factory) as session:
        for (tenant_id,) in session.execute(select(Tenant.id)):
            details: dict[str, Any] = {"backup": manifest["id"], "replayed": len(entries), "blobs": copied}
            if without_ledger:
                details["without_ledger"] = without_ledger[:200]
            audit.record(
                session, tenant_id, "platform.backup.restore", ACTOR, "backups", manifest["id"], details
            )
    truncate_wal(engine)
    engine.dispose()
    if counts.get("failed"):
        # Someone may be brought back: the directory stays marked, so nothing serves from it.
        raise BackupError(
            f"{counts['failed']} ledger entr{'y' if counts['failed'] == 1 else 'ies'} could not be "
            f"replayed (the log names them); fix the cause and run `hovor backup replay --since "
            f"{manifest['started']}`, which unmarks the directory once every entry replays"
        )
    marker.unlink()
    return {
        "backup": manifest["id"],
        "started": manifest["started"],
        "replayed": len(entries),
        "outcomes": counts,
        "blobs": copied,
        # Objects the restored database refers to that the destination does not hold: their
        # recordings and attachments will not play (a destination that lost them, or a backup
        # whose copy did not finish).
        "missing_blobs": missing,
        "seconds": round(time.monotonic() - t0, 2),
    }


def _decrypt_snapshot(
    destination: Destination, manifest: dict[str, Any], master: bytes, database: Path
) -> None:
    """The snapshot decrypted into ``database``, its digest checked."""
    data_key = crypto.unwrap(_kek(master), base64.b64decode(manifest["key"]), manifest["id"])
    layout = crypto.Layout(base64.b64decode(manifest["header"]), manifest["size"])
    sealed = destination.place.get(f"backups/{manifest['id']}/database.hvb")
    digest = hashlib.sha256()

    def checked() -> Iterator[bytes]:
        for piece in sealed:
            digest.update(piece)
            yield piece

    chunks = crypto.decrypt_chunks(
        data_key, manifest["id"], layout, 0, layout.chunks - 1, _skip(checked(), crypto.HEADER_SIZE)
    )
    # Owner-only from its first byte: it is the whole platform's personal data in clear.
    with os.fdopen(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        try:
            # A write per 16 chunks (a megabyte), not per chunk: the copies of blob objects running
            # beside this on other threads wait for the interpreter less often.
            while batch := list(islice(chunks, 16)):
                out.write(b"".join(batch))
        except BaseException:
            database.unlink()  # half a database is no restore to retry over
            raise
    if digest.hexdigest() != manifest["sha256"]:
        database.unlink()
        raise BackupError("the snapshot does not match its manifest's digest")


def _skip(stream: Iterator[bytes], n: int) -> Iterator[bytes]:
    """``stream`` without its first ``n`` bytes (the header, known from the manifest)."""
    for piece in stream:
        if n >= len(piece):
            n -= len(piece)
            continue
        yield piece[n:]
        n = 0


def restore_blobs(
    factory: sessionmaker[Session],
    files: Files,
    destination: Destination,
    early: objects.FolderToStore | None,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[int, int]:
    """The objects the restored database refers to, into the store: (copied, not at the destination)."""
    with factory() as session:
        keys = sorted(session.scalars(select(Blob.store_key).where(Blob.wrapped_key.is_not(None))))
    if early is None:
        return objects.one_by_one(files, destination, keys, progress)
    copied, missing = early.finish(keys, progress)
    if copied:
        os.sync()  # once for every copy (a sync per object, as an upload does, costs more than them)
    return copied, missing


def replay_into(
    settings: Settings, destination: Destination, since: dt.datetime, without_ledger: str | None = None
) -> dict[str, int]:
    """The ledger part of a restore, for a database restored by another tool (pgBackRest)."""
    try:
        entries = ledger.read(destination, since - ledger.OVERLAP)
    except ledger.LedgerMissing:
        if not without_ledger:
            raise BackupError(f"{destination.name} holds no restore ledger") from None
        entries = []
    engine = make_engine(settings.resolved_database_url)
    try:
        factory = make_session_factory(engine)
        files = Files(settings)
        counts = replay(factory, files, settings.secret_key, entries)
        files.reap(factory, limit=10**9)
        if engine.dialect.name == "postgresql":
            # What the replay removed still sits in the old row versions: the tables it changed
            # are rewritten (the statistics of a restored cluster begin at its recovery).
            engine.dispose()  # the replay's sessions end, and their counts reach the statistics
            vacuum(engine, touched_tables(engine))
            if not drop_old_wal(engine):
                log.warning("old WAL segments may stay in pg_wal: no superuser, or the archiver is behind")
        else:
            compact_sqlite(engine)
        if not counts.get("failed"):
            (settings.data_dir / MARKER).unlink(missing_ok=True)
        return counts
    finally:
        engine.dispose()


def drill(
    settings: Settings,
    factory: sessionmaker[Session],
    destination: Destination,
    master: bytes,
    public: Any,
    checkpoints: Path | None = None,
) -> dict[str, Any]:
    """Restores the newest backup into a scratch directory, replays the ledger, checks the
    database's integrity and every audit chain against the exported checkpoints the operator keeps
    (``checkpoints``, else ``HOVOR_AUDIT_CHECKPOINTS_FILE``); audits the result, per tenant, in the
    live database."""
    t0 = time.monotonic()
    try:
        exported = chains.load(checkpoints or settings.audit_checkpoints_file)
    except chains.CheckpointsUnreadable as exc:
        raise BackupError(str(exc)) from None
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".drill-") as scratch:
        scratch_settings = settings.model_copy(
            update={"data_dir": Path(scratch), "database_url": None, "blob_store_url": None}
        )
        scratch_settings.data_dir.mkdir(exist_ok=True)
        if settings.master_key_file is None:  # the scratch directory's own default place for it
            key_file = Path(scratch) / "master.key"
            key_file.write_text(base64.b64encode(master).decode())
            key_file.chmod(0o600)
        done = restore(scratch_settings, destination, master)
        db = _sqlite_path(scratch_settings)
        conn = sqlite3.connect(db)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        taken = dt.datetime.fromisoformat(done["started"])
        engine = make_engine(scratch_settings.resolved_database_url)
        try:
            with make_session_factory(engine)() as session:
                verified = chains.verify(session, [public], exported or [], taken)
        finally:
            engine.dispose()
    return drilled(settings, factory, done, integrity, verified, exported is not None, t0)


def drilled(
    settings: Settings,
    factory: sessionmaker[Session],
    done: dict[str, Any],
    integrity: str,
    verified: dict[str, dict[str, Any]],
    against_exported: bool,
    t0: float,
) -> dict[str, Any]:
    """A drill's report (either database): recorded as the last drill and audited."""
    result = {
        **done,
        "integrity": integrity,
        "chains_ok": all(c["ok"] for c in verified.values()),
        "chains": len(verified),
        # Whether the chains were held against checkpoints kept outside the database at all.
        "exported_checkpoints": against_exported,
        "per_chain": verified,
        "seconds": round(time.monotonic() - t0, 2),
    }
    ok = integrity == "ok" and result["chains_ok"]
    (settings.data_dir / DRILLED).write_text(utcnow().isoformat())
    audit_drill(factory, done, verified, ok, int(result["seconds"] * 1000), against_exported)
    return result


def audit_drill(
    factory: sessionmaker[Session],
    done: dict[str, Any],
    verified: dict[str, dict[str, Any]],
    ok: bool,
    milliseconds: int,
    against_exported: bool,
) -> None:
    """In each live tenant's log (and the platform's, when its chain was checked): the drill's
    outcome and its own chain's: counts and the first broken entry's number, nothing more."""
    base = {
        "ok": ok,
        "milliseconds": milliseconds,
        "replayed": done["replayed"],
        "exported": against_exported,
    }
    with unit_of_work(factory) as session:
        live = list(session.scalars(select(Tenant.id)))
        if audit.PLATFORM in verified:
            live.append(audit.PLATFORM)
        for tenant_id in live:
            chain = verified.get(tenant_id)
            details: dict[str, Any] = {**base, "chain_restored": chain is not None}
            if chain is not None:
                details["chain_ok"] = chain["ok"]
                details["exported_checkpoints"] = chain["exported_checkpoints"]
                if chain["first_broken"]:
                    details["first_broken"] = chain["first_broken"]["seq"]
            audit.record(
                session, tenant_id, "platform.backup.drill", ACTOR, "backups", done["backup"], details
            )
