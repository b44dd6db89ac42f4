"""Leaving no erased bytes in the database's files (docs/privacy.md says what each engine keeps).

SQLite: ``secure_delete`` has zeroed freed cells and pages already; the search index's FTS5 segments,
which keep a deleted entry's trigrams until they merge, are merged; the WAL, which still holds the
pages as they were, is checkpointed and truncated right after the erasure.

PostgreSQL: an UPDATE or DELETE leaves the old row version's bytes in its page, and a plain VACUUM
only marks the space free (it does not zero it, in heap or index pages), so the touched tables are
rewritten with VACUUM FULL, which writes new files and drops the old ones. That locks each table
while it is rewritten and costs time in proportion to the table, not to the erasure, so it is a
job of its own (``compact``): erasures within ``erasure_compact_delay_seconds`` of each other share
one rewrite.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import literal, select, text
from sqlalchemy.orm import Session

from hovor.core.config import Settings
from hovor.core.db import Base, utcnow
from hovor.index import search
from hovor.jobs import service as jobs
from hovor.jobs.models import QUEUED, Job

KIND = "compact"


def truncate_wal(engine: Any) -> None:
    with engine.connect() as conn:
        if conn.exec_driver_sql("PRAGMA secure_delete").scalar() != 1:
            raise RuntimeError("SQLite secure_delete is off; erased rows would stay in free pages")
    # Readers that hold an old snapshot keep the WAL's frames in use; wait for them briefly.
    for _ in range(100):
        with engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy is not None and busy[0] == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("the SQLite WAL could not be truncated; a reader held it too long")


def compact_sqlite(engine: Any) -> None:
    """What erasure leaves in a SQLite file beyond its rows: the search index's trigrams of deleted
    entries, kept in FTS5 segments until they merge (merged now, their pages zeroed by
    ``secure_delete``), and the WAL's old pages (truncated)."""
    with engine.begin() as conn:
        search.merge_segments(conn)
    truncate_wal(engine)


def schedule(session: Session, tenant_id: str, tables: Iterable[str], settings: Settings) -> str:
    """Adds the tables to the compaction job waiting to run, or enqueues one. Returns its name."""
    wanted = sorted(set(tables) & set(Base.metadata.tables))
    waiting = session.scalars(
        select(Job)
        .where(Job.kind == KIND, Job.state == QUEUED)
        .order_by(Job.created)
        .limit(1)
        .with_for_update()
    ).first()
    if waiting is not None:
        waiting.params = {"tables": sorted(set(waiting.params.get("tables", [])) | set(wanted))}
        return waiting.name
    job = jobs.enqueue(session, tenant_id, KIND, {"tables": wanted}, created_by=None, target=None)
    job.run_after = utcnow() + dt.timedelta(seconds=settings.erasure_compact_delay_seconds)
    return job.name


def wait_for_older_snapshots(conn: Any, seconds: float = 30.0) -> None:
    """VACUUM FULL copies a row version that an open transaction could still see, dead or not:
    it waits until every other transaction of this database began after now. (A transaction
    older than ``seconds`` makes the step fail; the job retries later.)"""
    horizon = int(conn.execute(text("SELECT pg_current_xact_id()::text")).scalar())
    older = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
        " AND age(backend_xmin) >= age(CAST(CAST(:h AS text) AS xid))"
    )
    deadline = time.monotonic() + seconds
    while conn.execute(older, {"h": horizon % 2**32}).scalar():
        if time.monotonic() > deadline:
            raise RuntimeError("a transaction older than the erasure is still open; compaction will retry")
        time.sleep(0.05)


_NOT_REMOVABLE = re.compile(r"(\d+) dead row versions cannot be removed yet")


def _rewrite(conn: Any, target: str, options: str = "FULL", seconds: float = 30.0) -> None:
    """VACUUM FULL of ``target`` until it reports no dead row version it had to keep: a row
    version some transaction could still see is copied into the new file. Such a transaction can
    be one the horizon check did not see (another database's work can hold the horizon back), so
    the rewrite's own report is what decides. Fails after ``seconds``; the job retries later."""
    notices: list[str] = []
    raw = conn.connection.driver_connection
    handler = lambda diag: notices.append(f"{diag.message_primary} {diag.message_detail}")  # noqa: E731
    raw.add_notice_handler(handler)
    try:
        deadline = time.monotonic() + seconds
        while True:
            notices.clear()
            conn.execute(text(f"VACUUM ({options}, VERBOSE) {target}"))
            kept = sum(int(m.group(1)) for n in notices for m in _NOT_REMOVABLE.finditer(n))
            if not kept:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("dead row versions could not be removed yet; compaction will retry")
            time.sleep(0.2)
    finally:
        raw.remove_notice_handler(handler)


def vacuum(engine: Any, tables: Iterable[str]) -> None:
    known = set(Base.metadata.tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        wait_for_older_snapshots(conn)
        for table in tables:
            if table not in known:  # names from the metadata only, never from input
                continue
            _rewrite(conn, f'"{table}"', "FULL, ANALYZE")
            # VACUUM FULL leaves the new files without a visibility map, and autovacuum, seeing no
            # dead rows, may not make one for months: until then every count that an index could
            # answer alone visits the table (a list page's total at the large size, 4.6 → 19 ms).
            # A plain VACUUM of the new files makes it; it writes no row.
            conn.execute(text(f'VACUUM "{table}"'))
            if (
                conn.execute(select(literal(1)).select_from(Base.metadata.tables[table]).limit(1)).first()
                is None
            ):
                _drop_statistics(conn, table)
        # Content columns keep no statistics (migration 0008); identifier columns' statistics were
        # just rebuilt, and the old versions of pg_statistic's rows may still sit in its pages.
        # Only a superuser may rewrite it; without the right this is skipped (docs/privacy.md).
        if conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            # The statistics were rewritten just now: their old versions are dead only once no
            # transaction that began before can see them.
            wait_for_older_snapshots(conn)
            _rewrite(conn, "pg_statistic")


def _drop_statistics(conn: Any, table: str) -> None:
    """ANALYZE of an empty table keeps the statistics it had (with sample values of rows now
    gone); changing a column to its own type drops them, which the table's owner may do."""
    rows = conn.execute(
        text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_statistic s"
            " JOIN pg_attribute a ON a.attrelid = s.starelid AND a.attnum = s.staattnum"
            " WHERE s.starelid = CAST(:table AS regclass)"
        ),
        {"table": f'"{table}"'},
    ).all()
    for column, kind in rows:
        conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {kind}'))


def step_vacuum(run: jobs.Run) -> None:
    vacuum(run.env.engine, run.params.get("tables", []))


jobs.register(KIND, [("vacuum", step_vacuum)])


def drop_old_wal(engine: Any, rounds: int = 3, seconds: float = 120.0) -> bool:
    """PostgreSQL: the WAL segments written before now leave pg_wal — removed, not recycled (a
    recycled segment keeps its old bytes until overwritten). Segments wait for the archiver:
    this waits for each switched segment to be archived when archiving is on. Needs a superuser;
    whether every round's segment was archived (False: older segments may stay until they are)."""
    archived_all = True
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            return False
        archiving = conn.execute(text("SHOW archive_mode")).scalar() != "off"
        conn.execute(text("ALTER SYSTEM SET wal_recycle = off"))
        conn.execute(text("SELECT pg_reload_conf()"))
        try:
            for _ in range(rounds):
                conn.execute(text("CHECKPOINT"))
                segment = conn.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar()
                deadline = time.monotonic() + seconds
                while archiving:
                    last = conn.execute(text("SELECT last_archived_wal FROM pg_stat_archiver")).scalar()
                    if last is not None and last[:24] >= segment:
                        break
                    if time.monotonic() > deadline:
                        archived_all = False
                        break
                    time.sleep(0.2)
            conn.execute(text("CHECKPOINT"))
        finally:
            conn.execute(text("ALTER SYSTEM RESET wal_recycle"))
            conn.execute(text("SELECT pg_reload_conf()"))
    return archived_all


def touched_tables(engine: Any) -> list[str]:
    """PostgreSQL: hovor's tables with rows updated or deleted since the statistics began (a
    restored cluster's begin at its recovery): what a ledger replay changed, for ``vacuum``."""
    query = text(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
        " AND n_tup_upd + n_tup_del + n_tup_hot_upd + n_dead_tup > 0"
    )
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    with engine.connect() as conn:
        # A session reports its counts as it ends: the replay's have to be gone first.
        for _ in range(100):
            if not conn.execute(others).scalar():
                break
            time.sleep(0.1)
        found = set(conn.execute(query).scalars())
    return sorted(found & set(Base.metadata.tables))
