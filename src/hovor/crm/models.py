"""CRM: databases, accounts (companies), contacts (people) and their form fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.core.db import Base, JSONType
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.records import AuditStamps

# Related records of other domains, named for the type checker only: the relationships resolve
# them by class name through the registry, so no domain imports another's models.
if TYPE_CHECKING:
    from hovor.auth.models import User


class Database(AuditStamps, Base):
    __tablename__ = "crm_databases"
    # Who may see it (hovor.core.scope): the rights dimension and the column that carries it.
    __scope__ = {"database": "name"}

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("name of a CRM database"))
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("describes the database"))


class Account(AuditStamps, Base):
    __tablename__ = "crm_accounts"
    __scope__ = {"database": "database"}
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
    __scope__ = {"database": "database"}
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
