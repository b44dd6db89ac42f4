"""The subject resolver: every record that carries a phone number or an e-mail address.

Each lookup is an index lookup (the identifier index for values inside custom fields, and the
indexed identifier columns of tickets, campaign records and channel items), scoped like any other
read by :func:`hovor.auth.scope.visible`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities.models import Activity, CallItem, EmailItem, SmsItem, WebItem
from hovor.auth.caller import Caller
from hovor.auth.scope import Via, visible
from hovor.campaigns.models import CampaignRecord
from hovor.crm.models import Account, Contact
from hovor.helpdesk.models import Ticket
from hovor.privacy.models import Identifier

ACTIVITY_SCOPE = {"queue": Activity.queue}

# Records whose custom fields are indexed, with how a caller's rights apply to them.
INDEXED: dict[str, tuple[Any, dict[str, Any]]] = {
    "contacts": (Contact, {"database": Contact.database}),
    "accounts": (Account, {"database": Account.database}),
    "tickets": (Ticket, {"category": Ticket.category}),
    "records": (CampaignRecord, {"queue": CampaignRecord.queue}),
    "activities": (Activity, ACTIVITY_SCOPE),
}
# Identifier columns of their own: (group, model, column, scope).
PHONE_COLUMNS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("campaignsRecords", CampaignRecord, CampaignRecord.number, {"queue": CampaignRecord.queue}),
    ("activitiesCall", CallItem, CallItem.clid, {"via": Via(Activity, CallItem.name, ACTIVITY_SCOPE)}),
    ("activitiesWeb", WebItem, WebItem.phone, {"via": Via(Activity, WebItem.name, ACTIVITY_SCOPE)}),
    ("activitiesSms", SmsItem, SmsItem.sender, {"via": Via(Activity, SmsItem.name, ACTIVITY_SCOPE)}),
]
EMAIL_COLUMNS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("tickets", Ticket, Ticket.email, {"category": Ticket.category}),
    ("activitiesEmail", EmailItem, EmailItem.address, {"via": Via(Activity, EmailItem.name, ACTIVITY_SCOPE)}),
    ("activitiesWeb", WebItem, WebItem.email, {"via": Via(Activity, WebItem.name, ACTIVITY_SCOPE)}),
]
GROUP_OF = {
    "contacts": "contacts",
    "accounts": "accounts",
    "tickets": "tickets",
    "records": "campaignsRecords",
    "activities": "activities",
}


def _indexed(session: Session, caller: Caller, kind: str, value: str, found: dict[str, set[str]]) -> None:
    hits: dict[str, list[str]] = {}
    for object_type, name in session.execute(
        select(Identifier.object_type, Identifier.object_name).where(
            Identifier.tenant_id == caller.tenant_id, Identifier.kind == kind, Identifier.value == value
        )
    ):
        hits.setdefault(object_type, []).append(name)
    for object_type, names in hits.items():
        model, scope = INDEXED[object_type]
        keys: list[Any] = [int(n) for n in names] if object_type == "tickets" else names
        visible_names = session.scalars(
            select(model.name).where(model.name.in_(keys), *visible(model, caller, scope))
        )
        seen = {str(n) for n in visible_names}
        if seen:
            found.setdefault(GROUP_OF[object_type], set()).update(seen)


def _columns(
    session: Session,
    caller: Caller,
    columns: list[tuple[str, Any, Any, dict[str, Any]]],
    value: str,
    found: dict[str, set[str]],
) -> None:
    for group, model, column, scope in columns:
        names = session.scalars(select(model.name).where(column == value, *visible(model, caller, scope)))
        hits = {str(n) for n in names}
        if hits:
            found.setdefault(group, set()).update(hits)


def resolve(
    session: Session, caller: Caller, *, phone: str | None = None, email: str | None = None
) -> dict[str, list[str]]:
    """Keys of every visible record carrying ``phone`` (E.164) or ``email`` (case-folded), by type."""
    found: dict[str, set[str]] = {}
    steps: list[Callable[[], None]] = []
    if phone:
        steps.append(lambda: _indexed(session, caller, "phone", phone, found))
        steps.append(lambda: _columns(session, caller, PHONE_COLUMNS, phone, found))
    if email:
        steps.append(lambda: _indexed(session, caller, "email", email, found))
        steps.append(lambda: _columns(session, caller, EMAIL_COLUMNS, email, found))
    for step in steps:
        step()
    return {group: sorted(names) for group, names in sorted(found.items())}
