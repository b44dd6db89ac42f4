"""The restore ledger: what a restore of an older backup must do again before it serves anyone.

Every deletion, erasure, DPO delete and retention sweep leaves tombstones (record type and key,
what was cleared); every destroyed blob key is listed (``shredded_keys``); every row an erasure
redacted another person's record of is listed with keyed hashes of what it took out
(``mention_redactions``); every tenant purged at its contract's end (``contract_ends``, which
outlives the tenant). All are written in the transaction that does the change. The
ledger ships them — no personal data in clear: keys, field names, keyed pseudonyms — to every
backup destination as JSON Lines, one object per shipment, never rewritten, so it survives the
database it protects. A shipment covers everything since the last one, and ten minutes before it
(a transaction that committed late is not missed; replaying an entry twice changes nothing).

Each tombstone is shipped with what became of its record by then: ``deleted`` (the row is gone)
or ``kept`` (anonymized, or a part of it removed — the fields say which).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hovor.activities.models import Recording
from hovor.api.resource import REGISTRY
from hovor.backup.destinations import Destination
from hovor.core.db import utcnow
from hovor.files.models import ShreddedKey
from hovor.privacy.contract.models import ContractEnd
from hovor.privacy.models import MentionRedaction, Tombstone

log = logging.getLogger("hovor.backup")
OVERLAP = dt.timedelta(minutes=10)
PRESENT = "ledger/.present"
STATE = "ledger-shipped.json"
# Record types whose rows are looked up by key to tell deleted from kept.
EXTRA_MODELS = {"activitiesCallRecordings": Recording}


def model_of(record_type: str) -> Any:
    if record_type in EXTRA_MODELS:
        return EXTRA_MODELS[record_type]
    resource = REGISTRY.get(record_type)
    return resource.model if resource is not None else None


def typed_key(model: Any, key: str) -> Any:
    column = model.__table__.c.name
    return int(key) if column.type.python_type is int and key.isdigit() else key


def _still_there(session: Session, stones: list[Tombstone]) -> set[tuple[str, str, str]]:
    """(tenant, record type, key) of the tombstoned records whose rows still exist: one query per
    tenant, type and chunk of keys (a sweep leaves a hundred thousand tombstones at once)."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for t in stones:
        wanted.setdefault((t.tenant_id, t.record_type), set()).add(t.record_key)
    found: set[tuple[str, str, str]] = set()
    for (tenant_id, record_type), keys in wanted.items():
        model = model_of(record_type)
        if model is None:
            continue
        ordered = sorted(keys)
        for i in range(0, len(ordered), 500):
            chunk = [typed_key(model, k) for k in ordered[i : i + 500]]
            rows = session.scalars(
                select(model.name).where(model.tenant_id == tenant_id, model.name.in_(chunk))
            )
            found |= {(tenant_id, record_type, str(key)) for key in rows}
    return found


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def entries_since(session: Session, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Every ledger entry written at or after ``since`` (all when None), oldest first."""
    out: list[dict[str, Any]] = []
    stones = select(Tombstone)
    shreds = select(ShreddedKey)
    mentions = select(MentionRedaction)
    if since is not None:
        stones = stones.where(Tombstone.at >= since)
        shreds = shreds.where(ShreddedKey.at >= since)
        mentions = mentions.where(MentionRedaction.at >= since)
    tombstones = list(session.scalars(stones))
    kept = _still_there(session, tombstones)
    for t in tombstones:
        out.append(
            {
                "id": f"t:{t.tenant_id}:{t.name}",
                "source": "tombstone",
                "tenant": t.tenant_id,
                "at": _iso(t.at),
                "type": t.record_type,
                "key": t.record_key,
                "action": t.action,
                "fields": t.fields or [],
                "outcome": "kept" if (t.tenant_id, t.record_type, t.record_key) in kept else "deleted",
            }
        )
    for s in session.scalars(shreds):
        out.append(
            {
                "id": f"s:{s.tenant_id}:{s.name}",
                "source": "shred",
                "tenant": s.tenant_id,
                "at": _iso(s.at),
                "blob": s.name,
            }
        )
    ended = select(ContractEnd).where(ContractEnd.purged.is_not(None))
    if since is not None:
        ended = ended.where(ContractEnd.purged >= since)
    for end in session.scalars(ended):
        assert end.purged is not None
        at = _iso(end.purged)
        out.append({"id": f"p:{end.tenant_id}:{at}", "source": "purge", "tenant": end.tenant_id, "at": at})
    for m in session.scalars(mentions):
        out.append(
            {
                "id": f"m:{m.tenant_id}:{m.name}",
                "source": "mention",
                "tenant": m.tenant_id,
                "at": _iso(m.at),
                "rows": m.rows,
                "hashes": m.hashes,
            }
        )
    out.sort(key=lambda e: (e["at"], e["id"]))
    return out


def _state(data_dir: Path) -> dict[str, str]:
    path = data_dir / STATE
    return json.loads(path.read_text()) if path.exists() else {}


def ship(factory: sessionmaker[Session], data_dir: Path, destinations: list[Destination]) -> int:
    """Writes what is new to every destination; returns the entries shipped (to the one that was
    furthest behind). A destination that cannot be reached now is tried again next time."""
    state = _state(data_dir)
    started = utcnow()
    marks = [
        dt.datetime.fromisoformat(state[d.name]) - OVERLAP if d.name in state else None for d in destinations
    ]
    since = None if any(m is None for m in marks) else min(m for m in marks if m is not None)
    with factory() as session:
        entries = entries_since(session, since)
    shipped = 0
    for destination, mark in zip(destinations, marks, strict=True):
        mine = [e for e in entries if mark is None or e["at"] >= _iso(mark)]
        if not destination.place.exists(PRESENT):
            destination.place.put(PRESENT, [b"hovor restore ledger\n"])
        if mine:
            name = f"ledger/{started:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.jsonl"
            destination.place.put(
                name, [("\n".join(json.dumps(e, sort_keys=True) for e in mine) + "\n").encode()]
            )
        state[destination.name] = _iso(started)
        shipped = max(shipped, len(mine))
    path = data_dir / STATE
    path.write_text(json.dumps(state, indent=2, sort_keys=True))
    path.chmod(0o600)
    return shipped


class LedgerMissing(Exception):
    """The destination holds no ledger: a restore from it could resurrect erased people."""


def read(destination: Destination, since: dt.datetime) -> list[dict[str, Any]]:
    """The entries a destination holds from ``since`` on, each once, oldest first."""
    if not destination.place.exists(PRESENT):
        raise LedgerMissing(f"no restore ledger at {destination.name}")
    seen: dict[str, dict[str, Any]] = {}
    floor = _iso(since)
    for name in destination.place.names("ledger/"):
        if not name.endswith(".jsonl"):
            continue
        for line in b"".join(destination.place.get(name)).decode().splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry["at"] >= floor:
                    seen[entry["id"]] = entry
    return sorted(seen.values(), key=lambda e: (e["at"], e["id"]))
