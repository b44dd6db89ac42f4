"""Tenants: one contact centre each, the controller of its data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("tenant key"))
    title: Mapped[str] = mapped_column(String(255), info=not_personal("company name of the controller"))
    timezone: Mapped[str] = mapped_column(String(64), info=not_personal())
    country: Mapped[str] = mapped_column(String(2), info=not_personal("default region for phone numbers"))
    dpo_name: Mapped[str | None] = mapped_column(
        String(255),
        info=personal(
            Category.PERSON_NAME, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"
        ),
    )
    dpo_email: Mapped[str | None] = mapped_column(
        String(320),
        info=personal(
            Category.EMAIL, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"
        ),
    )
    dpo_phone: Mapped[str | None] = mapped_column(
        String(32),
        info=personal(
            Category.PHONE, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"
        ),
    )
    dpo_address: Mapped[str | None] = mapped_column(
        Text,
        info=personal(
            Category.ADDRESS, Owner.OPERATOR, Erasure.KEEP, "published contact required by Art. 37(7)"
        ),
    )
    # The platform operator's ceiling for call recordings (days), agreed in the contract: queues may
    # keep recordings for less, never longer. Tenant users cannot change it. None: not set yet (a
    # tenant from before ceilings existed); only queues with their own retention are swept.
    recordings_retention_days: Mapped[int | None] = mapped_column(
        Integer, info=not_personal("retention ceiling for recordings")
    )
    # The contract's retention (days): no retention policy of the tenant keeps anything longer, and a
    # kind of record without a policy is kept this long. None: not agreed yet (nothing is swept for
    # it). Set and changed by the platform operator only; the audit log keeps its own floor.
    retention_days: Mapped[int | None] = mapped_column(Integer, info=not_personal("the contract's retention"))
    # An erasure a subject asked for is carried out once a second person approved it.
    four_eyes_erasure: Mapped[bool] = mapped_column(Boolean, default=True, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())


class DataLocation(Base):
    """Where one store of the platform lives, as the platform operator declares it: the default for
    every tenant (``scope`` ``*``) or one tenant's override (``scope`` the tenant's id). A platform
    table: no tenant writes it, and the tenant's view merges the defaults with its overrides."""

    __tablename__ = "data_locations"

    scope: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("* for the default, else the tenant")
    )
    kind: Mapped[str] = mapped_column(
        String(16), primary_key=True, info=not_personal("database, blobs, backup or cache")
    )
    # Several backup destinations are told apart by name; other kinds have one, named "main".
    name: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("which store of the kind")
    )
    provider: Mapped[str] = mapped_column(String(255), info=not_personal("hosting company"))
    country: Mapped[str] = mapped_column(String(2), info=not_personal("ISO 3166-1 alpha-2"))
    region: Mapped[str | None] = mapped_column(String(255), info=not_personal("data centre or region"))
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("the operator's note"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
