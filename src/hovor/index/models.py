"""The identifier index: phone numbers and e-mail addresses held in custom fields, one row each,
so the subject resolver finds them with an index lookup instead of scanning JSON. The search
index: what ``q`` searches, folded, one row per record."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class SearchEntry(Base):
    """What ``q`` searches in a record, folded (hovor.index.fold): one row per record, its own text
    and its custom-field values apart (a caller who may not see some custom fields searches only the
    first). SQLite indexes it with FTS5's trigram tokenizer (``search_fts``, kept in step by
    triggers), PostgreSQL with pg_trgm GIN indexes; both are made by migration 0035. The key is an
    integer because FTS5 refers to rows by one, and an explicit one survives VACUUM."""

    __tablename__ = "search_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "object_type", "object_name"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
        info=not_personal("the row's number in the full-text index"),
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), info=not_personal())
    object_type: Mapped[str] = mapped_column(String(32), info=not_personal("contacts | accounts | ..."))
    object_name: Mapped[str] = mapped_column(String(64), info=not_personal())
    body: Mapped[str] = mapped_column(Text, info=personal(Category.TEXT, erasure=Erasure.DELETE_ROW))
    custom: Mapped[str] = mapped_column(Text, info=personal(Category.FORM, erasure=Erasure.DELETE_ROW))
