"""What the privacy domain keeps: tombstones of deleted and erased records (never what they held),
legal holds, and the tenants' retention policies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal


class Tombstone(Base):
    """That a record was deleted or erased, when and by what: never what it held.

    A restore of a backup replays the tombstones newer than the backup before serving data."""

    __tablename__ = "tombstones"
    __table_args__ = (
        Index("ix_tombstones_tenant_record", "tenant_id", "record_type", "record_key"),
        Index("ix_tombstones_tenant_at", "tenant_id", "at"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    record_type: Mapped[str] = mapped_column(String(32), info=not_personal("contacts | activities | ..."))
    record_key: Mapped[str] = mapped_column(String(64), info=not_personal("the record's key, an id"))
    action: Mapped[str] = mapped_column(String(16), info=not_personal("delete | anonymize | dpo | retention"))
    fields: Mapped[list[str] | None] = mapped_column(
        JSONType, info=not_personal("names of the fields cleared")
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    job: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    request_id: Mapped[str | None] = mapped_column(String(64), info=not_personal())


class LegalHold(Base):
    """Keeps a record (a contact, ticket, activity, or everything in a queue or campaign) from
    deletion, erasure and retention while a legal matter lasts."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_tenant_object", "tenant_id", "object_type", "object_key"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    object_type: Mapped[str] = mapped_column(
        String(32), info=not_personal("contacts | tickets | activities | queues | campaignsTypes")
    )
    object_key: Mapped[str] = mapped_column(String(64), info=not_personal("the held record's key"))
    reason: Mapped[str] = mapped_column(
        String(1000),
        info=personal(Category.TEXT, Owner.NONE, Erasure.KEEP, "the legal matter; kept as long as the hold"),
    )
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal("none: until released"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who placed the hold")
    )


class RetentionPolicy(Base):
    """How long one kind of record is kept in a tenant, and what happens to it then (delete, or
    anonymize as erasure does). One policy per kind; its key is the kind (``activitiesEmail``)."""

    __tablename__ = "retention_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(32), primary_key=True, info=not_personal("the kind of record"))
    days: Mapped[int] = mapped_column(Integer, info=not_personal("age after which the action runs"))
    action: Mapped[str] = mapped_column(String(16), info=not_personal("delete | anonymize"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who set the policy")
    )
    edited_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who changed the policy")
    )


class SubjectRequest(Base):
    """A data subject's request (GDPR Art. 15-21) and what the controller did about it: the
    register a DPO keeps to answer within the deadline and to prove it later.

    Itself personal data: who asked and how to reach them. The proof of what was done (kind,
    dates, states, who verified and approved, the jobs that did it) is kept longer than the
    identifiers, which a request's retention clears (see ``hovor.privacy.requests``)."""

    __tablename__ = "subject_requests"
    __table_args__ = (
        Index("ix_subject_requests_tenant_state_due", "tenant_id", "state", "due"),
        Index("ix_subject_requests_tenant_received", "tenant_id", "received"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    kind: Mapped[str] = mapped_column(String(24), info=not_personal("access, erasure, restriction, …"))
    received: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal("starts the deadline"))
    received_via: Mapped[str] = mapped_column(String(16), info=not_personal("email, letter, phone, …"))
    # The identifiers the person gave, normalised as the resolver compares them.
    identifiers: Mapped[dict[str, str] | None] = mapped_column(
        JSONType, info=personal(Category.CONTACT_POINT)
    )
    contact: Mapped[str | None] = mapped_column(String(64), info=personal(Category.RECORD_LINK))
    answer_via: Mapped[str | None] = mapped_column(String(16), info=not_personal("how the answer is sent"))
    answer_to: Mapped[str | None] = mapped_column(String(320), info=personal(Category.CONTACT_POINT))
    state: Mapped[str] = mapped_column(String(16), default="received", info=not_personal())
    verification: Mapped[str | None] = mapped_column(
        String(32), info=not_personal("how identity was checked")
    )
    verified_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who verified: the proof")
    )
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    # The deadline: one month from receipt (first_due), or later once extended.
    due: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal())
    first_due: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal("one month from receipt"))
    extension_reason: Mapped[str | None] = mapped_column(String(1000), info=personal(Category.TEXT))
    extension_told: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    approved_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "the second DPO: the proof")
    )
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    job: Mapped[str | None] = mapped_column(String(64), info=not_personal("the job that carried it out"))
    outcome: Mapped[str | None] = mapped_column(String(1000), info=personal(Category.TEXT))
    closed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who registered it")
    )
    edited_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who changed it last")
    )
    export: Mapped[str | None] = mapped_column(String(64), info=not_personal("the export that answered it"))
    # What was done for it besides a job or an export: the records rectified, restricted, …
    records: Mapped[dict[str, list[str]] | None] = mapped_column(
        JSONType, info=not_personal("record kinds to keys")
    )
    # Its retention took who asked out, keeping the proof.
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())


class SubjectExport(Base):
    """An access or portability package (GDPR Art. 15, 20): everything held about one person, as
    the v6 wire's JSON, a report in Czech and English and the original files, in one encrypted
    blob. Readable until ``expires``; then its key is destroyed (crypto-shredded) and only this
    row remains, saying what was exported when and by whom (counts, never contents)."""

    __tablename__ = "subject_exports"
    __table_args__ = (
        Index("ix_subject_exports_tenant_expires", "tenant_id", "state", "expires"),
        Index("ix_subject_exports_tenant_contact", "tenant_id", "contact"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    contact: Mapped[str | None] = mapped_column(String(64), info=personal(Category.RECORD_LINK))
    request: Mapped[str | None] = mapped_column(
        String(64), info=not_personal("the subject request it answers")
    )
    include: Mapped[dict[str, list[str]] | None] = mapped_column(
        JSONType, info=not_personal("keys of unlinked records the DPO included")
    )
    job: Mapped[str | None] = mapped_column(String(64), info=not_personal("the job that builds it"))
    # building → ready → expired (or failed)
    state: Mapped[str] = mapped_column(String(16), default="building", info=not_personal())
    # The package: an encrypted blob; personal data through and through, so erasing the person
    # shreds it as it shreds her recordings.
    blob: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.FILE, erasure=Erasure.DELETE_BLOB)
    )
    # The object a build is writing: a build that dies leaves it, and the next run removes it.
    partial: Mapped[str | None] = mapped_column(String(128), info=not_personal("random object name"))
    size: Mapped[int | None] = mapped_column(Integer, info=not_personal("bytes of the package"))
    sha256: Mapped[str | None] = mapped_column(String(64), info=not_personal("digest of the package"))
    counts: Mapped[dict[str, int] | None] = mapped_column(JSONType, info=not_personal("records per type"))
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal("the link's end"))
    downloads: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who exported: the proof")
    )
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())


class MentionRedaction(Base):
    """Which rows of other people's records an erasure redacted the person from, and keyed hashes
    of what it took out (her name forms, numbers, addresses: the audit log's pseudonyms, never the
    values). A restore of a backup from before the erasure redacts those rows again from these
    (shipped with the restore ledger, :mod:`hovor.backup.ledger`)."""

    __tablename__ = "mention_redactions"
    __table_args__ = (Index("ix_mention_redactions_at", "at"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    job: Mapped[str | None] = mapped_column(String(64), info=not_personal("the erasure"))
    # [[table, {primary key column: value}, [columns]], ...]
    rows: Mapped[list[Any]] = mapped_column(JSONType, info=not_personal("table names, keys and column names"))
    # {"names": [...], "phones": [...], "emails": [...]}: keyed pseudonyms of the normalised values.
    hashes: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType,
        info=personal(
            Category.CONTACT_POINT,
            Owner.SUBJECT,
            Erasure.KEEP,
            "keyed pseudonyms that redo an erasure on restore",
        ),
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
