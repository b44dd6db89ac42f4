"""Audit entries and signed checkpoints.

No foreign key to ``tenants``: the log outlives what it describes, and the platform's own chain
(``PLATFORM``) belongs to no tenant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal

ACCOUNTABILITY = "who acted must stay provable (Art. 5(2), 32); the log never holds data subjects' data"


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_time", "tenant_id", "at"),
        Index("ix_audit_entries_object", "tenant_id", "object_type", "object_key"),
    )
    # Writing an entry is not itself a change that needs an entry.
    __audit_exempt__ = True

    tenant_id: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("tenant key or _platform")
    )
    # The sequence number is the entry's key on the wire (``auditLog/{seq}.json``).
    name: Mapped[int] = mapped_column(
        "seq", BigInteger, primary_key=True, autoincrement=False, info=not_personal()
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    actor_type: Mapped[str] = mapped_column(
        String(16), info=not_personal("user | token | system | staff | anonymous")
    )
    actor: Mapped[str | None] = mapped_column(
        String(128), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, ACCOUNTABILITY)
    )
    ip: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.IP, Owner.OPERATOR, Erasure.KEEP, ACCOUNTABILITY)
    )
    action: Mapped[str] = mapped_column(String(64), info=not_personal("from hovor.audit.actions"))
    object_type: Mapped[str | None] = mapped_column(String(32), info=not_personal())
    object_key: Mapped[str | None] = mapped_column(String(128), info=not_personal("record key"))
    request_id: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    details: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, info=not_personal("ids, field names, counts and keyed pseudonyms only")
    )
    prev_hash: Mapped[str] = mapped_column(String(64), info=not_personal())
    hash: Mapped[str] = mapped_column(String(64), info=not_personal())


class AuditCheckpoint(Base):
    """An Ed25519 signature over (tenant, sequence, head hash, time)."""

    __tablename__ = "audit_checkpoints"
    __audit_exempt__ = True

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, info=not_personal())
    hash: Mapped[str] = mapped_column(String(64), info=not_personal())
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    key_id: Mapped[str] = mapped_column(String(32), info=not_personal("fingerprint of the signing key"))
    signature: Mapped[str] = mapped_column(String(128), info=not_personal("base64"))
