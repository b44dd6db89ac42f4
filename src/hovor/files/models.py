"""Tenant keys and blobs. The bytes live in the blob store; here are only keys and bookkeeping."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, UTCDateTime, utcnow
from hovor.core.personal_data import not_personal


class TenantKey(Base):
    """A tenant's key-encryption key, wrapped by the master key. Destroying it shreds the tenant."""

    __tablename__ = "tenant_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    version: Mapped[int] = mapped_column(Integer, primary_key=True, info=not_personal())
    wrapped: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=not_personal("key material, no personal data")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    destroyed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())


class Blob(Base):
    """One encrypted object. ``wrapped_key`` NULL means destroyed: the bytes are unreadable and the
    object and this row are waiting to be removed (see :func:`hovor.files.service.Files.reap`)."""

    __tablename__ = "blobs"
    __table_args__ = (Index("ix_blobs_destroyed", "destroyed"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    store_key: Mapped[str] = mapped_column(String(128), info=not_personal("random object name"))
    key_version: Mapped[int] = mapped_column(Integer, info=not_personal())
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, info=not_personal("key material"))
    header: Mapped[bytes] = mapped_column(LargeBinary, info=not_personal("format header and nonce prefix"))
    size: Mapped[int] = mapped_column(Integer, info=not_personal("plaintext length"))
    stored_size: Mapped[int] = mapped_column(Integer, info=not_personal())
    mime: Mapped[str] = mapped_column(String(128), info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    destroyed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())


class ShreddedKey(Base):
    """That a blob's key was destroyed, and when: the name only. A backup taken before holds the
    blob's wrapped key; a restore destroys it again from this list (shipped to every backup
    destination as the restore ledger, see :mod:`hovor.backup.ledger`)."""

    __tablename__ = "shredded_keys"
    __table_args__ = (Index("ix_shredded_keys_at", "at"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the blob's name"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
