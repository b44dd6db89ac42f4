"""GDPR erasure of a contact, driven by the personal-data registry.

What happens to each column comes from its declaration (:mod:`hovor.core.personal_data`), never from
code per table: ``null`` empties it, ``placeholder`` writes a neutral word, ``redact_text`` keeps the
text with every identifier and the person's name taken out, ``delete_row`` and ``delete_blob``
remove the row (and shred its file). Columns that are not the subject's (an operator's login, a
queue, times and durations) stay, so statistics survive.

An erasure is a job (:mod:`hovor.jobs`) of idempotent steps:

``plan``       the records concerned, by key (the contact, its duplicates and what the DPO included;
               tickets, campaign records and activities linked to them); legal holds re-checked.
``mentions``   the person's name forms, phone numbers and e-mail addresses redacted in other people's
               records (a ``LIKE`` pre-filter in SQL, then :class:`~hovor.privacy.redact.Redactor`).
``anonymize``  the person's own records, in chunks: tombstone, shred blobs, clear fields, delete
               rows, one transaction and one audit entry per chunk.
``contact``    the contacts themselves deleted (last: their name is what the steps before redact).
``shred``      the objects of the shredded blobs deleted from the store.
``compact``    SQLite's WAL truncated (``secure_delete`` verified on); PostgreSQL's touched tables
               vacuumed.
``certificate`` counts per record type and field, signed like audit checkpoints.

A job killed at any point is taken over and resumes at its first unfinished step; a step redone
finds its finished chunks already done (cleared fields stay cleared, redacted text no longer
matches), so the end state is the same as an uninterrupted run.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, String, Text, and_, any_, cast, delete, func, inspect, or_, select, update
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import Session

from hovor.activities.models import (
    Activity,
    Attachment,
    CallItem,
    EmailItem,
    FbmItem,
    Message,
    Recording,
    SmsItem,
    TranscriptSegment,
    WebItem,
)
from hovor.audit import log as audit
from hovor.audit.keys import encode_public, key_id
from hovor.campaigns.models import CampaignRecord
from hovor.core.caller import Caller
from hovor.core.db import Base, new_name, unit_of_work, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, classification
from hovor.crm.models import Account, Contact
from hovor.helpdesk.models import Ticket
from hovor.jobs import service as jobs
from hovor.privacy import compaction, holds
from hovor.privacy.models import Identifier, Tombstone
from hovor.privacy.redact import Redactor, name_forms, probes
from hovor.privacy.resolver import resolve

KIND = "erasure"
CHUNK = 500
PLACEHOLDER = "[erased]"

# The record types an erasure plans, in the order they are anonymized.
TYPES = ("activities", "tickets", "campaignsRecords", "accounts", "contacts")
MODELS: dict[str, Any] = {
    "activities": Activity,
    "tickets": Ticket,
    "campaignsRecords": CampaignRecord,
    "accounts": Account,
    "contacts": Contact,
}
# Rows that belong to a record and go with it: (model, the column holding the record's key).
CHILDREN: dict[str, list[tuple[Any, str]]] = {
    "activities": [
        (CallItem, "name"),
        (EmailItem, "name"),
        (WebItem, "name"),
        (SmsItem, "name"),
        (FbmItem, "name"),
        (Recording, "name"),
        (TranscriptSegment, "activity"),
        (Message, "activity"),
        (Attachment, "activity"),
    ],
    "tickets": [(Attachment, "ticket")],
}
# The identifier index's name for each record type.
INDEX_TYPE = {
    "activities": "activities",
    "tickets": "tickets",
    "campaignsRecords": "records",
    "accounts": "accounts",
    "contacts": "contacts",
}
# Resolver groups (record kinds as the subjects endpoint names them) → planned record type.
GROUP_TYPE = {
    "contacts": "contacts",
    "accounts": "accounts",
    "tickets": "tickets",
    "campaignsRecords": "campaignsRecords",
    "activities": "activities",
    "activitiesCall": "activities",
    "activitiesEmail": "activities",
    "activitiesWeb": "activities",
    "activitiesSms": "activities",
    "activitiesFbm": "activities",
}
FREE_TEXT = (Category.TEXT, Category.HTML, Category.FORM)


# --- the plan ------------------------------------------------------------------------------------
@dataclass
class Plan:
    """Keys of the records an erasure changes, by type. No personal data: it is stored in the job."""

    keys: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TYPES})

    def as_dict(self) -> dict[str, list[str]]:
        return {t: sorted(set(v)) for t, v in self.keys.items()}

    def count(self) -> int:
        return sum(len(v) for v in self.keys.values())


def _keys(session: Session, stmt: Any) -> set[str]:
    return {str(k) for k in session.scalars(stmt)}


def in_chunks(keys: Sequence[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(keys), size):
        yield list(keys[i : i + size])


def make_plan(session: Session, tenant_id: str, contact: str, include: dict[str, list[str]]) -> Plan:
    """The contact, the records linked to it, and the records the DPO chose to include."""
    contacts = {contact, *include.get("contacts", [])}
    plan = Plan()
    plan.keys["contacts"] = sorted(contacts)
    tickets = {str(k) for k in include.get("tickets", [])}
    records = set(include.get("campaignsRecords", []))
    activities = set(include.get("activities", []))
    for chunk in in_chunks(sorted(contacts)):
        tickets |= _keys(
            session, select(Ticket.name).where(Ticket.tenant_id == tenant_id, Ticket.contact.in_(chunk))
        )
        records |= _keys(
            session,
            select(CampaignRecord.name).where(
                CampaignRecord.tenant_id == tenant_id, CampaignRecord.contact.in_(chunk)
            ),
        )
        activities |= _keys(
            session, select(Activity.name).where(Activity.tenant_id == tenant_id, Activity.contact.in_(chunk))
        )
    ticket_ints = sorted(int(t) for t in tickets if t.isdigit())
    for chunk_i in in_chunks([str(t) for t in ticket_ints]):
        activities |= _keys(
            session,
            select(Activity.name).where(
                Activity.tenant_id == tenant_id, Activity.ticket.in_([int(t) for t in chunk_i])
            ),
        )
    for chunk in in_chunks(sorted(records)):
        activities |= _keys(
            session, select(Activity.name).where(Activity.tenant_id == tenant_id, Activity.record.in_(chunk))
        )
    plan.keys["tickets"] = [str(t) for t in ticket_ints]
    plan.keys["campaignsRecords"] = sorted(records)
    plan.keys["activities"] = sorted(activities)
    plan.keys["accounts"] = sorted(set(include.get("accounts", [])))
    return plan


def hold_pairs(session: Session, tenant_id: str, plan: Plan) -> Iterator[holds.Pair]:
    yield from (("contacts", k) for k in plan.keys["contacts"])
    for chunk in in_chunks(plan.keys["activities"]):
        for row in session.execute(
            select(Activity.name, Activity.queue, Activity.contact, Activity.ticket).where(
                Activity.tenant_id == tenant_id, Activity.name.in_(chunk)
            )
        ):
            yield from holds.of_activity(row)
    for chunk in in_chunks(plan.keys["tickets"]):
        for trow in session.execute(
            select(Ticket.name, Ticket.contact).where(
                Ticket.tenant_id == tenant_id, Ticket.name.in_([int(k) for k in chunk])
            )
        ):
            yield from holds.of_ticket(trow)
    for chunk in in_chunks(plan.keys["campaignsRecords"]):
        for rrow in session.execute(
            select(CampaignRecord.record_type, CampaignRecord.queue, CampaignRecord.contact).where(
                CampaignRecord.tenant_id == tenant_id, CampaignRecord.name.in_(chunk)
            )
        ):
            yield from holds.of_record(rrow)


def check_holds(session: Session, tenant_id: str, plan: Plan) -> None:
    holds.check(session, tenant_id, hold_pairs(session, tenant_id, plan), "erasure")


# --- who the person is ---------------------------------------------------------------------------
@dataclass
class Identity:
    """The person's identifiers as found in the records of the plan. Held in memory only."""

    names: list[tuple[str | None, str | None]] = field(default_factory=list)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    socials: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)

    def redactor(self, country: str) -> Redactor:
        given: set[str] = set()
        surname: set[str] = set()
        for first, last in self.names:
            g, s = name_forms(first, last)
            given |= g
            surname |= s
        return Redactor(country, given, surname, set(self.phones), {e.casefold() for e in self.emails})


def identity(session: Session, tenant_id: str, plan: Plan) -> Identity:
    ident = Identity()
    for chunk in in_chunks(plan.keys["contacts"]):
        for first, last in session.execute(
            select(Contact.firstname, Contact.lastname).where(
                Contact.tenant_id == tenant_id, Contact.name.in_(chunk)
            )
        ):
            ident.names.append((first, last))
        for kind, value in session.execute(
            select(Identifier.kind, Identifier.value).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == "contacts",
                Identifier.object_name.in_(chunk),
            )
        ):
            (ident.phones if kind == "phone" else ident.emails).add(value)
    columns: list[tuple[Any, Any, set[str]]] = [
        (CallItem, CallItem.clid, ident.phones),
        (SmsItem, SmsItem.sender, ident.phones),
        (WebItem, WebItem.phone, ident.phones),
        (WebItem, WebItem.email, ident.emails),
        (WebItem, WebItem.ipaddress, ident.ips),
        (EmailItem, EmailItem.address, ident.emails),
        (FbmItem, FbmItem.sender, ident.socials),
    ]
    for chunk in in_chunks(plan.keys["activities"]):
        for model, column, into in columns:
            into |= {
                v
                for v in session.scalars(
                    select(column).where(model.tenant_id == tenant_id, model.name.in_(chunk))
                )
                if v
            }
    for chunk in in_chunks(plan.keys["tickets"]):
        ident.emails |= {
            v
            for v in session.scalars(
                select(Ticket.email).where(
                    Ticket.tenant_id == tenant_id, Ticket.name.in_([int(k) for k in chunk])
                )
            )
            if v
        }
    for chunk in in_chunks(plan.keys["campaignsRecords"]):
        ident.phones |= {
            v
            for v in session.scalars(
                select(CampaignRecord.number).where(
                    CampaignRecord.tenant_id == tenant_id, CampaignRecord.name.in_(chunk)
                )
            )
            if v
        }
    return ident


def unlinked(session: Session, caller: Caller, plan: Plan, ident: Identity) -> dict[str, list[str]]:
    """Records the resolver finds for the person's identifiers that the plan does not hold yet."""
    found: dict[str, set[str]] = {}
    lookups: list[dict[str, Any]] = [
        *({"phone": p} for p in ident.phones),
        *({"email": e} for e in ident.emails),
        *({"social": s} for s in ident.socials),
        *({"ip": i} for i in ident.ips),
        *({"name": (f or "", last)} for f, last in ident.names if last),
    ]
    for lookup in lookups:
        for group, keys in resolve(session, caller, **lookup).items():
            found.setdefault(group, set()).update(keys)
    planned = {t: set(v) for t, v in plan.keys.items()}
    out: dict[str, list[str]] = {}
    for group, group_keys in found.items():
        kind = GROUP_TYPE.get(group)
        rest = sorted(k for k in group_keys if kind is None or k not in planned.get(kind, set()))
        if rest:
            out[group] = rest
    return out


# --- what the registry says about a row ----------------------------------------------------------
@dataclass
class RowChange:
    values: dict[str, Any] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    delete_row: bool = False
    blobs: list[str] = field(default_factory=list)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def cleared(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    return None


def _property_key(model: Any, column: Column[Any]) -> str:
    return inspect(model).get_property_by_column(column).key


@cache
def subject_columns(model: Any) -> tuple[tuple[str, str, Erasure], ...]:
    """(attribute, ``table.column``, strategy) of every column of ``model`` that holds the subject's
    data and is not kept by a stated reason: what erasure acts on, read from the registry once."""
    out = []
    for column in model.__table__.columns:
        cls = classification(column)
        if cls is None or cls.owner is not Owner.SUBJECT or cls.erasure is Erasure.KEEP:
            continue
        out.append((_property_key(model, column), f"{model.__tablename__}.{column.name}", cls.erasure))
    return tuple(out)


def _column(model: Any, attr: str) -> Any:
    return inspect(model).attrs[attr].columns[0]


def subject_fields(obj: Any) -> list[str]:
    """``table.column`` of every column of the row that holds the subject's data (a row deleted whole)."""
    return [name for attr, name, _ in subject_columns(obj.__class__) if not _empty(getattr(obj, attr))]


def row_change(obj: Any, redactor: Redactor | Blank) -> RowChange:
    """What erasure does to one row of the person's own records, column by column, as declared."""
    change = RowChange()
    for attr, name, erasure in subject_columns(obj.__class__):
        value = getattr(obj, attr)
        if _empty(value):
            continue
        if erasure is Erasure.NULL:
            new = cleared(value)
        elif erasure is Erasure.PLACEHOLDER:
            new = PLACEHOLDER
        elif erasure is Erasure.REDACT_TEXT:
            new = _fit(_column(obj.__class__, attr), _map_text(value, redactor.own))
        elif erasure is Erasure.DELETE_BLOB:
            change.blobs.append(value)
            change.delete_row = True
            change.fields.append(name)
            continue
        else:  # DELETE_ROW
            change.delete_row = True
            change.fields.append(name)
            continue
        if new != value:
            change.values[attr] = new
            change.fields.append(name)
    return change


def clear_row(obj: Any) -> list[str]:
    """Empties every column of the row that holds the subject's data and is not kept by a stated
    reason, whatever its erasure strategy: the DPO's delete of a conversation's content. Returns
    the names of the columns that changed."""
    changed = []
    for attr, name, _ in subject_columns(obj.__class__):
        value = getattr(obj, attr)
        if not _empty(value):
            setattr(obj, attr, cleared(value))
            changed.append(name)
    return changed


def _map_text(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_text(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_text(v, fn) for k, v in value.items()}
    return value


# --- the job's steps -----------------------------------------------------------------------------
def _caller(session: Session, tenant_id: str) -> Caller:
    """The erasure acts for the tenant as a whole: every database, queue and category."""
    from hovor.tenancy.models import Tenant

    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    return Caller(
        tenant_id=tenant_id,
        user="erasure",
        role="system",
        permissions=frozenset(),
        databases=None,
        timezone=tenant.timezone,
        country=tenant.country,
        token_kind="system",
    )


def _plan_of(run: jobs.Run) -> Plan:
    return Plan({t: list(run.progress.get("plan", {}).get(t, [])) for t in TYPES})


def _actor(run: jobs.Run) -> audit.Actor:
    return audit.Actor("system", f"job:{run.name}", None, run.params.get("request_id"))


def step_plan(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        include = run.params.get("include") or {}
        plan = make_plan(session, run.tenant_id, run.params["contact"], include)
        _check_holds_now(session, run, plan)
        run.beat(session, {"plan": plan.as_dict(), "planned": {t: len(v) for t, v in plan.keys.items()}})


def _redactor(session: Session, run: jobs.Run) -> Redactor:
    """Who the person is, read once per run of the job (a resumed job reads it again)."""
    if "redactor" not in run.memo:
        plan = _plan_of(run)
        country = _caller(session, run.tenant_id).country
        run.memo["redactor"] = identity(session, run.tenant_id, plan).redactor(country)
    redactor: Redactor = run.memo["redactor"]
    return redactor


# Which planned record a row belongs to: its table → (plan type, column with the record's key).
def _owners() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, model in MODELS.items():
        out.setdefault(model.__tablename__, []).append((kind, "name"))
    for kind, children in CHILDREN.items():
        for child, column in children:
            out.setdefault(child.__tablename__, []).append((kind, column))
    return out


def free_text_columns() -> dict[Any, list[Column[Any]]]:
    """Per table: the columns of free text, forms and HTML that may mention a person."""
    out: dict[Any, list[Column[Any]]] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            cls = classification(column)
            if (
                cls is not None
                and cls.category in FREE_TEXT
                and cls.owner is Owner.SUBJECT
                and cls.erasure is not Erasure.KEEP
                and "tenant_id" in table.c
            ):
                out.setdefault(table, []).append(column)
    return out


@dataclass
class Mention:
    """A row of another person's record that mentions the person, and what it becomes."""

    table: Any
    key: dict[str, Any]
    values: dict[str, Any]
    fields: list[str]
    record: tuple[str, str] | None  # (record type, key) of the record the row belongs to
    held_by: str | None = None  # the legal hold that keeps it as it is


def _record_of(table: Any, row: Any) -> tuple[str, str] | None:
    for kind, column in _owners().get(table.name, []):
        if row[column] is not None:
            return kind, str(row[column])
    return None


def _record_holds(session: Session, tenant_id: str, record: tuple[str, str] | None) -> list[holds.Pair]:
    if record is None:
        return []
    kind, key = record
    if kind == "contacts":
        return [("contacts", key)]
    if kind == "accounts":
        return []
    model = MODELS[kind]
    obj = session.get(model, (tenant_id, int(key) if kind == "tickets" else key))
    if obj is None:
        return []
    return {"activities": holds.of_activity, "tickets": holds.of_ticket, "campaignsRecords": holds.of_record}[
        kind
    ](obj)


def _redacted(
    table: Any, row: Any, columns: list[Column[Any]], redactor: Redactor
) -> tuple[dict[str, Any], list[str]]:
    new: dict[str, Any] = {}
    changed: list[str] = []
    for column in columns:
        value = row[column.name]
        if _empty(value):
            continue
        redacted = _fit(column, _map_text(value, redactor.mentions))
        if redacted != value:
            new[column.name] = redacted
            changed.append(f"{table.name}.{column.name}")
    return new, changed


def _fit(column: Any, value: Any) -> Any:
    """A redacted text can be longer than the original (``Malá`` → ``[name]``): cut to the column."""
    length = getattr(column.type, "length", None)
    if isinstance(value, str) and length and len(value) > length:
        return value[:length]
    return value


def find_mentions(session: Session, tenant_id: str, redactor: Redactor, plan: Plan) -> Iterator[Mention]:
    """Every row of other people's records that mentions the person, with its redaction and the
    legal hold (if any) that keeps it unchanged."""
    needles = probes(redactor)
    if not needles:
        return
    owners = _owners()
    planned = {t: set(v) for t, v in plan.keys.items()}
    postgres = session.get_bind().dialect.name == "postgresql"
    for table, columns in free_text_columns().items():
        pk = list(table.primary_key.columns)
        conditions = []
        for column in columns:
            as_text = cast(column, Text) if not isinstance(column.type, String | Text) else column
            if postgres:
                # One lower() per value matched against every needle at once (ILIKE per needle costs
                # six times as much); both lowerings of each needle, as the database's lower() may
                # fold ASCII only. A form left empty is not turned into text at all.
                patterns = sorted(
                    f"%{_escape_like(n)}%"
                    for n in {x.lower() for x in needles} | {_ascii_lower(x) for x in needles}
                )
                match = func.lower(as_text).like(
                    any_(pg_array(patterns, type_=Text))
                )  # backslash escapes by default
                conditions.append(
                    and_(column != cast({}, column.type), match) if as_text is not column else match
                )
            else:
                # SQLite's LIKE ignores ASCII case; the needles come in the cases that matter beyond.
                for needle in needles:
                    conditions.append(as_text.like(f"%{_escape_like(needle)}%", escape="\\"))
        owned_by = owners.get(table.name, [])
        extra = [table.c[c] for _, c in owned_by if table.c[c] not in pk]
        stmt = select(*pk, *extra, *columns).where(table.c.tenant_id == tenant_id, or_(*conditions))
        for row in session.execute(stmt).mappings():
            if any(str(row[c]) in planned.get(kind, set()) for kind, c in owned_by if row[c] is not None):
                continue  # the person's own record: anonymized, not redacted
            new, changed = _redacted(table, row, columns, redactor)
            if new:
                record = _record_of(table, row)
                hold = holds.active(session, tenant_id, _record_holds(session, tenant_id, record))
                yield Mention(
                    table,
                    {c.name: row[c.name] for c in pk},
                    new,
                    changed,
                    record,
                    hold.name if hold is not None else None,
                )


def _ascii_lower(value: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in value)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def step_mentions(run: jobs.Run) -> None:
    with run.env.reader() as reader:
        redactor = _redactor(reader, run)
        found = [
            m for m in find_mentions(reader, run.tenant_id, redactor, _plan_of(run)) if m.held_by is None
        ]
    columns = free_text_columns()
    for i in range(0, len(found), CHUNK):
        chunk = found[i : i + CHUNK]
        counts: dict[str, int] = {}
        with unit_of_work(run.env.factory) as session:
            redone: list[Mention] = []
            for mention in chunk:
                table = mention.table
                where = [table.c[name] == value for name, value in mention.key.items()]
                # Read again in this transaction: an edit made since the scan is redacted, not lost.
                row = session.execute(select(*table.c).where(*where)).mappings().first()
                if row is None:
                    continue
                if holds.active(
                    session, run.tenant_id, _record_holds(session, run.tenant_id, mention.record)
                ):
                    continue  # a hold placed since the scan
                values, changed = _redacted(table, row, columns[table], redactor)
                if values:
                    session.execute(update(table).where(*where).values(**values))
                    redone.append(mention)
                for name in changed:
                    counts[name] = counts.get(name, 0) + 1
            # The identifier index rows of the person's phones and addresses in the custom fields
            # just redacted.
            _unindex_values(session, run.tenant_id, redactor, [m.record for m in redone if m.record])
            run.beat(session, mentions=counts)
        run.fault("mentions.chunk")


def _unindex_values(
    session: Session, tenant_id: str, redactor: Redactor, records: list[tuple[str, str]]
) -> None:
    values = sorted(redactor.phones | redactor.emails)
    if not values or not records:
        return
    for kind, key in records:
        session.execute(
            delete(Identifier).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == INDEX_TYPE[kind],
                Identifier.object_name == key,
                Identifier.value.in_(values),
            )
        )


def _anonymize_chunk(
    session: Session, run: jobs.Run, kind: str, keys: list[str], redactor: Redactor
) -> dict[str, dict[str, int]]:
    """One transaction: every record of ``keys`` and its child rows, as the registry says."""
    _check_holds_now(session, run, Plan({**{t: [] for t in TYPES}, kind: keys}))
    counts, changed = anonymize_records(
        session,
        run.env.files,
        run.tenant_id,
        kind,
        keys,
        redactor,
        action="anonymize",
        job=run.name,
        request_id=run.params.get("request_id"),
    )
    if changed:
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.chunk",
            _actor(run),
            kind,
            None,
            {"job": run.name, "records": len(changed), "first": min(changed), "last": max(changed)},
        )
    return counts


class Blank:
    """A redactor for records nobody in particular is erased from (retention): free text that
    erasure would redact is replaced whole, since whose names it holds is not known."""

    def own(self, text: str | None) -> str | None:
        return PLACEHOLDER if text else text


def anonymize_records(
    session: Session,
    files: Any,
    tenant_id: str,
    kind: str,
    keys: list[str],
    redactor: Redactor | Blank,
    *,
    action: str,
    job: str | None,
    request_id: str | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Every record of ``keys`` and its child rows as the registry says, in the caller's
    transaction: blobs' keys destroyed, rows deleted or cleared, the identifier index dropped, a
    tombstone per changed record. Returns the counts and, per changed record, the fields changed."""
    model = MODELS[kind]
    key_values: list[Any] = [int(k) for k in keys] if kind == "tickets" else keys
    fields: dict[str, int] = {}
    deleted: dict[str, int] = {}
    shredded = 0
    per_record: dict[str, set[str]] = {k: set() for k in keys}
    blobs: list[str] = []
    doomed: dict[Any, list[Any]] = {}
    # Rows whose changes are the same constants (emptied, a placeholder, the anonymized flag) are
    # updated together, one statement per table and set of changes; redacted text row by row.
    together: dict[tuple[Any, str], tuple[dict[str, Any], list[Any]]] = {}
    alone: list[tuple[Any, Any, dict[str, Any]]] = []

    def apply(obj: Any, record_key: str, extra: dict[str, Any] | None = None) -> None:
        change = row_change(obj, redactor)
        for name in change.fields:
            fields[name] = fields.get(name, 0) + 1
            per_record[record_key].add(name)
        blobs.extend(change.blobs)
        model_ = type(obj)
        if change.delete_row:
            doomed.setdefault(model_, []).append(obj.name)
            return
        constant = {k: v for k, v in change.values.items() if not isinstance(v, str) or v == PLACEHOLDER}
        constant.update(extra or {})
        varying = {k: v for k, v in change.values.items() if k not in constant}
        if constant:
            group = (model_, repr(sorted(constant.items())))
            together.setdefault(group, (constant, []))[1].append(obj.name)
        if varying:
            alone.append((model_, obj.name, varying))

    for child, column in CHILDREN.get(kind, []):
        col = getattr(child, column)
        for obj in session.scalars(select(child).where(child.tenant_id == tenant_id, col.in_(key_values))):
            apply(obj, str(getattr(obj, column)))
    if kind != "contacts":  # contacts are deleted in their own step, last
        for obj in session.scalars(
            select(model).where(model.tenant_id == tenant_id, model.name.in_(key_values))
        ):
            key = str(obj.name)
            flag = {}
            if hasattr(obj, "anonymized") and not obj.anonymized:
                flag = {"anonymized": True}
                per_record[key].add(f"{model.__tablename__}.anonymized")
            apply(obj, key, flag)
    session.expunge_all()  # what changes is written below, statement by statement, not by the ORM
    # Rows that go whole go in one statement per table; their blobs' keys first, in this transaction.
    shredded = sum(files.destroy_keys(session, tenant_id, part) for part in in_chunks(blobs))
    for child, names in doomed.items():
        deleted[child.__tablename__] = len(names)
        for part in in_chunks(names):
            session.execute(
                delete(child)
                .where(child.tenant_id == tenant_id, child.name.in_(part))
                .execution_options(synchronize_session=False)
            )
    for (model_, _), (values, names) in together.items():
        for part in in_chunks(names):
            session.execute(
                update(model_)
                .where(model_.tenant_id == tenant_id, model_.name.in_(part))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    # Redacted text: the ORM's bulk update by primary key, one executemany per table and columns.
    by_shape: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for model_, name, values in alone:
        by_shape.setdefault((model_, tuple(sorted(values))), []).append(
            {"tenant_id": tenant_id, "name": name, **values}
        )
    for (model_, _), rows in by_shape.items():
        session.execute(update(model_), rows)
    session.execute(
        delete(Identifier).where(
            Identifier.tenant_id == tenant_id,
            Identifier.object_type == INDEX_TYPE[kind],
            Identifier.object_name.in_(keys),
        )
    )
    changed = {k: sorted(v) for k, v in per_record.items() if v}
    session.add_all(
        Tombstone(
            tenant_id=tenant_id,
            name=new_name("tombstones"),
            record_type=kind,
            record_key=k,
            action=action,
            fields=v,
            job=job,
            request_id=request_id,
        )
        for k, v in changed.items()
    )
    session.flush()
    counts = {
        "anonymized": fields,
        "deleted": deleted,
        "records": {kind: len(changed)},
        "blobs": {"shredded": shredded},
    }
    return counts, changed


def _check_holds_now(session: Session, run: jobs.Run, plan: Plan) -> None:
    """A hold placed after the plan still wins: the job stops, and fails for good."""
    if holds.active(session, run.tenant_id, hold_pairs(session, run.tenant_id, plan)) is not None:
        raise jobs.Abort("LegalHold")


def step_anonymize(run: jobs.Run) -> None:
    plan = _plan_of(run)
    with run.env.reader() as reader:
        redactor = _redactor(reader, run)
    for kind in TYPES:
        if kind == "contacts":
            continue
        for chunk in in_chunks(plan.keys[kind], CHUNK):
            with unit_of_work(run.env.factory) as session:
                counts = _anonymize_chunk(session, run, kind, chunk, redactor)
                run.beat(session, **counts)
            run.fault("anonymize.chunk")


def step_contact(run: jobs.Run) -> None:
    from hovor.crm.service import delete_contact

    plan = _plan_of(run)
    # Records linked to the contact since the plan was made (a call that came in meanwhile) are
    # anonymized before the contact goes; unlinking them would leave them holding her data.
    with run.env.reader() as reader:
        fresh = make_plan(reader, run.tenant_id, run.params["contact"], run.params.get("include") or {})
        redactor = _redactor(reader, run)
    late = {t: sorted(set(fresh.keys[t]) - set(plan.keys[t])) for t in TYPES if t != "contacts"}
    for kind, keys in late.items():
        for chunk in in_chunks(keys, CHUNK):
            with unit_of_work(run.env.factory) as session:
                counts = _anonymize_chunk(session, run, kind, chunk, redactor)
                run.beat(session, **counts)
    with unit_of_work(run.env.factory) as session:
        _check_holds_now(session, run, Plan({**{t: [] for t in TYPES}, "contacts": plan.keys["contacts"]}))
        caller = _caller(session, run.tenant_id)
        deleted = 0
        for key in plan.keys["contacts"]:
            contact = session.get(Contact, (run.tenant_id, key))
            if contact is None:
                continue  # deleted by an earlier run of this step
            fields = subject_fields(contact)
            delete_contact(session, caller, contact)
            session.add(
                Tombstone(
                    tenant_id=run.tenant_id,
                    name=new_name("tombstones"),
                    record_type="contacts",
                    record_key=key,
                    action="erase",
                    fields=sorted(fields),
                    job=run.name,
                    request_id=run.params.get("request_id"),
                )
            )
            audit.record(
                session, run.tenant_id, "crm.contact.delete", _actor(run), "contacts", key, {"job": run.name}
            )
            deleted += 1
        run.beat(session, deleted={"crm_contacts": deleted}, records={"contacts": deleted})


def step_shred(run: jobs.Run) -> None:
    """Delete the objects of destroyed blobs (their keys went in the anonymize step)."""
    while run.env.files.reap(run.env.factory, 1000):
        with unit_of_work(run.env.factory) as session:
            run.beat(session)


def touched_tables(progress: dict[str, Any]) -> list[str]:
    """The tables an erasure changed rows of, from its counts (and the index and contacts it
    always touches)."""
    tables = {"identifiers", "crm_contacts", "blobs"}
    for group in ("anonymized", "mentions"):
        tables |= {name.split(".", 1)[0] for name in (progress.get(group) or {})}
    tables |= set(progress.get("deleted") or {})
    return sorted(t for t in tables if t in Base.metadata.tables)


def step_compact(run: jobs.Run) -> None:
    """SQLite: the WAL truncated now. PostgreSQL: the touched tables go to the compaction job
    (:mod:`hovor.privacy.compaction`), which rewrites them once for every erasure of a short
    while instead of once per erasure."""
    engine = run.env.engine
    if engine.dialect.name != "postgresql":
        compaction.truncate_wal(engine)
        return
    with unit_of_work(run.env.factory) as session:
        name = compaction.schedule(session, run.tenant_id, touched_tables(run.progress), run.env.settings)
        run.beat(session, {"compaction": name})


def certificate_of(run: jobs.Run, finished: str) -> dict[str, Any]:
    with run.env.factory() as session:
        from hovor.jobs.models import Job

        job = session.get(Job, (run.tenant_id, run.name))
        assert job is not None
        progress = dict(job.progress or {})
        created = audit.stamp(job.created)
        started = audit.stamp(job.started) if job.started else None
    return {
        "type": "hovor.erasure-certificate/1",
        "tenant": run.tenant_id,
        "job": run.name,
        "contact": run.params["contact"],
        "requested": created,
        "started": started,
        "finished": finished,
        "records": progress.get("records", {}),
        "fieldsCleared": progress.get("anonymized", {}),
        "rowsDeleted": progress.get("deleted", {}),
        "blobsShredded": (progress.get("blobs") or {}).get("shredded", 0),
        "mentionsRedacted": progress.get("mentions", {}),
        # PostgreSQL: the job that rewrites the touched tables (its state shows when it is done).
        "compaction": progress.get("compaction", "done"),
    }


def sign(signer: Any, certificate: dict[str, Any]) -> dict[str, Any]:
    public = signer.public_key()
    signature = signer.sign(audit.canonical(certificate))
    return {
        "certificate": certificate,
        "signature": base64.b64encode(signature).decode("ascii"),
        "keyId": key_id(public),
        "publicKey": encode_public(public),
    }


def step_certificate(run: jobs.Run) -> None:
    from hovor.jobs.models import Job

    with run.env.factory() as reader:
        existing = reader.get(Job, (run.tenant_id, run.name))
        if existing is not None and existing.result:
            return  # signed by an earlier run of this step that died before marking it done
    signed = sign(run.env.signer, certificate_of(run, audit.stamp(utcnow())))
    with unit_of_work(run.env.factory) as session:
        job = session.get(Job, (run.tenant_id, run.name))
        assert job is not None
        job.result = signed
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.done",
            _actor(run),
            "contacts",
            run.params["contact"],
            {"job": run.name, "records": signed["certificate"]["records"]},
        )


def on_failure(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.failed",
            _actor(run),
            "contacts",
            run.params["contact"],
            {"job": run.name},
        )


STEPS: list[jobs.Step] = [
    ("plan", step_plan),
    ("mentions", step_mentions),
    ("anonymize", step_anonymize),
    ("contact", step_contact),
    ("shred", step_shred),
    ("compact", step_compact),
    ("certificate", step_certificate),
]
jobs.register(KIND, STEPS, on_failure)


def verify_certificate(signed: dict[str, Any]) -> bool:
    from cryptography.exceptions import InvalidSignature

    from hovor.audit.keys import decode_public

    try:
        decode_public(signed["publicKey"]).verify(
            base64.b64decode(signed["signature"]), audit.canonical(signed["certificate"])
        )
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


# --- the preview ---------------------------------------------------------------------------------
def preview(session: Session, caller: Caller, contact: str, include: dict[str, list[str]]) -> dict[str, Any]:
    """Exactly what an erasure would change, per record and field; nothing is changed."""
    tenant_id = caller.tenant_id
    plan = make_plan(session, tenant_id, contact, include)
    ident = identity(session, tenant_id, plan)
    redactor = ident.redactor(caller.country)
    records: list[dict[str, Any]] = []
    for kind in TYPES:
        model = MODELS[kind]
        for chunk in in_chunks(plan.keys[kind], CHUNK):
            key_values: list[Any] = [int(k) for k in chunk] if kind == "tickets" else chunk
            children: dict[str, list[dict[str, str]]] = {}
            for child, column in CHILDREN.get(kind, []):
                col = getattr(child, column)
                for obj in session.scalars(
                    select(child).where(child.tenant_id == tenant_id, col.in_(key_values))
                ):
                    change = row_change(obj, redactor)
                    key = str(getattr(obj, column))
                    children.setdefault(key, []).extend(_described(change))
            for obj in session.scalars(
                select(model).where(model.tenant_id == tenant_id, model.name.in_(key_values))
            ):
                key = str(obj.name)
                if kind == "contacts":
                    changes = [{"field": f, "action": "delete_row"} for f in subject_fields(obj)]
                else:
                    changes = _described(row_change(obj, redactor)) + children.get(key, [])
                records.append(
                    {
                        "type": kind,
                        "name": key,
                        "action": "delete" if kind == "contacts" else "anonymize",
                        "changes": changes,
                    }
                )
    mentions = [
        {
            "table": m.table.name,
            "key": {k: str(v) for k, v in m.key.items()},
            "record": None if m.record is None else {"type": m.record[0], "name": m.record[1]},
            "fields": m.fields,
            # A record under a legal hold keeps the mention; the erasure still goes ahead.
            "heldBy": m.held_by,
        }
        for m in find_mentions(session, tenant_id, redactor, plan)
    ]
    hold = holds.active(session, tenant_id, hold_pairs(session, tenant_id, plan))
    return {
        "contact": contact,
        "records": records,
        "mentions": mentions,
        "unlinked": unlinked(session, caller, plan, ident),
        "holds": []
        if hold is None
        else [{"name": hold.name, "object_type": hold.object_type, "object_key": hold.object_key}],
        "summary": {
            "records": {t: len(v) for t, v in plan.keys.items()},
            "mentions": len(mentions),
        },
    }


def _described(change: RowChange) -> list[dict[str, str]]:
    out = []
    for name in change.fields:
        table, column = name.split(".", 1)
        cls = None
        for col in Base.metadata.tables[table].columns:
            if col.name == column:
                cls = classification(col)
        action = (
            "delete_row"
            if change.delete_row
            and cls is not None
            and cls.erasure in (Erasure.DELETE_ROW, Erasure.DELETE_BLOB)
            else (cls.erasure.value if cls else "null")
        )
        out.append({"field": name, "action": action})
    if change.delete_row and not any(c["action"] == "delete_row" for c in out):
        out.append({"field": "*", "action": "delete_row"})
    return out


def parse_include(value: Any) -> dict[str, list[str]]:
    """``include`` of an erasure request: ``{"activitiesCall": ["..."], ...}`` (resolver groups)."""
    out: dict[str, list[str]] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        raise ValueError("include must map record kinds to lists of keys")
    for group, keys in value.items():
        kind = GROUP_TYPE.get(group)
        if kind is None:
            raise ValueError(f"unknown record kind {group!r}")
        if not isinstance(keys, list) or not all(isinstance(k, str | int) for k in keys):
            raise ValueError(f"include.{group} must be a list of keys")
        out.setdefault(kind, []).extend(str(k) for k in keys)
    return out
