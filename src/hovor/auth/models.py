"""Users (operators, who are data subjects too), roles, rights, tokens and platform staff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.records import CatalogueEntry

OPERATOR_KEEP = "the operator's own account; anonymized with the account, not with a customer"


class Role(Base):
    """ "Accesses": which modules and actions a user may use (a set of permissions)."""

    __tablename__ = "roles"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal())
    description: Mapped[str | None] = mapped_column(
        Text, info=not_personal("describes the role, not a person")
    )
    permissions: Mapped[list[str]] = mapped_column(JSONType, default=list, info=not_personal())
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())


class Profile(Base):
    """ "Rights": which data a user may see: CRM databases, queues and ticket categories.

    For each dimension, None means all of the tenant's; a list limits the user to those."""

    __tablename__ = "profiles"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal())
    description: Mapped[str | None] = mapped_column(Text, info=not_personal("describes the profile"))
    databases: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True, info=not_personal())
    queues: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True, info=not_personal())
    categories: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True, info=not_personal())
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Login names are unique across the platform so a login needs no tenant selector.
        UniqueConstraint("name"),
        ForeignKeyConstraint(["tenant_id", "role"], ["roles.tenant_id", "roles.name"]),
        ForeignKeyConstraint(["tenant_id", "profile"], ["profiles.tenant_id", "profiles.name"]),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(
        String(64),
        primary_key=True,
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "record key referenced by history"),
    )
    title: Mapped[str] = mapped_column(
        String(255), info=personal(Category.PERSON_NAME, Owner.OPERATOR, Erasure.PLACEHOLDER)
    )
    email: Mapped[str | None] = mapped_column(String(320), info=personal(Category.EMAIL, Owner.OPERATOR))
    phone: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE, Owner.OPERATOR))
    extension: Mapped[str | None] = mapped_column(
        String(32), info=personal(Category.PHONE, Owner.OPERATOR, Erasure.NULL)
    )
    role: Mapped[str] = mapped_column(String(64), info=not_personal())
    profile: Mapped[str] = mapped_column(String(64), info=not_personal())
    password_hash: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.CREDENTIAL, Owner.OPERATOR)
    )
    # The second factor (hovor.auth.totp): the sealed secret once confirmed, one being set up, and
    # the time step of the last code taken (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.CREDENTIAL, Owner.OPERATOR, Erasure.NULL)
    )
    totp_pending: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.CREDENTIAL, Owner.OPERATOR, Erasure.NULL)
    )
    totp_last_step: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    # Wrong codes lately (the count and the last one's time): past a few, no code is checked for a while.
    totp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=not_personal())
    totp_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # While the account is slowed, the sign-in whose password is being checked holds it until then:
    # one check in flight per account, across every worker.
    login_check_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    last_login: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_KEEP)
    )
    edited_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_KEEP)
    )


class Token(Base):
    """Access, refresh and API tokens. Only a SHA-256 of the token is stored."""

    __tablename__ = "tokens"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"], ondelete="CASCADE"),
        Index("ix_tokens_tenant_user", "tenant_id", "user"),
    )

    hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("digest of a random secret")
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), info=not_personal())
    user: Mapped[str] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_KEEP)
    )
    kind: Mapped[str] = mapped_column(String(16), info=not_personal("access | refresh | api"))
    title: Mapped[str | None] = mapped_column(
        String(255), info=not_personal("label an admin gives an API token")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    revoked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # Web sessions end after a while without use; stamped at most once a minute.
    last_used: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # A refresh token remembers which access token it was issued with, so logout ends both.
    pair: Mapped[str | None] = mapped_column(String(64), info=not_personal())


class PlatformOperator(Base):
    """Processor staff: they run the platform and never belong to a tenant."""

    __tablename__ = "platform_operators"

    name: Mapped[str] = mapped_column(
        String(64),
        primary_key=True,
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "staff account key"),
    )
    title: Mapped[str] = mapped_column(
        String(255), info=personal(Category.PERSON_NAME, Owner.OPERATOR, Erasure.PLACEHOLDER)
    )
    email: Mapped[str | None] = mapped_column(String(320), info=personal(Category.EMAIL, Owner.OPERATOR))
    password_hash: Mapped[str] = mapped_column(
        String(255), info=personal(Category.CREDENTIAL, Owner.OPERATOR)
    )
    # Staff always sign in with a second factor; it is set up on the server (`hovor operator totp`).
    totp_secret: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.CREDENTIAL, Owner.OPERATOR, Erasure.NULL)
    )
    totp_last_step: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    totp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=not_personal())
    totp_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    login_check_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())


class PlatformToken(Base):
    """A platform operator's sign-in (kind ``platform``: the platform's own routes) or their entry
    into one tenant (kind ``entry``: read-only, with the stated purpose and case reference, every
    request recorded in that tenant's audit log). Only a SHA-256 of the token is stored."""

    __tablename__ = "platform_tokens"
    __table_args__ = (Index("ix_platform_tokens_operator", "operator"),)

    hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("digest of a random secret")
    )
    operator: Mapped[str] = mapped_column(
        ForeignKey("platform_operators.name", ondelete="CASCADE"),
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "staff account key"),
    )
    kind: Mapped[str] = mapped_column(String(16), info=not_personal("platform | entry"))
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id"), info=not_personal("the tenant entered")
    )
    purpose: Mapped[str | None] = mapped_column(
        String(32), info=not_personal("one of hovor.platform.PURPOSES")
    )
    reference: Mapped[str | None] = mapped_column(
        String(64), info=not_personal("the support case's reference")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    revoked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())


class UserGroup(CatalogueEntry, Base):
    """A group of users a tenant names (teams, shifts) for its reports and routing."""

    __tablename__ = "user_groups"


class UserGroupLink(Base):
    """A user's membership of a group (a user may be in several)."""

    __tablename__ = "user_group_links"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "group"], ["user_groups.tenant_id", "user_groups.name"]),
        Index("ix_user_group_links_tenant_group", "tenant_id", "group"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    user: Mapped[str] = mapped_column(
        String(64),
        primary_key=True,
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "the member"),
    )
    group: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())


class PauseType(CatalogueEntry, Base):
    """A kind of pause an operator may take (lunch, training, after-call work)."""

    __tablename__ = "pause_types"

    paid: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    # Seconds a pause of this kind may last (empty: no limit).
    max_duration: Mapped[int | None] = mapped_column(Integer, info=not_personal())
