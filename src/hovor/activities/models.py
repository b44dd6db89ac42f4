"""Queues, activities and their channel items.

An activity is the channel-neutral wrapper (who, when, which queue, how long); its channel item
(call, e-mail, web chat, SMS, Messenger) shares its key and holds what the channel carries.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Float, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import FREE_TEXT_ROWS, Category, Erasure, Owner, not_personal, personal
from hovor.core.records import AuditStamps, CatalogueEntry
from hovor.index.search import searchable

# Related records of other domains, named for the type checker only: the relationships resolve
# them by class name through the registry, so no domain imports another's models.
if TYPE_CHECKING:
    from hovor.auth.models import PauseType, User
    from hovor.crm.models import Contact

STATS = "kept for statistics after anonymization"
# An activity with any free text of its own: its title, its description, a custom field.
HAS_FREE_TEXT = "title IS NOT NULL OR description IS NOT NULL OR custom_fields <> '{}'"


class Queue(AuditStamps, Base):
    __tablename__ = "queues"
    __scope__ = {"queue": "name"}

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("queue number"))
    title: Mapped[str] = mapped_column(String(255), info=not_personal("queue label"))
    type: Mapped[str] = mapped_column(String(16), info=not_personal())
    options: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, info=not_personal("queue settings")
    )
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())


def _of_activity(column: str = "name") -> ForeignKeyConstraint:
    """A channel item (or a child row) goes with its activity."""
    return ForeignKeyConstraint(
        ["tenant_id", column], ["activities.tenant_id", "activities.name"], ondelete="CASCADE"
    )


class Activity(AuditStamps, Base):
    __tablename__ = "activities"
    __scope__ = {"queue": "queue"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "queue"], ["queues.tenant_id", "queues.name"]),
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        ForeignKeyConstraint(["tenant_id", "contact"], ["crm_contacts.tenant_id", "crm_contacts.name"]),
        ForeignKeyConstraint(["tenant_id", "ticket"], ["tickets.tenant_id", "tickets.name"]),
        ForeignKeyConstraint(
            ["tenant_id", "record"], ["campaign_records.tenant_id", "campaign_records.name"]
        ),
        # The key last: pages sorted by time break ties by key, and this index serves both.
        Index("ix_activities_tenant_queue_time", "tenant_id", "queue", "time", "name"),
        Index("ix_activities_tenant_time", "tenant_id", "time", "name"),
        Index("ix_activities_tenant_contact", "tenant_id", "contact"),
        Index("ix_activities_tenant_ticket", "tenant_id", "ticket"),
        Index("ix_activities_tenant_record", "tenant_id", "record"),
        # The activities that carry free text of their own (most calls carry none): the erasure's
        # search for mentions reads these, not every activity (hovor.privacy.erasure.mentions,
        # which adds the same condition to its query so that the planner may use the index).
        Index(
            "ix_activities_tenant_free_text",
            "tenant_id",
            sqlite_where=text(HAS_FREE_TEXT),
            postgresql_where=text(HAS_FREE_TEXT),
        ),
        {"info": {FREE_TEXT_ROWS: HAS_FREE_TEXT}},
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    type: Mapped[str] = mapped_column(
        String(16), info=not_personal("CALL | EMAIL | CHAT | SMS | FBM | WAP | IGDM | VBR | COMMENT")
    )
    queue: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "handling operator; " + STATS)
    )
    contact: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.RECORD_LINK, erasure=Erasure.NULL)
    )
    ticket: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    record: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    title: Mapped[str | None] = mapped_column(
        String(1000), info=personal(Category.TEXT, erasure=Erasure.REDACT_TEXT)
    )
    description: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT, erasure=Erasure.NULL))
    action: Mapped[str] = mapped_column(String(16), default="CLOSE", info=not_personal())
    important: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal(STATS))
    time_open: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))
    time_close: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))
    duration: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    custom_fields: Mapped[dict[str, list[str]]] = mapped_column(
        JSONType, default=dict, info=personal(Category.FORM)
    )
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.CONSENT))

    queue_obj: Mapped[Queue | None] = relationship(viewonly=True, lazy="raise")
    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")
    contact_obj: Mapped[Contact | None] = relationship(viewonly=True, lazy="raise")
    call: Mapped[CallItem | None] = relationship(viewonly=True, lazy="raise")
    email: Mapped[EmailItem | None] = relationship(viewonly=True, lazy="raise")
    web: Mapped[WebItem | None] = relationship(viewonly=True, lazy="raise")
    sms: Mapped[SmsItem | None] = relationship(viewonly=True, lazy="raise")
    fbm: Mapped[FbmItem | None] = relationship(viewonly=True, lazy="raise")
    wap: Mapped[WapItem | None] = relationship(viewonly=True, lazy="raise")
    igdm: Mapped[IgdmItem | None] = relationship(viewonly=True, lazy="raise")
    vbr: Mapped[VbrItem | None] = relationship(viewonly=True, lazy="raise")


class CallItem(Base):
    __tablename__ = "activity_calls"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (
        _of_activity(),
        Index("ix_activity_calls_tenant_clid", "tenant_id", "clid"),
        # The subject search looks a caller up by the name the PBX gave them.
        Index("ix_activity_calls_tenant_prefix_clid_name", "tenant_id", "prefix_clid_name"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    clid: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE))
    did: Mapped[str | None] = mapped_column(String(32), info=not_personal("the contact centre's own number"))
    direction: Mapped[str] = mapped_column(String(8), info=not_personal(STATS))
    answered: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal(STATS))
    waiting_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    ringing_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    hold_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    duration: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    disposition: Mapped[str | None] = mapped_column(String(64), info=not_personal(STATS))
    # The rest of the reference's call record, as the PBX reports it.
    prefix_clid_name: Mapped[str | None] = mapped_column(
        String(255), info=personal(Category.PERSON_NAME, erasure=Erasure.NULL)
    )
    disposition_cause: Mapped[str | None] = mapped_column(String(64), info=not_personal(STATS))
    disconnection_cause: Mapped[str | None] = mapped_column(String(64), info=not_personal(STATS))
    pressed_key: Mapped[str | None] = mapped_column(String(32), info=not_personal(STATS))
    missed_call: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal(STATS))
    missed_call_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))
    missed_callback: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))
    attempts: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))

    activity: Mapped[Activity] = relationship(viewonly=True, lazy="raise")
    recording: Mapped[Recording | None] = relationship(
        viewonly=True,
        lazy="raise",
        uselist=False,
        primaryjoin="and_(CallItem.tenant_id == foreign(Recording.tenant_id), "
        "CallItem.name == foreign(Recording.name))",
    )


class Recording(Base):
    """The audio of a call: one encrypted blob."""

    __tablename__ = "call_recordings"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (
        _of_activity(),
        ForeignKeyConstraint(["tenant_id", "blob"], ["blobs.tenant_id", "blobs.name"]),
        # Deleting a blob row checks nothing still points at it: without this index, a scan each.
        Index("ix_call_recordings_tenant_blob", "tenant_id", "blob"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("the call activity's key")
    )
    blob: Mapped[str] = mapped_column(String(64), info=personal(Category.AUDIO, erasure=Erasure.DELETE_BLOB))
    mime: Mapped[str] = mapped_column(String(64), info=not_personal())
    duration: Mapped[float | None] = mapped_column(Float, info=not_personal(STATS))
    size: Mapped[int] = mapped_column(Integer, info=not_personal())
    status: Mapped[str] = mapped_column(String(16), default="Converted", info=not_personal())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())


class TranscriptSegment(Base):
    __tablename__ = "call_transcripts"
    __scope__ = {"via": ("activities", "activity")}
    __table_args__ = (
        _of_activity("activity"),
        Index("ix_call_transcripts_tenant_activity", "tenant_id", "activity", "start"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    activity: Mapped[str] = mapped_column(String(64), info=not_personal())
    start: Mapped[float] = mapped_column(Float, info=not_personal("seconds from the start of the call"))
    end: Mapped[float] = mapped_column(Float, info=not_personal())
    speaker: Mapped[str] = mapped_column(String(16), info=not_personal("agent | customer"))
    text: Mapped[str] = mapped_column(Text, info=personal(Category.TEXT, erasure=Erasure.DELETE_ROW))
    confidence: Mapped[float | None] = mapped_column(Float, info=not_personal())


class EmailItem(Base):
    __tablename__ = "activity_emails"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (
        _of_activity(),
        Index("ix_activity_emails_tenant_address", "tenant_id", "address"),
        # The import finds a message imported before by its Message-ID.
        Index("ix_activity_emails_tenant_message_id", "tenant_id", "message_id"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    address: Mapped[str | None] = mapped_column(String(320), info=personal(Category.EMAIL))
    title: Mapped[str | None] = mapped_column(
        String(1000), info=personal(Category.TEXT, erasure=Erasure.REDACT_TEXT)
    )
    text: Mapped[str | None] = mapped_column(Text, info=personal(Category.TEXT))
    html: Mapped[str | None] = mapped_column(Text, info=personal(Category.HTML))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=personal(Category.TEXT))
    direction: Mapped[str] = mapped_column(String(8), info=not_personal(STATS))
    state: Mapped[str] = mapped_column(String(16), default="SENT", info=not_personal())
    wait_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    answered: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal(STATS))
    message_id: Mapped[str | None] = mapped_column(
        String(998), info=personal(Category.TEXT, erasure=Erasure.NULL)
    )

    activity: Mapped[Activity] = relationship(viewonly=True, lazy="raise")


class WebItem(Base):
    """A web chat; the customer typed their name, e-mail and phone into the chat window."""

    __tablename__ = "activity_webs"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (
        _of_activity(),
        Index("ix_activity_webs_tenant_email", "tenant_id", "email"),
        Index("ix_activity_webs_tenant_phone", "tenant_id", "phone"),
        Index("ix_activity_webs_tenant_ip", "tenant_id", "ipaddress"),
        Index("ix_activity_webs_tenant_title", "tenant_id", "title"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    title: Mapped[str | None] = mapped_column(String(255), info=personal(Category.PERSON_NAME))
    email: Mapped[str | None] = mapped_column(String(320), info=personal(Category.EMAIL))
    phone: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE))
    ipaddress: Mapped[str | None] = mapped_column(String(45), info=personal(Category.IP))
    browser: Mapped[str | None] = mapped_column(String(1000), info=personal(Category.TEXT))
    # "in" when the customer opened the chat, "out" when an operator did.
    direction: Mapped[str] = mapped_column(String(8), default="in", info=not_personal(STATS))
    # Seconds until an operator first answered (the reference's wait_time).
    wait_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))
    gdpr: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        info=personal(Category.CONSENT, erasure=Erasure.KEEP, reason="proof of consent"),
    )

    activity: Mapped[Activity] = relationship(viewonly=True, lazy="raise")


class SmsItem(Base):
    __tablename__ = "activity_sms"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (_of_activity(), Index("ix_activity_sms_tenant_sender", "tenant_id", "sender"))

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    sender: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE))
    direction: Mapped[str] = mapped_column(String(8), info=not_personal(STATS))
    # Seconds until an operator first answered (the reference's wait_time).
    wait_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))

    activity: Mapped[Activity] = relationship(viewonly=True, lazy="raise")


class FbmItem(Base):
    __tablename__ = "activity_fbm"
    __scope__ = {"via": ("activities", "name")}
    __table_args__ = (
        _of_activity(),
        Index("ix_activity_fbm_tenant_sender", "tenant_id", "sender"),
        Index("ix_activity_fbm_tenant_title", "tenant_id", "title"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    sender: Mapped[str | None] = mapped_column(String(128), info=personal(Category.SOCIAL))
    title: Mapped[str | None] = mapped_column(String(255), info=personal(Category.PERSON_NAME))
    direction: Mapped[str] = mapped_column(String(8), info=not_personal(STATS))
    # Seconds until an operator first answered (the reference's wait_time).
    wait_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))

    activity: Mapped[Activity] = relationship(viewonly=True, lazy="raise")


class MessagingItem:
    """A conversation on a messaging network (WhatsApp, Instagram, Viber): who wrote (their number
    or the network's id of them), the name their profile shows, and the direction; its messages
    are ``Message`` rows like a chat's."""

    __scope__ = {"via": ("activities", "name")}
    # How the network names the person: "phone" (WhatsApp: their number, in E.164) or "social".
    SENDER_KIND = "social"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (
            _of_activity(),
            Index(f"ix_{table}_tenant_sender", "tenant_id", "sender"),
            Index(f"ix_{table}_tenant_title", "tenant_id", "title"),
        )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal("the activity's key"))
    title: Mapped[str | None] = mapped_column(String(255), info=personal(Category.PERSON_NAME))
    direction: Mapped[str] = mapped_column(String(8), info=not_personal(STATS))
    # Seconds until an operator first answered (the reference's wait_time).
    wait_time: Mapped[int | None] = mapped_column(Integer, info=not_personal(STATS))

    @declared_attr
    def activity(cls) -> Mapped[Activity]:
        return relationship(Activity, viewonly=True, lazy="raise")


class WapItem(MessagingItem, Base):
    """A WhatsApp conversation: the sender is the person's phone number."""

    __tablename__ = "activity_wap"
    SENDER_KIND = "phone"

    sender: Mapped[str | None] = mapped_column(String(32), info=personal(Category.PHONE))


class IgdmItem(MessagingItem, Base):
    """An Instagram direct-message conversation: the sender is Instagram's id of the person."""

    __tablename__ = "activity_igdm"

    sender: Mapped[str | None] = mapped_column(String(128), info=personal(Category.SOCIAL))


class VbrItem(MessagingItem, Base):
    """A Viber conversation: the sender is Viber's id of the person."""

    __tablename__ = "activity_vbr"

    sender: Mapped[str | None] = mapped_column(String(128), info=personal(Category.SOCIAL))


class Message(Base):
    """One message of a web chat, SMS thread, Messenger, WhatsApp, Instagram or Viber conversation."""

    __tablename__ = "messages"
    __scope__ = {"via": ("activities", "activity")}
    __table_args__ = (
        _of_activity("activity"),
        Index("ix_messages_tenant_activity_time", "tenant_id", "activity", "time"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    activity: Mapped[str] = mapped_column(String(64), info=not_personal())
    direction: Mapped[str] = mapped_column(String(8), info=not_personal("IN | OUT"))
    text: Mapped[str] = mapped_column(Text, info=personal(Category.TEXT, erasure=Erasure.DELETE_ROW))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "operator who wrote it")
    )


class Attachment(Base):
    """A file on a ticket or an activity (an e-mail's attachments, inline images included)."""

    __tablename__ = "attachments"
    __scope__ = {"any": (("activities", "activity"), ("tickets", "ticket"))}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "activity"], ["activities.tenant_id", "activities.name"]),
        ForeignKeyConstraint(["tenant_id", "ticket"], ["tickets.tenant_id", "tickets.name"]),
        ForeignKeyConstraint(["tenant_id", "blob"], ["blobs.tenant_id", "blobs.name"]),
        Index("ix_attachments_tenant_activity", "tenant_id", "activity"),
        Index("ix_attachments_tenant_ticket", "tenant_id", "ticket"),
        Index("ix_attachments_tenant_blob", "tenant_id", "blob"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    activity: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    ticket: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    blob: Mapped[str] = mapped_column(String(64), info=personal(Category.FILE, erasure=Erasure.DELETE_BLOB))
    title: Mapped[str] = mapped_column(String(255), info=personal(Category.TEXT, erasure=Erasure.DELETE_ROW))
    mime: Mapped[str] = mapped_column(String(128), info=not_personal())
    size: Mapped[int] = mapped_column(Integer, info=not_personal())
    inline: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())
    cid: Mapped[str | None] = mapped_column(String(255), info=not_personal("content id inside an e-mail"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "uploading operator")
    )


class ReplyTemplate(CatalogueEntry, Base):
    """A reply an operator starts from (an e-mail, an SMS, a chat message), with its placeholders."""

    __tablename__ = "reply_templates"

    type: Mapped[str] = mapped_column(String(8), info=not_personal())
    subject: Mapped[str | None] = mapped_column(String(998), info=not_personal("authored text"))
    content: Mapped[str | None] = mapped_column(Text, info=not_personal("authored text with placeholders"))


class ActivityStatusLink(Base):
    """A status an activity is marked with (an activity may carry several)."""

    __tablename__ = "activity_status_links"
    __scope__ = {"via": ("activities", "activity")}
    __table_args__ = (
        _of_activity("activity"),
        ForeignKeyConstraint(["tenant_id", "status"], ["ticket_statuses.tenant_id", "ticket_statuses.name"]),
        Index("ix_activity_status_links_tenant_status", "tenant_id", "status"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    activity: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    status: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())


class OperatorSession(Base):
    """An operator signed in to take work, as it is now (the reference's ``realtimeSessions``): one
    row per operator while signed in, keyed by their login; signing out deletes it. Operators are
    data subjects: what is kept of their work over time are the pauses they took
    (:class:`PauseTaken`), under a retention policy of its own."""

    __tablename__ = "operator_sessions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "name"], ["users.tenant_id", "users.name"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "id_pause"], ["pause_types.tenant_id", "pause_types.name"]),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    # The operator's login.
    name: Mapped[str] = mapped_column(
        String(64),
        primary_key=True,
        info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "the operator"),
    )
    state: Mapped[str] = mapped_column(String(16), info=not_personal("Idle, Busy or Paused"))
    exten: Mapped[str | None] = mapped_column(String(32), info=not_personal("the workplace's extension"))
    exten_status: Mapped[str | None] = mapped_column(String(32), info=not_personal())
    logintime: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal(STATS))
    statetime: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal(STATS))
    lastcalltime: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))
    id_pause: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    onpause: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal(STATS))

    user_obj: Mapped[User] = relationship(viewonly=True, lazy="raise")
    pause_obj: Mapped[PauseType | None] = relationship(viewonly=True, lazy="raise")


class PauseTaken(Base):
    """A pause an operator took: who, which kind, from when to when. Personal data of the operator
    (how they spend their working day), swept by the ``pausesTaken`` retention policy."""

    __tablename__ = "pauses_taken"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user"], ["users.tenant_id", "users.name"]),
        ForeignKeyConstraint(["tenant_id", "pause"], ["pause_types.tenant_id", "pause_types.name"]),
        Index("ix_pauses_taken_tenant_user_start", "tenant_id", "user", "start"),
        Index("ix_pauses_taken_tenant_end", "tenant_id", "end"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    user: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, reason="who took the pause")
    )
    pause: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal(STATS))
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=not_personal(STATS))
    duration: Mapped[int] = mapped_column(Integer, info=not_personal(STATS))

    user_obj: Mapped[User | None] = relationship(viewonly=True, lazy="raise")
    pause_obj: Mapped[PauseType | None] = relationship(viewonly=True, lazy="raise")


# What q searches (hovor.index.search).
searchable(Activity, "activities", ("title", "description"))
