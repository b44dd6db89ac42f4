"""The ``shred`` and ``compact`` steps: what the anonymize step left behind outside its rows.

The blobs' keys were destroyed in the anonymize step's transactions, so no copy of an object can be
read from then on; ``shred`` deletes the objects from the store and then their rows. ``compact``
leaves no erased bytes in the database's files (:mod:`hovor.privacy.compaction`).
"""

from __future__ import annotations

from typing import Any

from hovor.core.db import Base, unit_of_work
from hovor.jobs import service as jobs
from hovor.privacy import compaction


def step_shred(run: jobs.Run) -> None:
    """Delete the objects of destroyed blobs (their keys went in the anonymize step)."""
    while run.env.files.reap(run.env.factory, 1000):
        with unit_of_work(run.env.factory) as session:
            run.beat(session)


def touched_tables(progress: dict[str, Any]) -> list[str]:
    """The tables an erasure changed rows of, from its counts (and the indexes and contacts it
    always touches)."""
    tables = {"identifiers", "search_entries", "crm_contacts", "blobs"}
    for group in ("anonymized", "mentions"):
        tables |= {name.split(".", 1)[0] for name in (progress.get(group) or {})}
    tables |= set(progress.get("deleted") or {})
    return sorted(t for t in tables if t in Base.metadata.tables)


def step_compact(run: jobs.Run) -> None:
    """SQLite: the search index's segments merged and the WAL truncated now. PostgreSQL: the
    touched tables go to the compaction job (:mod:`hovor.privacy.compaction`), which rewrites them
    once for every erasure of a short while instead of once per erasure."""
    engine = run.env.engine
    if engine.dialect.name != "postgresql":
        compaction.compact_sqlite(engine)
        return
    with unit_of_work(run.env.factory) as session:
        name = compaction.schedule(session, run.tenant_id, touched_tables(run.progress), run.env.settings)
        run.beat(session, {"compaction": name})
