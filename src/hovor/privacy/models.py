"""The identifier index: phone numbers and e-mail addresses held in custom fields, one row each,
so the subject resolver finds them with an index lookup instead of scanning JSON."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.db import Base
from hovor.privacy.registry import Category, Erasure, op, pd


class Identifier(Base):
    __tablename__ = "identifiers"
    __table_args__ = (Index("ix_identifiers_lookup", "tenant_id", "kind", "value"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=op())
    object_type: Mapped[str] = mapped_column(
        String(32), primary_key=True, info=op("contacts | accounts | ...")
    )
    object_name: Mapped[str] = mapped_column(String(64), primary_key=True, info=op())
    field: Mapped[str] = mapped_column(String(64), primary_key=True, info=op("custom field name"))
    value: Mapped[str] = mapped_column(
        String(320), primary_key=True, info=pd(Category.CONTACT_POINT, erasure=Erasure.DELETE_ROW)
    )
    kind: Mapped[str] = mapped_column(String(8), info=op("phone | email"))
