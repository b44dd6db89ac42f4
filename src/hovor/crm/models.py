"""CRM: databases, accounts (companies), contacts (people) and their form fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.core.db import Base, JSONType
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.records import AuditStamps
from hovor.index.search import searchable

# Related records of other domains, named for the type checker only: the relationships resolve
# them by class name through the registry, so no domain imports another's models.
if TYPE_CHECKING:
    from hovor.auth.models import User
    from hovor.helpdesk.models import Ticket, TicketSla, TicketStatus


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
        ForeignKeyConstraint(["tenant_id", "sla"], ["ticket_slas.tenant_id", "ticket_slas.name"]),
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
    # The service level the company contracted: its contacts' tickets are due by it.
    sla: Mapped[str | None] = mapped_column(String(64), info=not_personal())

    database_obj: Mapped[Database] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")
    sla_obj: Mapped[TicketSla | None] = relationship(viewonly=True, lazy="raise")


class Contact(AuditStamps, Base):
    __tablename__ = "crm_contacts"
    __scope__ = {"database": "database"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
        ForeignKeyConstraint(["tenant_id", "account"], ["crm_accounts.tenant_id", "crm_accounts.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        Index("ix_crm_contacts_tenant_database", "tenant_id", "database"),
        Index("ix_crm_contacts_tenant_account", "tenant_id", "account"),
        Index("ix_crm_contacts_tenant_lastname_firstname", "tenant_id", "lastname", "firstname"),
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
    # Art. 18: the person's records are kept but processed no further (only the DPO changes them;
    # campaigns do not dial her). Set and lifted by the DPO (hovor.privacy.restriction).
    restricted: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false(), info=not_personal("a processing flag")
    )

    database_obj: Mapped[Database] = relationship(viewonly=True, lazy="raise")
    account_obj: Mapped[Account | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")


class CrmRecordType(AuditStamps, Base):
    """A kind of CRM record a tenant keeps (deals, orders, contracts …), in one CRM database: its
    form is that database's form of CRM records, and rights by database cover its records."""

    __tablename__ = "crm_record_types"
    __scope__ = {"database": "database"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("name of the kind of record"))
    database: Mapped[str] = mapped_column(String(64), info=not_personal())
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("what the kind is for"))

    database_obj: Mapped[Database] = relationship(viewonly=True, lazy="raise")


class CrmRecord(AuditStamps, Base):
    """A deal or another record of the CRM about a contact, an account or a ticket."""

    __tablename__ = "crm_records"
    __scope__ = {"database": "database"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "type"], ["crm_record_types.tenant_id", "crm_record_types.name"]),
        ForeignKeyConstraint(["tenant_id", "database"], ["crm_databases.tenant_id", "crm_databases.name"]),
        ForeignKeyConstraint(["tenant_id", "contact"], ["crm_contacts.tenant_id", "crm_contacts.name"]),
        ForeignKeyConstraint(["tenant_id", "account"], ["crm_accounts.tenant_id", "crm_accounts.name"]),
        ForeignKeyConstraint(["tenant_id", "ticket"], ["tickets.tenant_id", "tickets.name"]),
        ForeignKeyConstraint(["tenant_id", "status"], ["ticket_statuses.tenant_id", "ticket_statuses.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        Index("ix_crm_records_tenant_type", "tenant_id", "type"),
        Index("ix_crm_records_tenant_database", "tenant_id", "database"),
        Index("ix_crm_records_tenant_contact", "tenant_id", "contact"),
        Index("ix_crm_records_tenant_account", "tenant_id", "account"),
        Index("ix_crm_records_tenant_ticket", "tenant_id", "ticket"),
        Index("ix_crm_records_tenant_edited", "tenant_id", "edited"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    type: Mapped[str] = mapped_column(String(64), info=not_personal())
    # Copied from the type when the record is made, so rights by database apply directly.
    database: Mapped[str] = mapped_column(String(64), info=not_personal())
    # A deal's title often names the person it is for ("Mortgage for Jan Novák").
    title: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.TEXT, erasure=Erasure.REDACT_TEXT)
    )
    description: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT))
    contact: Mapped[str | None] = mapped_column(String(64), info=personal(Category.RECORD_LINK))
    account: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    ticket: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "owner operator")
    )
    status: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    stage: Mapped[str] = mapped_column(String(8), default="OPEN", info=not_personal("OPEN or CLOSE"))
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.CONSENT))
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())

    type_obj: Mapped[CrmRecordType] = relationship(viewonly=True, lazy="raise")
    contact_obj: Mapped[Contact | None] = relationship(viewonly=True, lazy="raise")
    account_obj: Mapped[Account | None] = relationship(viewonly=True, lazy="raise")
    ticket_obj: Mapped[Ticket | None] = relationship(viewonly=True, lazy="raise")
    status_obj: Mapped[TicketStatus | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")


# What q searches (hovor.index.search): the name and notes, and the custom-field values apart.
searchable(Account, "accounts", ("title", "description"), custom="custom_fields")
searchable(Contact, "contacts", ("title", "description"), custom="custom_fields")
