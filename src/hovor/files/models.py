"""Tenant keys and blobs. The bytes live in the blob store; here are only keys and bookkeeping."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.db import Base, UTCDateTime, utcnow
from hovor.privacy.registry import op


class TenantKey(Base):
    """A tenant's key-encryption key, wrapped by the master key. Destroying it shreds the tenant."""

    __tablename__ = "tenant_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=op())
    version: Mapped[int] = mapped_column(Integer, primary_key=True, info=op())
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, info=op("key material, no personal data"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=op())
    destroyed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=op())


class Blob(Base):
    """One encrypted object. ``wrapped_key`` NULL means destroyed: the bytes are unreadable and the
    object and this row are waiting to be removed (see :func:`hovor.files.service.Files.reap`)."""

    __tablename__ = "blobs"
    __table_args__ = (Index("ix_blobs_destroyed", "destroyed"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=op())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=op())
    store_key: Mapped[str] = mapped_column(String(128), info=op("random object name"))
    key_version: Mapped[int] = mapped_column(Integer, info=op())
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, info=op("key material"))
    header: Mapped[bytes] = mapped_column(LargeBinary, info=op("format header and nonce prefix"))
    size: Mapped[int] = mapped_column(Integer, info=op("plaintext length"))
    stored_size: Mapped[int] = mapped_column(Integer, info=op())
    mime: Mapped[str] = mapped_column(String(128), info=op())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=op())
    destroyed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=op())
