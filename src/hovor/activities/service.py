"""Queues, activities and channel items (what they hold is :mod:`hovor.activities.content`).

Services flush, never commit. Blobs are written through :class:`hovor.files.service.Files`, and
destroyed key-first (the objects and rows go once the transaction has committed).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, select, union_all
from sqlalchemy.orm import Session

from hovor.activities import channels, schemas
from hovor.activities.content import delete_attachment, drop_recording
from hovor.activities.models import (
    Activity,
    ActivityStatusLink,
    Attachment,
    EmailItem,
    Message,
    Queue,
    Recording,
    TranscriptSegment,
)
from hovor.auth.users import forget_grant
from hovor.core.caller import Caller
from hovor.core.db import memo, new_name, utcnow
from hovor.core.errors import Conflict, ValidationFailed
from hovor.core.identifiers import normalize_email
from hovor.core.permissions import Permission
from hovor.core.records import (
    apply,
    catalogue_refs,
    contact_ref,
    key_unchanged,
    phone_field,
    refuse_if_restricted,
    replace_links,
    stamp_edit,
    ticket_of,
    time_field,
    user_ref,
)
from hovor.core.references import model_of, on_delete
from hovor.core.scope import get_visible, may_use
from hovor.files.service import Files
from hovor.forms.service import store_custom_fields, update_custom_fields, validate_custom_fields
from hovor.index.service import unindex
from hovor.tenancy.models import Tenant


@dataclass(frozen=True)
class Channel:
    type: str
    item: Any
    queue_types: tuple[str, ...]


CHANNELS = {k.code: Channel(k.code, k.model, k.queue_types) for k in channels.KINDS}


# --- queues ------------------------------------------------------------------------------------
def _check_retention(session: Session, caller: Caller, options: dict[str, Any]) -> None:
    """A queue keeps recordings for at most the tenant's ceiling (0 or empty: the ceiling)."""
    days = options.get("recordings_retention")
    if not days:
        return
    tenant = session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    if tenant.recordings_retention_days is not None and days > tenant.recordings_retention_days:
        raise ValidationFailed(
            {
                "options.recordings_retention": [
                    f"At most {tenant.recordings_retention_days} days: the contract's ceiling for "
                    "recordings. 0 or empty keeps them for the ceiling."
                ]
            }
        )


def create_queue(session: Session, caller: Caller, body: schemas.QueueCreate) -> Queue:
    if session.get(Queue, (caller.tenant_id, body.name)) is not None:
        raise Conflict("A queue with this number exists.")
    _check_retention(session, caller, body.options.model_dump())
    queue = Queue(
        tenant_id=caller.tenant_id,
        name=body.name,
        title=body.title,
        type=body.type,
        options=body.options.model_dump(),
        deactivated=body.deactivated,
        created_by=caller.user,
    )
    session.add(queue)
    session.flush()
    return queue


def update_queue(session: Session, caller: Caller, queue: Queue, body: schemas.QueueUpdate) -> Queue:
    key_unchanged(body, queue.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name", "options"})
    apply(queue, sent, required=("title", "deactivated"))
    if "options" in body.model_fields_set:
        if body.options is None:
            raise ValidationFailed({"options": ["This field cannot be empty."]})
        given = body.options.model_dump(exclude_unset=True)
        options = {**(queue.options or {}), **given}
        if "recordings_retention" in given:  # a lowered ceiling must not block saving other options
            _check_retention(session, caller, given)
        queue.options = options
    stamp_edit(queue, caller)
    session.flush()
    return queue


def delete_queue(session: Session, caller: Caller, queue: Queue) -> None:
    used = session.scalar(
        select(func.count())
        .select_from(Activity)
        .where(Activity.tenant_id == queue.tenant_id, Activity.queue == queue.name)
    )
    if used:
        raise Conflict("The queue has activities; deactivate it instead.")
    forget_grant(session, queue.tenant_id, "queues", queue.name)
    session.delete(queue)
    session.flush()


# --- the activity wrapper ----------------------------------------------------------------------
def _queue(session: Session, caller: Caller, name: str | None, activity_type: str) -> str | None:
    if name is None:
        return None
    queue = memo(
        session,
        ("queue", caller, name),
        lambda: get_visible(session, Queue, caller, name),
    )
    if queue is None or not may_use(caller, "queue", name):
        raise ValidationFailed({"queue": ["No such queue, or your rights do not cover it."]})
    channel = CHANNELS.get(activity_type)
    if channel is not None and queue.type not in channel.queue_types:
        raise ValidationFailed({"queue": [f"A {queue.type} queue does not take {activity_type} activities."]})
    return queue.name


def _ticket(session: Session, caller: Caller, number: int | None) -> int | None:
    if number is None:
        return None
    ticket_of(session, caller, number).last_activity = utcnow()
    return number


def _record(session: Session, caller: Caller, name: str | None) -> str | None:
    if name is None:
        return None
    if get_visible(session, model_of("campaign_records"), caller, name) is None:
        raise ValidationFailed({"record": ["No such campaign record, or your rights do not cover it."]})
    return name


WRAPPER = set(schemas.ActivityFields.model_fields)
# Wrapper fields that name another record: resolved (and the caller's right to them checked) in the
# record's transaction. The others are parsed from the input alone.
REFERENCES = frozenset({"queue", "user", "contact", "ticket", "record"})
TIMES = ("time", "time_close")


def _plain_values(caller: Caller, body: BaseModel) -> dict[str, Any]:
    """The sent wrapper fields that need no database: times parsed, the rest as sent."""
    sent = body.model_fields_set & WRAPPER - REFERENCES - {"customFields"}
    data: Any = body
    return {k: time_field(getattr(data, k), caller, k) if k in TIMES else getattr(data, k) for k in sent}


def _reference_values(
    session: Session, caller: Caller, body: BaseModel, activity_type: str
) -> dict[str, Any]:
    """The sent references, each resolved and checked against the caller's rights."""
    data: Any = body
    resolvers = {
        "queue": lambda v: _queue(session, caller, v, activity_type),
        "user": lambda v: user_ref(session, caller, v),
        "contact": lambda v: contact_ref(session, caller, v),
        "ticket": lambda v: _ticket(session, caller, v),
        "record": lambda v: _record(session, caller, v),
    }
    return {key: resolvers[key](getattr(data, key)) for key in body.model_fields_set & REFERENCES}


def _wrapper_values(session: Session, caller: Caller, body: BaseModel, activity_type: str) -> dict[str, Any]:
    """The sent wrapper fields, each checked and resolved."""
    return {**_plain_values(caller, body), **_reference_values(session, caller, body, activity_type)}


@dataclass(eq=False)
class ActivityDraft:
    """A new activity (with its channel item, if it has one) as far as it is known without the
    database: its key, its input parsed (phone numbers, times), its records built. What needs the
    database (the references, the custom fields, the insert) is :func:`store_activity`'s, in the
    record's transaction. Drafting first keeps the parsing and the building out of that transaction:
    a grouped create drafts on the event loop before it joins its group (hovor.api.group), so the
    group holds SQLite's one write lock only for the lookups, the inserts and the commit."""

    tenant_id: str
    user: str | None
    type: str
    body: Any
    name: str
    at: dt.datetime
    values: dict[str, Any]
    item_values: dict[str, Any] | None
    built: tuple[Activity, Any] | None = None

    def records(self) -> tuple[Activity, Any]:
        """The records, as built when drafted; built anew if they were stored once already (a
        group of creates that failed runs its members again, each in a transaction of its own)."""
        built, self.built = self.built, None
        return built or self._build()

    def _build(self) -> tuple[Activity, Any]:
        values = dict(self.values)
        activity = Activity(
            tenant_id=self.tenant_id,
            name=self.name,
            type=self.type,
            created_by=self.user,
            time=values.pop("time", None) or self.at,
            time_open=self.at,
            action=values.pop("action", None) or "CLOSE",
            important=bool(values.pop("important", False)),
            **values,
        )
        if activity.action == "CLOSE" and activity.time_close is None:
            activity.time_close = self.at
        if self.item_values is None:
            return activity, None
        item = CHANNELS[self.type].item(tenant_id=self.tenant_id, name=self.name, **self.item_values)
        return activity, item


def draft_activity(caller: Caller, activity_type: str, body: BaseModel) -> ActivityDraft:
    """An activity of ``activity_type`` (with its channel item, for a channel's type) from its input,
    before the database is asked anything; a form error if the input alone is wrong."""
    item_values = _item_values(activity_type, body, caller) if activity_type in CHANNELS else None
    draft = ActivityDraft(
        caller.tenant_id,
        caller.user,
        activity_type,
        body,
        new_name("activities"),
        utcnow(),
        _plain_values(caller, body),
        item_values,
    )
    draft.built = draft._build()
    return draft


def store_activity(session: Session, caller: Caller, draft: ActivityDraft) -> tuple[Activity, Any]:
    """The drafted records, their references resolved and custom fields checked, added to the
    session (flushed with the next query or the commit: a group's rows all at once)."""
    activity, item = draft.records()
    for key, value in _reference_values(session, caller, draft.body, draft.type).items():
        setattr(activity, key, value)
    clean = validate_custom_fields(
        session,
        caller,
        "activities",
        None,
        getattr(draft.body, "customFields", None),
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    session.add(activity)
    store_custom_fields(session, activity, "activities", clean, creating=True)
    if item is not None:
        session.add(item)
    return activity, item


def _update_wrapper(session: Session, caller: Caller, activity: Activity, body: BaseModel) -> None:
    key_unchanged(body, activity.name)
    refuse_if_restricted(session, caller, activity.contact)
    values = _wrapper_values(session, caller, body, activity.type)
    before = activity.ticket
    apply(activity, values, required=("time", "action", "important"))
    if {"ticket", "time"} & set(values):
        session.flush()
        for ticket in {before, activity.ticket}:
            answers_of(session, activity.tenant_id, ticket)
    update_custom_fields(session, caller, activity, "activities", None, body)
    if values.get("action") == "CLOSE" and activity.time_close is None:
        activity.time_close = utcnow()
    stamp_edit(activity, caller)


def _statuses(session: Session, caller: Caller, activity: Activity, names: list[str]) -> None:
    marked = catalogue_refs(session, caller, "ticket_statuses", names, "statuses")
    replace_links(
        session, ActivityStatusLink, "activity", "status", activity.tenant_id, activity.name, marked
    )


def create_comment(session: Session, caller: Caller, body: schemas.CommentCreate) -> Activity:
    activity, _ = store_activity(session, caller, draft_activity(caller, "COMMENT", body))
    if body.statuses:
        session.flush()
        _statuses(session, caller, activity, body.statuses)
    return activity


def update_activity(
    session: Session, caller: Caller, activity: Activity, body: schemas.ActivityUpdate
) -> Activity:
    _update_wrapper(session, caller, activity, body)
    if "statuses" in body.model_fields_set:
        _statuses(session, caller, activity, body.statuses or [])
    session.flush()
    return activity


def delete_activity(session: Session, caller: Caller, activity: Activity, files: Files) -> None:
    """Deletes an activity with everything it holds: item, messages, transcript, recording, files."""
    recording = session.get(Recording, (activity.tenant_id, activity.name))
    if recording is not None:
        drop_recording(session, recording, files)
    for attachment in session.scalars(
        select(Attachment).where(
            Attachment.tenant_id == activity.tenant_id, Attachment.activity == activity.name
        )
    ):
        delete_attachment(session, caller, attachment, files)
    for model in (Message, TranscriptSegment):
        session.execute(
            delete(model).where(model.tenant_id == activity.tenant_id, model.activity == activity.name)
        )
    channel = CHANNELS.get(activity.type)
    if channel is not None:
        session.execute(
            delete(channel.item).where(
                channel.item.tenant_id == activity.tenant_id, channel.item.name == activity.name
            )
        )
    unindex(session, activity.tenant_id, "activities", activity.name)
    session.delete(activity)
    session.flush()
    answers_of(session, activity.tenant_id, activity.ticket)


# --- channel items -----------------------------------------------------------------------------
def _item_values(activity_type: str, body: Any, caller: Caller) -> dict[str, Any]:
    if activity_type == "CALL":
        return {
            "clid": phone_field(body.clid, caller, "clid"),
            "did": phone_field(body.did, caller, "did"),
            "direction": body.direction,
            "answered": body.answered,
            "waiting_time": body.waiting_time,
            "ringing_time": body.ringing_time,
            "hold_time": body.hold_time,
            "duration": body.duration,
            "disposition": body.disposition,
            "prefix_clid_name": body.prefix_clid_name,
            "disposition_cause": body.disposition_cause,
            "disconnection_cause": body.disconnection_cause,
            "pressed_key": body.pressed_key,
            "missed_call": body.missed_call,
            "missed_call_time": time_field(body.missed_call_time, caller, "missed_call_time"),
            "missed_callback": time_field(body.missed_callback, caller, "missed_callback"),
            "attempts": body.attempts,
        }
    if activity_type == "EMAIL":
        return {
            "address": normalize_email(body.address) if body.address else None,
            "title": body.title,
            "text": body.text,
            "html": body.html,
            "headers": body.headers,
            "direction": body.direction,
            "state": body.state,
            "wait_time": body.wait_time,
            "answered": body.answered,
            "message_id": message_key(body.headers.get("Message-ID")),
        }
    if activity_type == "CHAT":
        return {
            "title": body.title,
            "email": normalize_email(body.email) if body.email else None,
            "phone": phone_field(body.phone, caller, "phone"),
            "ipaddress": str(ipaddress.ip_address(body.ipaddress)) if body.ipaddress else None,
            "browser": body.browser,
            "gdpr": body.gdpr,
            "direction": body.direction,
            "wait_time": body.wait_time,
        }
    if activity_type == "SMS":
        return {
            "sender": phone_field(body.sender, caller, "sender"),
            "direction": body.direction,
            "wait_time": body.wait_time,
        }
    kind = channels.BY_CODE.get(activity_type)
    if kind is not None and kind.messaging:  # Messenger, WhatsApp, Instagram, Viber
        phone = getattr(kind.model, "SENDER_KIND", "social") == "phone"
        sender = phone_field(body.sender, caller, "sender") if phone else body.sender
        return {
            "sender": sender,
            "title": body.title,
            "direction": body.direction,
            "wait_time": body.wait_time,
        }
    raise ValueError(activity_type)


def message_key(message_id: str | None) -> str | None:
    """A Message-ID as stored and looked up. RFC 5322 makes it ASCII; one that is not (or is
    longer than the column) is kept in the headers only: an index entry of it could exceed what
    PostgreSQL's B-tree holds, and no mail system would send it twice the same way anyway."""
    if not message_id or not message_id.isascii() or len(message_id) > 998:
        return None
    return message_id


def imported_before(session: Session, caller: Caller, message_id: str | None) -> EmailItem | None:
    """The e-mail of the tenant already stored under this Message-ID, if the caller may see it.

    One the caller may not see is a conflict (409) that says nothing more: importing it again
    would store the message twice, and answering with it would show it to them."""
    message_id = message_key(message_id)
    if not message_id:
        return None
    stored = session.scalars(
        select(EmailItem.name)
        .where(EmailItem.tenant_id == caller.tenant_id, EmailItem.message_id == message_id)
        .order_by(EmailItem.name)
        .limit(1)
    ).first()
    if stored is None:
        return None
    item = get_visible(session, EmailItem, caller, stored)
    if item is None or not caller.can(Permission.ACTIVITIES_ACTIVITIES_READ):
        raise Conflict("This message was imported before.")
    return item


def answers_of(session: Session, tenant_id: str, ticket: int | None) -> None:
    """A ticket's first answer and each side's last activity, from what is filed under it now:
    the earliest and latest outgoing activity (an e-mail, call, SMS or message sent) and the latest
    incoming one, by their time. Recomputed whenever an activity with a direction is filed under
    the ticket, moved off it, moved in time or deleted, so they never go stale."""
    if ticket is None:
        return
    found = model_of("tickets")
    record = session.get(found, (tenant_id, ticket))
    if record is None:
        return
    parts = [
        select(Activity.time, kind.model.direction)
        .join(kind.model, (kind.model.tenant_id == Activity.tenant_id) & (kind.model.name == Activity.name))
        .where(Activity.tenant_id == tenant_id, Activity.ticket == ticket)
        for kind in channels.KINDS
    ]
    times: dict[str, list[dt.datetime]] = {"in": [], "out": []}
    for when, direction in session.execute(union_all(*parts)):
        if direction in times:
            times[direction].append(when)
    record.first_answer = min(times["out"], default=None)
    record.last_activity_operator = max(times["out"], default=None)
    record.last_activity_client = max(times["in"], default=None)


def create_channel_item(session: Session, caller: Caller, activity_type: str, body: Any) -> Any:
    return store_channel_item(session, caller, draft_activity(caller, activity_type, body))


def store_channel_item(session: Session, caller: Caller, draft: ActivityDraft) -> Any:
    """:func:`create_channel_item`'s second step: the drafted call, e-mail, chat … stored."""
    activity, item = store_activity(session, caller, draft)
    if activity.ticket is not None:
        answers_of(session, activity.tenant_id, activity.ticket)
    return item


def update_channel_item(session: Session, caller: Caller, item: Any, body: Any) -> Any:
    activity = session.get(Activity, (item.tenant_id, item.name))
    assert activity is not None
    _update_wrapper(session, caller, activity, body)
    own = body.model_fields_set - WRAPPER - {"name"}
    values = {k: getattr(body, k) for k in own}
    for key in ("missed_call_time", "missed_callback"):
        if key in values:
            values[key] = time_field(values[key], caller, key)
    if activity.type in ("CHAT", *channels.MESSAGING) and "title" in body.model_fields_set:
        values["title"] = body.title
    if activity.type == "EMAIL" and "title" in body.model_fields_set:
        values["title"] = body.title
    apply(item, values, required=("answered", "gdpr", "state", "missed_call"))
    session.flush()
    return item


def delete_channel_item(session: Session, caller: Caller, item: Any, files: Files) -> None:
    activity = session.get(Activity, (item.tenant_id, item.name))
    assert activity is not None
    delete_activity(session, caller, activity, files)


def channel_functions(activity_type: str) -> tuple[Any, Any, Any]:
    def create(session: Session, caller: Caller, body: Any) -> Any:
        return create_channel_item(session, caller, activity_type, body)

    return create, update_channel_item, delete_channel_item


@on_delete("tickets")
def _ticket_deleted(session: Session, caller: Caller, number: Any, files: Files) -> None:
    """A ticket's comments and the attachments on it and on them go with it (the blobs are
    crypto-shredded). Calls, e-mails and chats filed under it stay; the helpdesk clears their link
    (``clear_references``) after this."""
    tenant_id = caller.tenant_id
    comments = select(Activity.name).where(
        Activity.tenant_id == tenant_id, Activity.ticket == number, Activity.type == "COMMENT"
    )
    attached = (Attachment.ticket == number) | Attachment.activity.in_(comments)
    for attachment in session.scalars(select(Attachment).where(Attachment.tenant_id == tenant_id, attached)):
        delete_attachment(session, caller, attachment, files)
    for comment in session.scalars(comments):
        unindex(session, tenant_id, "activities", comment)
    session.execute(
        delete(Activity).where(
            Activity.tenant_id == tenant_id, Activity.ticket == number, Activity.type == "COMMENT"
        )
    )
