"""The subject resolver: every record that carries a phone number or an e-mail address.

Each lookup is an index lookup (the identifier index for values inside custom fields, and the
indexed identifier columns of tickets, campaign records and channel items), scoped like any other
read by :func:`hovor.auth.scope.visible`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, literal, select, union_all
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


def _indexed(caller: Caller, kind: str, value: Any) -> list[Any]:
    """One select per indexed record type: its visible records named in the identifier index."""
    out = []
    for object_type, (model, scope) in INDEXED.items():
        names = select(Identifier.object_name).where(
            Identifier.tenant_id == caller.tenant_id,
            Identifier.kind == kind,
            Identifier.value == value,
            Identifier.object_type == object_type,
        )
        keys = select(cast(names.subquery().c.object_name, Integer)) if object_type == "tickets" else names
        out.append(
            _named(GROUP_OF[object_type], model, [model.name.in_(keys), *visible(model, caller, scope)])
        )
    return out


def _columns(caller: Caller, columns: list[tuple[str, Any, Any, dict[str, Any]]], value: Any) -> list[Any]:
    return [
        _named(group, model, [column == value, *visible(model, caller, scope)])
        for group, model, column, scope in columns
    ]


def _named(group: str, model: Any, where: list[Any]) -> Any:
    return select(literal(group).label("grp"), cast(model.name, String).label("key")).where(*where)


@lru_cache(maxsize=256)
def _statement(caller: Caller, phone: bool, email: bool) -> Any:
    """The lookup for a caller's rights, built once: building nine scoped selects costs more
    than running them. The values are bound at execution."""
    parts: list[Any] = []
    if phone:
        value = bindparam("phone", type_=String)
        parts += [*_indexed(caller, "phone", value), *_columns(caller, PHONE_COLUMNS, value)]
    if email:
        value = bindparam("email", type_=String)
        parts += [*_indexed(caller, "email", value), *_columns(caller, EMAIL_COLUMNS, value)]
    return union_all(*parts)


def resolve(
    session: Session, caller: Caller, *, phone: str | None = None, email: str | None = None
) -> dict[str, list[str]]:
    """Keys of every visible record carrying ``phone`` (E.164) or ``email`` (case-folded), by type.

    Every lookup is an index probe; they go to the database as one UNION ALL, one round trip."""
    found: dict[str, set[str]] = {}
    if phone or email:
        # The cache key is the caller's rights only (a token's hash would make every sign-in new).
        rights = replace(caller, token_hash=None, token_kind="access", user="", permissions=frozenset())
        stmt = _statement(rights, bool(phone), bool(email))
        params = {k: v for k, v in (("phone", phone), ("email", email)) if v}
        for group, key in session.execute(stmt, params):
            found.setdefault(group, set()).add(str(key))
    return {group: sorted(names) for group, names in sorted(found.items())}
