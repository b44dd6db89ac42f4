"""The subject resolver: every record that carries a phone number or an e-mail address.

Each lookup is an index lookup (the identifier index for values inside custom fields, and the
indexed identifier columns of tickets, campaign records and channel items), scoped like any other
read by :func:`hovor.core.scope.visible`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from hovor.activities import channels
from hovor.activities.models import Activity
from hovor.campaigns.models import CampaignRecord
from hovor.core.caller import Caller
from hovor.core.db import without_parallel_workers
from hovor.core.scope import visible
from hovor.crm.models import Account, Contact, CrmRecord
from hovor.helpdesk.models import Ticket
from hovor.index.models import Identifier

# Records whose custom fields are indexed (a caller's rights apply as each model declares).
INDEXED: dict[str, Any] = {
    "contacts": Contact,
    "accounts": Account,
    "tickets": Ticket,
    "records": CampaignRecord,
    "crmRecords": CrmRecord,
    "activities": Activity,
}


# Identifier columns of their own: (group, model, column).
def _channel_columns(attribute: str) -> list[tuple[str, Any, Any]]:
    return [(k.endpoint, k.model, column) for k in channels.KINDS for column in getattr(k, attribute)]


PHONE_COLUMNS: list[tuple[str, Any, Any]] = [
    ("campaignsRecords", CampaignRecord, CampaignRecord.number),
    *_channel_columns("phones"),
]
EMAIL_COLUMNS: list[tuple[str, Any, Any]] = [("tickets", Ticket, Ticket.email), *_channel_columns("emails")]
SOCIAL_COLUMNS: list[tuple[str, Any, Any]] = _channel_columns("socials")
IP_COLUMNS: list[tuple[str, Any, Any]] = _channel_columns("ips")
# A person's full name as typed into a chat window or a messaging profile, or an account's name
# (a sole trader). Contacts are matched by surname and given name (their indexed columns).
FULLNAME_COLUMNS: list[tuple[str, Any, Any]] = [
    ("accounts", Account, Account.title),
    *_channel_columns("fullnames"),
]
GROUP_OF = {
    "contacts": "contacts",
    "accounts": "accounts",
    "tickets": "tickets",
    "records": "campaignsRecords",
    "crmRecords": "crmRecords",
    "activities": "activities",
}


def _indexed(caller: Caller, kind: str, value: Any) -> list[Any]:
    """One select per indexed record type: its visible records named in the identifier index."""
    out = []
    for object_type, model in INDEXED.items():
        names = select(Identifier.object_name).where(
            Identifier.tenant_id == caller.tenant_id,
            Identifier.kind == kind,
            Identifier.value == value,
            Identifier.object_type == object_type,
        )
        keys = select(cast(names.subquery().c.object_name, Integer)) if object_type == "tickets" else names
        out.append(_named(GROUP_OF[object_type], model, [model.name.in_(keys), *visible(model, caller)]))
    return out


def _columns(caller: Caller, columns: list[tuple[str, Any, Any]], value: Any, sqlite: bool) -> list[Any]:
    return [
        _named(group, model, [_probe(column, value, sqlite), *visible(model, caller)])
        for group, model, column in columns
    ]


def _probe(column: Any, value: Any, sqlite: bool) -> Any:
    """``column = value``, an index probe. SQLite's planner goes by average rows per key
    (sqlite_stat1), so a column that is mostly empty or mostly one value ("Web visitor") looks
    useless to it and it scans the table; ``likelihood`` says the value is rare, which it is when
    looked up by a person's identifier. PostgreSQL knows the frequent values and needs no hint."""
    if sqlite:
        return func.likelihood(column == value, literal_column("0.000001"))
    return column == value


def _named(group: str, model: Any, where: list[Any]) -> Any:
    return select(literal(group).label("grp"), cast(model.name, String).label("key")).where(*where)


KINDS = ("phone", "email", "social", "ip", "name")


@lru_cache(maxsize=256)
def _statement(caller: Caller, kinds: tuple[str, ...], sqlite: bool = False) -> Any:
    """The lookup for a caller's rights and the kinds of identifier given, built once: building
    a dozen scoped selects costs more than running them. The values are bound at execution."""
    parts: list[Any] = []
    if "phone" in kinds:
        value = bindparam("phone", type_=String)
        parts += [*_indexed(caller, "phone", value), *_columns(caller, PHONE_COLUMNS, value, sqlite)]
    if "email" in kinds:
        value = bindparam("email", type_=String)
        parts += [*_indexed(caller, "email", value), *_columns(caller, EMAIL_COLUMNS, value, sqlite)]
    if "social" in kinds:
        parts += _columns(caller, SOCIAL_COLUMNS, bindparam("social", type_=String), sqlite)
    if "ip" in kinds:
        parts += _columns(caller, IP_COLUMNS, bindparam("ip", type_=String), sqlite)
    if "name" in kinds:
        parts += _columns(caller, FULLNAME_COLUMNS, bindparam("fullname", type_=String), sqlite)
        parts.append(
            _named(
                "contacts",
                Contact,
                [
                    Contact.lastname == bindparam("lastname", type_=String),
                    Contact.firstname == bindparam("firstname", type_=String),
                    *visible(Contact, caller),
                ],
            )
        )
    return union_all(*parts)


def rights_of(caller: Caller) -> Caller:
    """The part of a caller that decides what they see: the cache key of the lookups."""
    return replace(caller, token_hash=None, token_kind="access", user="", permissions=frozenset())


def resolve(
    session: Session,
    caller: Caller,
    *,
    phone: str | None = None,
    email: str | None = None,
    social: str | None = None,
    ip: str | None = None,
    name: tuple[str, str] | None = None,
) -> dict[str, list[str]]:
    """Keys of every visible record carrying ``phone`` (E.164), ``email`` (case-folded), a
    Messenger ``social`` id, an ``ip`` address, or a person's ``name`` (given name, surname), by type.

    Every lookup is an index probe; they go to the database as one UNION ALL, one round trip."""
    params: dict[str, Any] = {}
    for kind, value in (("phone", phone), ("email", email), ("social", social), ("ip", ip)):
        if value:
            params[kind] = value
    if name and name[1]:
        first, last = name
        params.update(firstname=first or "", lastname=last, fullname=f"{first} {last}".strip())
    kinds = tuple(k for k in KINDS if k in params or (k == "name" and "lastname" in params))
    found: dict[str, set[str]] = {}
    if kinds:
        sqlite = session.get_bind().dialect.name == "sqlite"
        stmt = _statement(rights_of(caller), kinds, sqlite)
        with without_parallel_workers(session):
            rows = session.execute(stmt, params).all()
        for group, key in rows:
            found.setdefault(group, set()).add(str(key))
    return {group: sorted(names) for group, names in sorted(found.items())}
