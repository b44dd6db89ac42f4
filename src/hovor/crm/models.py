"""CRM: databases, accounts (companies), contacts (people) and their form fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.auth.models import User
from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal

OPERATOR_STAMP = "who changed the record; the operator's, kept for accountability"


class AuditStamps:
    """``created``/``edited`` and who did them, as every v6 object carries."""

    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_STAMP)
    )
    edited_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_STAMP)
    )


class Database(AuditStamps, Base):
    __tablename__ = "crm_databases"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("name of a CRM database"))
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("describes the database"))


class Account(AuditStamps, Base):
    __tablename__ = "crm_accounts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        Index("ix_crm_accounts_tenant_database", "tenant_id", "database"),
        Index("ix_crm_accounts_tenant_title", "tenant_id", "title"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    # An account is a company, but a sole trader's company name is a person's name.
    title: Mapped[str] = mapped_column(
        String(255), info=personal(Category.PERSON_NAME, Owner.SUBJECT, Erasure.PLACEHOLDER)
    )
    database: Mapped[str] = mapped_column(String(64), info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "owner operator")
    )
    description: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT, erasure=Erasure.NULL))
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM, erasure=Erasure.NULL)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, info=personal(Category.CONSENT, erasure=Erasure.NULL)
    )

    database_obj: Mapped[Database] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")


class Contact(AuditStamps, Base):
    __tablename__ = "crm_contacts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
        ForeignKeyConstraint(["tenant_id", "account"], ["crm_accounts.tenant_id", "crm_accounts.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        Index("ix_crm_contacts_tenant_database", "tenant_id", "database"),
        Index("ix_crm_contacts_tenant_account", "tenant_id", "account"),
        Index("ix_crm_contacts_tenant_lastname", "tenant_id", "lastname"),
        Index("ix_crm_contacts_tenant_created", "tenant_id", "created"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(
        String(511), info=personal(Category.PERSON_NAME, erasure=Erasure.PLACEHOLDER)
    )
    firstname: Mapped[str | None] = mapped_column(String(255), info=personal(Category.PERSON_NAME))
    lastname: Mapped[str] = mapped_column(
        String(255), info=personal(Category.PERSON_NAME, erasure=Erasure.PLACEHOLDER)
    )
    database: Mapped[str] = mapped_column(String(64), info=not_personal())
    account: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "owner operator")
    )
    description: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT))
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.CONSENT))

    database_obj: Mapped[Database] = relationship(viewonly=True, lazy="raise")
    account_obj: Mapped[Account | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")


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
