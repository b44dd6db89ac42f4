"""Tenants: one contact centre each, the controller of its data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hovor.db import Base, UTCDateTime, utcnow
from hovor.privacy.registry import Category, Erasure, Owner, op, pd


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, info=op("tenant key"))
    title: Mapped[str] = mapped_column(String(255), info=op("company name of the controller"))
    timezone: Mapped[str] = mapped_column(String(64), info=op())
    country: Mapped[str] = mapped_column(String(2), info=op("default region for phone numbers"))
    dpo_name: Mapped[str | None] = mapped_column(
        String(255),
        info=pd(
            Category.PERSON_NAME, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"
        ),
    )
    dpo_email: Mapped[str | None] = mapped_column(
        String(320),
        info=pd(Category.EMAIL, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"),
    )
    dpo_phone: Mapped[str | None] = mapped_column(
        String(32),
        info=pd(Category.PHONE, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"),
    )
    dpo_address: Mapped[str | None] = mapped_column(
        Text,
        info=pd(Category.ADDRESS, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"),
    )
    # The platform operator's ceiling for call recordings (days), agreed in the contract: queues may
    # keep recordings for less, never longer. Tenant users cannot change it. None: not set yet (a
    # tenant from before ceilings existed); only queues with their own retention are swept.
    recordings_retention_days: Mapped[int | None] = mapped_column(
        Integer, info=op("retention ceiling for recordings")
    )
    # The contract's retention (days): no retention policy of the tenant keeps anything longer, and a
    # kind of record without a policy is kept this long. None: not agreed yet (nothing is swept for
    # it). Set and changed by the platform operator only; the audit log keeps its own floor.
    retention_days: Mapped[int | None] = mapped_column(Integer, info=op("the contract's retention"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=op())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=op())


class Counter(Base):
    """Per-tenant sequences (ticket numbers): one row per kind, advanced under a row lock."""

    __tablename__ = "tenant_counters"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=op())
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, info=op())
    value: Mapped[int] = mapped_column(Integer, default=0, info=op())
