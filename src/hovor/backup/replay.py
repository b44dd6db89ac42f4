"""Doing again, in a restored database, what the restore ledger says happened after its backup.

- A tombstone whose record was **deleted**: the record is deleted again as its resource deletes it
  (its blobs shredded, its children with it).
- A tombstone whose record was **kept** with whole parts removed (``call_recordings``,
  ``call_transcripts``, ``messages``, ``attachments``: a DPO delete, a transcript sweep): those
  rows of the record go again.
- A tombstone whose record was **kept** anonymized (fields ``table.column``): the record is
  anonymized again as retention anonymizes (the registry column by column; free text that
  erasure redacted is replaced whole, since the person's name is not in the ledger).
- A **shred**: the blob's key is destroyed again.
- A **mention**: the rows listed are redacted again by the keyed hashes of what was taken out.
- A **purge** (a tenant's contract ended): its keys are destroyed and every row of it deleted
  again; the blob objects go with the reaper.

Each is idempotent, so entries replayed twice (a shipment's overlap) change nothing more.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hovor.api.resource import REGISTRY
from hovor.audit.keys import Pseudonyms
from hovor.auth.service import system_caller
from hovor.backup.ledger import model_of, typed_key
from hovor.core.db import Base, unit_of_work, utcnow
from hovor.files.models import Blob, TenantKey
from hovor.files.service import Files
from hovor.index import search
from hovor.privacy.contract import purge
from hovor.privacy.erasure import CHILDREN, MODELS, Blank, anonymize_records
from hovor.privacy.erasure.columns import fit, map_text
from hovor.privacy.redact import HashedRedactor
from hovor.tenancy.models import Tenant

log = logging.getLogger("hovor.backup")

# A kept record's parts that go whole: (table, column holding the record's key).
PARTS = {
    model.__tablename__: column
    for children in CHILDREN.values()
    for model, column in children
    if model.__tablename__ in ("call_recordings", "call_transcripts", "messages", "attachments")
}


def _delete_record(session: Session, files: Files, entry: dict[str, Any]) -> int:
    resource = REGISTRY.get(entry["type"])
    model = model_of(entry["type"])
    if model is None:
        return 0
    obj = session.get(model, (entry["tenant"], typed_key(model, entry["key"])))
    if obj is None:
        return 0
    if resource is not None and resource.delete is not None and resource.model is model:
        caller = system_caller(session, entry["tenant"], user="restore")
        extra = {"files": files} if resource.uses_files else {}
        resource.delete(session, caller, obj, **extra)
    else:
        blob = getattr(obj, "blob", None)
        if isinstance(blob, str):
            files.destroy_keys(session, entry["tenant"], [blob])
        session.delete(obj)
    session.flush()
    return 1


def _remove_parts(session: Session, files: Files, entry: dict[str, Any]) -> int:
    removed = 0
    for table_name in entry["fields"]:
        column = PARTS.get(table_name)
        if column is None:
            continue
        table = Base.metadata.tables[table_name]
        where = [table.c.tenant_id == entry["tenant"], table.c[column] == entry["key"]]
        if "blob" in table.c:
            blobs = list(session.scalars(select(table.c.blob).where(*where)))
            files.destroy_keys(session, entry["tenant"], blobs)
        removed += session.execute(delete(table).where(*where)).rowcount or 0  # type: ignore[attr-defined]
    return removed


def _tombstone(session: Session, files: Files, entry: dict[str, Any]) -> str:
    if entry["outcome"] == "deleted":
        return "deleted" if _delete_record(session, files, entry) else "nothing"
    fields = entry["fields"]
    if fields and all("." not in f for f in fields):
        return "parts" if _remove_parts(session, files, entry) else "nothing"
    if entry["type"] in MODELS and any("." in f for f in fields):
        model = MODELS[entry["type"]]
        if session.get(model, (entry["tenant"], typed_key(model, entry["key"]))) is None:
            return "nothing"
        anonymize_records(
            session,
            files,
            entry["tenant"],
            entry["type"],
            [entry["key"]],
            Blank(),
            action="restore",
            job=None,
        )
        return "anonymized"
    return "nothing"


def _shred(session: Session, entry: dict[str, Any]) -> str:
    done = session.execute(
        update(Blob)
        .where(Blob.tenant_id == entry["tenant"], Blob.name == entry["blob"], Blob.wrapped_key.is_not(None))
        .values(wrapped_key=None, destroyed=utcnow())
    )
    return "shredded" if done.rowcount else "nothing"  # type: ignore[attr-defined]


def _mention(session: Session, entry: dict[str, Any], pseudonyms: Pseudonyms, country: str) -> str:
    redactor = HashedRedactor(country, entry["tenant"], pseudonyms, entry["hashes"])
    changed = 0
    for table_name, key, fields in entry["rows"]:
        table = Base.metadata.tables.get(table_name)
        if table is None:
            continue
        where = [table.c[name] == value for name, value in key.items()]
        row = session.execute(select(*table.c).where(*where)).mappings().first()
        if row is None:
            continue
        values = {}
        for field in fields:
            column = table.c[field.split(".", 1)[1]]
            value = row[column.name]
            redacted = fit(column, map_text(value, redactor.mentions))
            if redacted != value:
                values[column.name] = redacted
        if values:
            session.execute(update(table).where(*where).values(**values))
            search.refresh_row(session, table_name, {**key, "tenant_id": entry["tenant"]})
            changed += 1
    return "redacted" if changed else "nothing"


def _purge(session: Session, files: Files, entry: dict[str, Any]) -> str:
    """The tenant goes again, whole: its keys destroyed (every blob of it unreadable) and its
    objects deleted, then every row of it, children before parents, then the tenant."""
    tenant_id = entry["tenant"]
    session.execute(
        update(TenantKey).where(TenantKey.tenant_id == tenant_id).values(wrapped=None, destroyed=utcnow())
    )
    objects = list(session.scalars(select(Blob.store_key).where(Blob.tenant_id == tenant_id)))
    session.execute(
        update(Blob).where(Blob.tenant_id == tenant_id).values(wrapped_key=None, destroyed=utcnow())
    )
    session.flush()
    for key in objects:  # unreadable already; a missing object is fine
        files.store.delete(key)
    for table in purge.tables():
        session.execute(delete(table).where(table.c.tenant_id == tenant_id))
    session.execute(delete(Tenant).where(Tenant.id == tenant_id))
    return "purged"


def replay(
    factory: sessionmaker[Session], files: Files, secret_key: str, entries: list[dict[str, Any]]
) -> dict[str, int]:
    """Applies ``entries`` (oldest first), each in its own transaction. Returns counts by what
    each did (``nothing`` for what the restored database did not hold or had done already)."""
    counts: Counter[str] = Counter()
    pseudonyms = Pseudonyms(secret_key)
    countries: dict[str, str] = {}
    for entry in entries:
        try:
            with unit_of_work(factory) as session:
                counts[_one(session, files, entry, pseudonyms, countries)] += 1
        except Exception:
            # The entry's id only (keys, never values); the others still replay, and the restore
            # reports how many failed so the operator replays them again (`hovor backup replay`).
            log.exception("replaying ledger entry %s failed", entry.get("id"))
            counts["failed"] += 1
    return dict(counts)


def _one(
    session: Session, files: Files, entry: dict[str, Any], pseudonyms: Pseudonyms, countries: dict[str, str]
) -> str:
    tenant = session.get(Tenant, entry["tenant"])
    if tenant is None:
        return "nothing"  # a tenant the backup did not hold yet, or one purged already
    countries.setdefault(tenant.id, tenant.country)
    if entry["source"] == "tombstone":
        return _tombstone(session, files, entry)
    if entry["source"] == "shred":
        return _shred(session, entry)
    if entry["source"] == "mention":
        return _mention(session, entry, pseudonyms, countries[tenant.id])
    if entry["source"] == "purge":
        return _purge(session, files, entry)
    return "unknown"
