"""A restore drill's check of the audit chains: every chain in the restored database recomputed and
held against the signed checkpoints the operator exported (``hovor audit checkpoints export``) and
keeps outside the database (``HOVOR_AUDIT_CHECKPOINTS_FILE``).

The checkpoints inside a backup only prove the chain up to themselves: whoever could truncate or
rewrite the chain could drop those too. An exported checkpoint signed before the backup was taken
names an entry the backup must hold, with that hash; a restored chain that ends before it, or holds
another entry there, fails the drill. Checkpoints signed after the backup started may name entries
the backup never had, so they are counted and left out. A chain named only by exported checkpoints
is checked too (it must not have vanished), unless its tenant was purged at contract end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit.chain import Checkpoint, read_exported, tenants_with_entries, verify_tenant
from hovor.privacy.contract.models import ContractEnd
from hovor.tenancy.models import Tenant


class CheckpointsUnreadable(Exception):
    """The exported checkpoints the operator declared cannot be read (said without their content)."""


def load(path: Path | None) -> list[Checkpoint] | None:
    """The exported checkpoints at ``path``; None when the operator keeps none."""
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError as exc:
        raise CheckpointsUnreadable(
            f"the exported audit checkpoints cannot be read ({exc.strerror})"
        ) from None
    try:
        return read_exported(text.splitlines())
    except ValueError as exc:
        raise CheckpointsUnreadable(f"the exported audit checkpoints: {exc}") from None


def _signed_at(cp: Checkpoint) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(cp.at)
    except ValueError:
        return None  # its signature covers this text: verification says it is bad
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def verify(
    session: Session,
    trusted: Iterable[Ed25519PublicKey],
    exported: list[Checkpoint],
    taken: dt.datetime,
) -> dict[str, dict[str, Any]]:
    """Per chain: whether it verifies, with counts and its first broken entry (seq and reason)."""
    keys = list(trusted)
    # Signed after the backup started: may name entries the backup never had.
    applicable = [cp for cp in exported if (at := _signed_at(cp)) is None or at < taken]
    present = set(session.scalars(select(Tenant.id))) | set(tenants_with_entries(session))
    purged = set(session.scalars(select(ContractEnd.tenant_id).where(ContractEnd.purged.is_not(None))))
    named = {cp.tenant for cp in applicable} - purged
    out: dict[str, dict[str, Any]] = {}
    for chain in sorted(present | named):
        report = verify_tenant(session, chain, keys, applicable)
        first = report.first_broken
        out[chain] = {
            "ok": report.ok,
            "entries": report.entries,
            "head": report.head_seq,
            "checkpoints": report.checkpoints,
            "exported_checkpoints": report.exported_checkpoints,
            "exported_later": sum(1 for cp in exported if cp.tenant == chain) - report.exported_checkpoints,
            "first_broken": {"seq": first.seq, "reason": first.reason} if first else None,
        }
    return out
