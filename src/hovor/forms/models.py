"""Custom fields: one row per field of a form (contacts, accounts, tickets, campaign records, activities)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import not_personal


class FormField(Base):
    """One custom field of a form. Contacts and accounts have a form per CRM database
    (``database`` set) or a tenant-wide one; campaign records one per record type; tickets and
    activities one per tenant."""

    __tablename__ = "form_fields"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
        ForeignKeyConstraint(["tenant_id", "record_type"], ["record_types.tenant_id", "record_types.name"]),
        Index("ix_form_fields_tenant_object", "tenant_id", "object_type"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("field identifier"))
    title: Mapped[str] = mapped_column(String(255), info=not_personal("field label"))
    object_type: Mapped[str] = mapped_column(String(32), info=not_personal("contacts | accounts | ..."))
    database: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    record_type: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    type: Mapped[str] = mapped_column(String(16), info=not_personal())
    required: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    readonly: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    multiple: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    regex: Mapped[str | None] = mapped_column(String(500), info=not_personal())
    options: Mapped[list[str] | None] = mapped_column(JSONType, info=not_personal("choices of a select"))
    position: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
