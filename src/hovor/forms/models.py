"""Custom fields: one row per field of a form (contacts, accounts, tickets, campaign records, activities)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal


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
    # A consent field's place in the consent ledger (hovor.forms.consent): the purpose it records
    # (none: the field's name) and the channel (none: every channel).
    purpose: Mapped[str | None] = mapped_column(String(64), info=not_personal("a consent purpose"))
    channel: Mapped[str | None] = mapped_column(String(8), info=not_personal("call | sms | email | chat"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())


class ConsentEvent(Base):
    """One event of the consent ledger: a person gave or withdrew consent to one purpose on one
    channel (``all``: every channel). Appended, never updated: the current state of a purpose and
    channel is the latest event's (hovor.forms.consent). Only erasure touches a row (see
    docs/privacy.md, "The consent ledger")."""

    __tablename__ = "consent_events"
    # Visible with the person's contact, or with the campaign record or account whose field wrote it.
    __scope__ = {
        "any": (
            ("crm_contacts", "contact"),
            ("campaign_records", "object_name"),
            ("crm_accounts", "object_name"),
        )
    }
    __table_args__ = (
        Index("ix_consent_events_tenant_contact_time", "tenant_id", "contact", "time"),
        Index("ix_consent_events_tenant_object", "tenant_id", "object_type", "object_name"),
        Index("ix_consent_events_tenant_time", "tenant_id", "time"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    # No foreign key: the ledger outlives a deleted contact (a withdrawal is the proof that
    # nobody may call her), naming her by key only, as tombstones and the audit log do.
    contact: Mapped[str | None] = mapped_column(
        String(64),
        info=personal(
            Category.RECORD_LINK,
            Owner.SUBJECT,
            Erasure.KEEP,
            "a withdrawal's proof names the erased contact by key only; erasure deletes her given consents",
        ),
    )
    # The record whose consent field wrote the event (a campaign record without a contact is
    # found by it), or none.
    object_type: Mapped[str | None] = mapped_column(String(16), info=not_personal("contacts | records | ..."))
    object_name: Mapped[str | None] = mapped_column(String(64), info=not_personal("a record's key"))
    purpose: Mapped[str] = mapped_column(String(64), info=not_personal("what the consent is for"))
    channel: Mapped[str] = mapped_column(String(8), info=not_personal("call | sms | email | chat | all"))
    state: Mapped[str] = mapped_column(String(16), info=not_personal("given | withdrawn"))
    source: Mapped[str] = mapped_column(String(16), info=not_personal("field | call | web | import | ..."))
    activity: Mapped[str | None] = mapped_column(
        String(64), info=not_personal("the call or chat that is the proof")
    )
    evidence: Mapped[str | None] = mapped_column(String(500), info=personal(Category.TEXT))
    time: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, info=not_personal("when it was given or withdrawn")
    )
    actor: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who recorded it: the proof")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
