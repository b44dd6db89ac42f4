"""Record types (the campaign's form and script) and the records a dialer works through."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.records import AuditStamps

# Related records of other domains, named for the type checker only: the relationships resolve
# them by class name through the registry, so no domain imports another's models.
if TYPE_CHECKING:
    from hovor.activities.models import Queue
    from hovor.auth.models import User
    from hovor.crm.models import Contact


class RecordType(AuditStamps, Base):
    __tablename__ = "record_types"
    __scope__ = {"queue": "queue"}
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "queue"], ["queues.tenant_id", "queues.name"]),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("campaign name"))
    queue: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("the campaign's script"))
    # What the campaign's calls are for and on which channel: a record whose person has not given
    # consent to that purpose on that channel is not dialled. No purpose: no consent is asked
    # (the tenant relies on another legal basis); suppression and restriction still apply.
    purpose: Mapped[str | None] = mapped_column(String(64), info=not_personal("a consent purpose"))
    channel: Mapped[str] = mapped_column(
        String(8), default="call", server_default="call", info=not_personal("call | sms | email | chat")
    )

    queue_obj: Mapped[Queue | None] = relationship(viewonly=True, lazy="raise")


class CampaignRecord(AuditStamps, Base):
    __tablename__ = "campaign_records"
    __scope__ = {"queue": "queue"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "record_type"], ["record_types.tenant_id", "record_types.name"]),
        ForeignKeyConstraint(["tenant_id", "queue"], ["queues.tenant_id", "queues.name"]),
        ForeignKeyConstraint(["tenant_id", "contact"], ["crm_contacts.tenant_id", "crm_contacts.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        Index("ix_campaign_records_tenant_type", "tenant_id", "record_type"),
        Index("ix_campaign_records_tenant_number", "tenant_id", "number"),
        Index("ix_campaign_records_tenant_contact", "tenant_id", "contact"),
        Index("ix_campaign_records_tenant_nextcall", "tenant_id", "action", "nextcall"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    record_type: Mapped[str] = mapped_column(String(64), info=not_personal())
    # Copied from the record type when the record is made, so rights by queue apply directly.
    queue: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    contact: Mapped[str | None] = mapped_column(String(64), info=personal(Category.RECORD_LINK))
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "assigned operator")
    )
    number: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE))
    action: Mapped[int] = mapped_column(Integer, default=1, info=not_personal("dialer state 0-6"))
    nextcall: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.CONSENT))
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    # The rule that keeps the record from being dialled (hovor.campaigns.dialling), or none.
    blocked: Mapped[str | None] = mapped_column(
        String(32), info=not_personal("no_consent | objection | restricted | suppressed")
    )

    record_type_obj: Mapped[RecordType] = relationship(viewonly=True, lazy="raise")
    contact_obj: Mapped[Contact | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")


class SuppressedIdentifier(Base):
    """The tenant's suppression list (the reference's blacklist numbers): a phone number or an
    e-mail address nobody may be called or written at, kept only as a keyed hash of the normalised
    identifier (the audit log's keyed pseudonyms, HMAC under a per-tenant key), so that an erased
    person stays off the lists without hovor keeping her number in clear."""

    __tablename__ = "blacklist_numbers"
    __table_args__ = (Index("ux_blacklist_numbers_tenant_digest", "tenant_id", "digest", unique=True),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    kind: Mapped[str] = mapped_column(String(8), info=not_personal("phone | email"))
    digest: Mapped[str] = mapped_column(
        String(64),
        info=personal(
            Category.CONTACT_POINT,
            Owner.SUBJECT,
            Erasure.KEEP,
            "a keyed hash only, kept so that an erased person is never called again",
        ),
    )
    reason: Mapped[str] = mapped_column(String(16), info=not_personal("manual | objection | erasure"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who added it: the proof")
    )
