"""The identifier index: phone numbers and e-mail addresses held in custom fields, one row each,
so the subject resolver finds them with an index lookup instead of scanning JSON."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base
from hovor.core.personal_data import Category, Erasure, not_personal, personal


class Identifier(Base):
    __tablename__ = "identifiers"
    __table_args__ = (Index("ix_identifiers_lookup", "tenant_id", "kind", "value"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    object_type: Mapped[str] = mapped_column(
        String(32), primary_key=True, info=not_personal("contacts | accounts | ...")
    )
    object_name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    field: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("custom field name"))
    value: Mapped[str] = mapped_column(
        String(320), primary_key=True, info=personal(Category.CONTACT_POINT, erasure=Erasure.DELETE_ROW)
    )
    kind: Mapped[str] = mapped_column(String(8), info=not_personal("phone | email"))
