"""Ticket categories and tickets. Tickets are numbered per tenant, as v6 clients expect."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hovor.core.db import Base, JSONType, UTCDateTime
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.records import AuditStamps, CatalogueEntry
from hovor.index.search import searchable

# Related records of other domains, named for the type checker only: the relationships resolve
# them by class name through the registry, so no domain imports another's models.
if TYPE_CHECKING:
    from hovor.auth.models import User
    from hovor.crm.models import Contact


class TicketSla(CatalogueEntry, Base):
    """A service level: how soon a ticket is first answered and solved, by its priority. A
    category has one; an account may have its own (its contract), which wins for its contacts."""

    __tablename__ = "ticket_slas"

    response_low: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    response_normal: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    response_high: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    solution_low: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    solution_normal: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    solution_high: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    unit: Mapped[str] = mapped_column(
        String(8), default="minutes", info=not_personal("minutes, hours or days")
    )


class TicketCategory(AuditStamps, Base):
    __tablename__ = "ticket_categories"
    __scope__ = {"category": "name"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sla"], ["ticket_slas.tenant_id", "ticket_slas.name"]),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("category label"))
    sla_response: Mapped[int | None] = mapped_column(Integer, info=not_personal("minutes to first answer"))
    sla_solution: Mapped[int | None] = mapped_column(Integer, info=not_personal("minutes to solution"))
    auto_archive_days: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    # A service level by priority; without one, sla_response and sla_solution (minutes) apply.
    sla: Mapped[str | None] = mapped_column(String(64), info=not_personal())

    sla_obj: Mapped[TicketSla | None] = relationship(viewonly=True, lazy="raise")


class TicketStatus(CatalogueEntry, Base):
    """A status a tenant marks tickets and activities with (Sale, Callback, Complaint …)."""

    __tablename__ = "ticket_statuses"

    color: Mapped[str | None] = mapped_column(String(7), info=not_personal())


class ArticleFolder(CatalogueEntry, Base):
    """A folder of the knowledge base."""

    __tablename__ = "article_folders"


class Article(CatalogueEntry, Base):
    """An article of the knowledge base: what operators look up while they help someone. Written
    by the tenant's staff for everyone: no one's data (but who wrote and edited it)."""

    __tablename__ = "articles"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "folder"], ["article_folders.tenant_id", "article_folders.name"]),
        Index("ix_articles_tenant_folder", "tenant_id", "folder"),
    )

    folder: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    content: Mapped[str | None] = mapped_column(Text, info=not_personal("authored for every operator"))
    published: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())

    folder_obj: Mapped[ArticleFolder | None] = relationship(viewonly=True, lazy="raise")


class Ticket(AuditStamps, Base):
    __tablename__ = "tickets"
    __scope__ = {"category": "category"}
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "category"], ["ticket_categories.tenant_id", "ticket_categories.name"]
        ),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        ForeignKeyConstraint(["tenant_id", "contact"], ["crm_contacts.tenant_id", "crm_contacts.name"]),
        Index("ix_tickets_tenant_category", "tenant_id", "category"),
        Index("ix_tickets_tenant_contact", "tenant_id", "contact"),
        Index("ix_tickets_tenant_email", "tenant_id", "email"),
        Index("ix_tickets_tenant_stage_edited", "tenant_id", "stage", "edited"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, info=not_personal("ticket number")
    )
    title: Mapped[str] = mapped_column(
        String(1000), info=personal(Category.TEXT, erasure=Erasure.REDACT_TEXT)
    )
    category: Mapped[str] = mapped_column(String(64), info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "assigned operator")
    )
    contact: Mapped[str | None] = mapped_column(String(64), info=personal(Category.RECORD_LINK))
    email: Mapped[str | None] = mapped_column(String(320), info=personal(Category.EMAIL))
    stage: Mapped[str] = mapped_column(String(8), default="OPEN", info=not_personal())
    priority: Mapped[str] = mapped_column(String(8), default="MEDIUM", info=not_personal())
    description: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT))
    followers: Mapped[list[str]] = mapped_column(
        JSONType,
        default=list,
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "operators following"),
    )
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.CONSENT))
    closed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    last_activity: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # The last incoming and outgoing activity filed under the ticket, and the first outgoing one.
    last_activity_client: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    last_activity_operator: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    first_answer: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # The ticket this one was merged into (its number), if any.
    id_merge: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    # When the first answer and the solution are due, by the category's SLA (minutes from creation).
    sla_deadtime: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    sla_close_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())

    category_obj: Mapped[TicketCategory] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")
    contact_obj: Mapped[Contact | None] = relationship(viewonly=True, lazy="raise")


class TicketStatusLink(Base):
    """A status a ticket is marked with (a ticket may carry several)."""

    __tablename__ = "ticket_status_links"
    __scope__ = {"via": ("tickets", "ticket")}
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "ticket"], ["tickets.tenant_id", "tickets.name"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "status"], ["ticket_statuses.tenant_id", "ticket_statuses.name"]),
        Index("ix_ticket_status_links_tenant_status", "tenant_id", "status"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    ticket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, info=not_personal())
    status: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())


# What q searches (hovor.index.search).
searchable(Ticket, "tickets", ("title", "description", "email"))
