"""Record types (the campaign's form and script) and the records a dialer works through."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.core.db import Base, JSONType, UTCDateTime
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

    record_type_obj: Mapped[RecordType] = relationship(viewonly=True, lazy="raise")
    contact_obj: Mapped[Contact | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")
