"""The markers a prune leaves in a tenant's chain (``audit.log.prune``): which entries it removed
and the hash they ended with, signed. Verification (``hovor.audit.chain``) reads them to check
what remains; the prune itself (``hovor.audit.prune``) writes them."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit.models import AuditEntry

ACTION = "audit.log.prune"


def message(tenant_id: str, first: int, through: int, anchor: str) -> bytes:
    return audit.canonical({"prune": tenant_id, "first": first, "through": through, "anchor": anchor})


def signature_ok(tenant_id: str, details: dict[str, Any], keys: dict[str, Any]) -> bool:
    key = keys.get(str(details.get("key_id")))
    if key is None:
        return False
    try:
        key.verify(
            base64.b64decode(str(details.get("signature", ""))),
            message(tenant_id, int(details["first"]), int(details["through"]), str(details["anchor"])),
        )
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def markers(session: Session, tenant_id: str, keys: dict[str, Any] | None = None) -> list[tuple[int, str]]:
    """(through, anchor) of every prune recorded in the chain, oldest first; with ``keys``, only
    those signed by one of them."""
    out = []
    for details in session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action == ACTION)
        .order_by(AuditEntry.name)
    ):
        if not (isinstance(details, dict) and "through" in details and "anchor" in details):
            continue
        if keys is not None and not signature_ok(tenant_id, details, keys):
            continue
        out.append((int(details["through"]), str(details["anchor"])))
    return out
