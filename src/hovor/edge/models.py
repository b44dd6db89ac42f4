"""The firewall's shared state in the database (the default; Redis when configured): scored events,
bans, and allow and deny lists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal

SECURITY = "the address of a client that attacked or abused the service (Art. 6(1)(f), recital 49)"


class FirewallEvent(Base):
    """One scored request of a client (a failed sign-in, a signature hit, ...), kept for the window."""

    __tablename__ = "firewall_events"
    __table_args__ = (Index("ix_firewall_events_key_at", "key", "at"),)
    __audit_exempt__ = True

    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    key: Mapped[str] = mapped_column(
        String(64),
        info=personal(Category.IP, Owner.NONE, Erasure.KEEP, SECURITY + "; deleted after the window"),
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    weight: Mapped[float] = mapped_column(Float, info=not_personal())
    reason: Mapped[str] = mapped_column(
        String(32), info=not_personal("login | unauthorized | signature:... | flood")
    )


class FirewallBan(Base):
    __tablename__ = "firewall_bans"
    __table_args__ = (
        Index("ix_firewall_bans_key_created", "key", "created"),
        Index("ix_firewall_bans_until", "until"),
    )
    # Each ban and unban is audited by the firewall itself, on the platform's chain.
    __audit_exempt__ = True

    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    key: Mapped[str] = mapped_column(
        String(64),
        info=personal(Category.IP, Owner.NONE, Erasure.KEEP, SECURITY + "; kept while repeats escalate"),
    )
    reason: Mapped[str] = mapped_column(String(64), info=not_personal("what tipped the score"))
    score: Mapped[float] = mapped_column(Float, info=not_personal())
    offences: Mapped[int] = mapped_column(
        Integer, info=not_personal("bans of this address before, in memory")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    lifted: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime, info=not_personal("unbanned before its time")
    )
    lifted_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who lifted the ban")
    )


class FirewallRule(Base):
    """An allow- or deny-list entry: platform-wide (no tenant) or a tenant's own allow entry (its
    office's address, shared by all its agents)."""

    __tablename__ = "firewall_rules"
    __audit_exempt__ = True

    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id"), info=not_personal("none: platform-wide")
    )
    kind: Mapped[str] = mapped_column(String(8), info=not_personal("allow | deny"))
    network: Mapped[str] = mapped_column(
        String(64),
        info=personal(Category.IP, Owner.NONE, Erasure.KEEP, "a network the controller or operator listed"),
    )
    note: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.TEXT, Owner.NONE, Erasure.KEEP, "why the entry exists")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who listed it")
    )
