"""The consent ledger: every consent event appended, the current state derived from it.

An event says that a person gave or withdrew consent to one purpose on one channel (``all``: every
channel), when, how (a consent custom field, a call, a web form, an import …), who recorded it and
what proves it (an activity, an evidence reference). Events are never updated: the state of a
purpose and channel is the latest event's (by ``time``, then by when it was recorded). An
objection to direct marketing is a withdrawal of every purpose (``*``) on every channel.

A consent custom field writes an event whenever its value changes: its purpose is the field's name,
its channel ``all`` (a form field says yes or no, not on which channel), ``yes`` gives and ``no``
or an emptied field withdraws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hovor.core.db import new_name, utcnow
from hovor.forms.models import ConsentEvent

CHANNELS = ("call", "sms", "email", "chat")
ALL_CHANNELS = "all"
ANY_PURPOSE = "*"
GIVEN, WITHDRAWN = "given", "withdrawn"
STATES = (GIVEN, WITHDRAWN)
FIELD, OBJECTION = "field", "objection"
# Sources a client may name; ``field`` and ``objection`` are written by hovor itself.
SOURCES = ("call", "web", "import", "email", "letter", "in_person", "other")

# What other domains do when what decides whether a person may be contacted changed (her consent,
# or a new number or address of hers): (session, tenant, contact, object type, object key).
# Registered by the reacting domain when its service module is imported (the campaigns take a
# record without consent out of dialling), as hovor.core.references.on_delete hooks are.
ChangeHook = Callable[[Session, str, str | None, str | None, str | None], None]
_ON_CHANGE: list[ChangeHook] = []


def on_change(hook: ChangeHook) -> ChangeHook:
    _ON_CHANGE.append(hook)
    return hook


def changed(
    session: Session, tenant_id: str, contact: str | None, object_type: str | None, object_name: str | None
) -> None:
    for hook in _ON_CHANGE:
        hook(session, tenant_id, contact, object_type, object_name)


def append(
    session: Session,
    tenant_id: str,
    *,
    purpose: str,
    channel: str,
    state: str,
    source: str,
    actor: str | None,
    contact: str | None = None,
    object_type: str | None = None,
    object_name: str | None = None,
    activity: str | None = None,
    evidence: str | None = None,
    time: dt.datetime | None = None,
    notify: bool = True,
) -> ConsentEvent:
    """Appends one event (and tells the domains that react to consent, unless ``notify`` is off
    because the caller appends several and tells them once)."""
    event = ConsentEvent(
        tenant_id=tenant_id,
        name=new_name("consent"),
        contact=contact,
        object_type=object_type,
        object_name=object_name,
        purpose=purpose,
        channel=channel,
        state=state,
        source=source,
        activity=activity,
        evidence=evidence,
        time=time or utcnow(),
        actor=actor,
        created=utcnow(),
    )
    session.add(event)
    session.flush()
    if notify:
        changed(session, tenant_id, contact, object_type, object_name)
    return event


def _when(stamp: Any) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return utcnow()
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def from_fields(
    session: Session,
    record: Any,
    object_type: str,
    before: dict[str, Any],
    after: dict[str, Any],
    targets: dict[str, tuple[str, str]],
) -> None:
    """An event for every consent field whose stamp changed (its value did), for the purpose and
    channel the field declares (by default its name, every channel). The person is the contact
    itself, or the record's contact."""
    contact = str(record.name) if object_type == "contacts" else getattr(record, "contact", None)
    wrote = False
    for field, entry in after.items():
        if before.get(field) == entry or not isinstance(entry, dict):
            continue
        purpose, channel = targets.get(field, (field, ALL_CHANNELS))
        append(
            session,
            record.tenant_id,
            purpose=purpose,
            channel=channel,
            state=GIVEN if entry.get("value") == "yes" else WITHDRAWN,
            source=FIELD,
            actor=entry.get("set_by"),
            contact=contact,
            object_type=object_type,
            object_name=str(record.name),
            time=_when(entry.get("set_at")),
            notify=False,
        )
        wrote = True
    if wrote:
        changed(session, record.tenant_id, contact, object_type, str(record.name))


def events_of(
    session: Session, tenant_id: str, contacts: Iterable[str], record: tuple[str, str] | None = None
) -> list[ConsentEvent]:
    """Every event of a person, oldest first: those naming her contacts, and those written by the
    record ``(object type, key)`` (a campaign record's own consent field when it has no contact)."""
    conditions: list[Any] = []
    keys = sorted(set(contacts))
    if keys:
        conditions.append(ConsentEvent.contact.in_(keys))
    if record is not None:
        conditions.append(and_(ConsentEvent.object_type == record[0], ConsentEvent.object_name == record[1]))
    if not conditions:
        return []
    stmt = (
        select(ConsentEvent)
        .where(ConsentEvent.tenant_id == tenant_id, or_(*conditions))
        .order_by(ConsentEvent.time, ConsentEvent.created, ConsentEvent.name)
    )
    return list(session.scalars(stmt))


def decide(events: Iterable[ConsentEvent], purpose: str, channel: str) -> ConsentEvent | None:
    """The event that decides ``purpose`` on ``channel``: the latest one about it (an objection,
    purpose ``*``, is about every purpose; an event on ``all`` channels about every channel)."""
    latest: ConsentEvent | None = None
    for event in events:
        if event.purpose not in (purpose, ANY_PURPOSE) or event.channel not in (channel, ALL_CHANNELS):
            continue
        if latest is None or (event.time, event.created) >= (latest.time, latest.created):
            latest = event
    return latest


def current_state(events: list[ConsentEvent]) -> list[tuple[str, str, ConsentEvent]]:
    """(purpose, channel, deciding event) for every purpose the events name and every channel
    an event of that purpose is about."""
    purposes = sorted({e.purpose for e in events})
    out: list[tuple[str, str, ConsentEvent]] = []
    for purpose in purposes:
        for channel in CHANNELS:
            deciding = decide(events, purpose, channel)
            if deciding is not None:
                out.append((purpose, channel, deciding))
    return out
