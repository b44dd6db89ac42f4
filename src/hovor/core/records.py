"""Rules every record type shares: keys, stamps, references to users and contacts, counters.

References are looked up by table name (``hovor.core.references``), so a domain that names a
user or a contact imports neither the auth nor the CRM domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, event, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hovor.core.caller import Caller
from hovor.core.db import Base, UTCDateTime, new_name, utcnow
from hovor.core.errors import Conflict, ValidationFailed
from hovor.core.identifiers import normalize_phone
from hovor.core.permissions import Permission
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal
from hovor.core.references import model_of
from hovor.core.scope import get_visible
from hovor.core.wire import from_wire

OPERATOR_STAMP = "who changed the record; the operator's, kept for accountability"


class AuditStamps:
    """``created``/``edited`` and who did them, as every v6 object carries."""

    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    edited: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_STAMP)
    )
    edited_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, OPERATOR_STAMP)
    )


@event.listens_for(Base, "before_insert", propagate=True)
def _stamp_new(mapper: Any, connection: Any, target: Any) -> None:
    """A new record is edited when it is created, by whoever created it: a client that extracts
    by ``edited`` (every change since its last run) sees new records too, as the reference does."""
    columns = mapper.columns
    if "edited" not in columns:
        return
    if target.edited is None:
        if "created" in columns and target.created is None:
            target.created = utcnow()
        target.edited = target.created if "created" in columns else utcnow()
    if "edited_by" in columns and "created_by" in columns and target.edited_by is None:
        target.edited_by = target.created_by


class CatalogueEntry(AuditStamps):
    """A named entry a tenant configures (a ticket status, a pause type, a reply template): what
    every catalogue table has. Configuration, no one's data (but who created and edited it)."""

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    title: Mapped[str] = mapped_column(String(255), info=not_personal("a label the tenant chose"))
    description: Mapped[str | None] = mapped_column(String(4000), info=not_personal("configuration"))
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False, info=not_personal())


class Counter(Base):
    """Per-tenant sequences (ticket numbers): one row per kind, advanced under a row lock."""

    __tablename__ = "tenant_counters"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, info=not_personal())
    value: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())


def key_unchanged(body: Any, current: Any) -> None:
    if getattr(body, "name", None) is not None and str(body.name) != str(current):
        raise ValidationFailed({"name": ["The key of a record cannot be changed."]})


def new_key(session: Session, model: Any, tenant_id: str, wanted: str | None, prefix: str) -> str:
    if wanted is None:
        return new_name(prefix)
    if session.get(model, (tenant_id, wanted)) is not None:
        raise Conflict("A record with this name already exists.")
    return wanted


def user_ref(session: Session, caller: Caller, name: str | None, field: str = "user") -> str | None:
    if name is None:
        return None
    if session.get(model_of("users"), (caller.tenant_id, name)) is None:
        raise ValidationFailed({field: ["No such user."]})
    return name


def contact_ref(session: Session, caller: Caller, name: str | None) -> str | None:
    """A contact the caller may see, or a form error (never a hint about contacts they may not)."""
    if name is None:
        return None
    contact = get_visible(session, model_of("crm_contacts"), caller, name)
    if contact is None:
        raise ValidationFailed({"contact": ["No such contact, or your rights do not cover it."]})
    return contact.name


def refuse_if_restricted(session: Session, caller: Caller, contact_key: str | None) -> None:
    """A restricted person's records (GDPR Art. 18) are kept but processed no further: only the
    data protection officer changes them (409 for anyone else, naming the rule)."""
    if contact_key is None or caller.can(Permission.DPO_SUBJECTS_RESTRICT):
        return
    person = session.get(model_of("crm_contacts"), (caller.tenant_id, contact_key))
    if person is not None and person.restricted:
        raise Conflict(
            "Processing of this person's data is restricted (GDPR Art. 18): only the data protection "
            "officer may change it."
        )


def ticket_of(session: Session, caller: Caller, number: int) -> Any:
    """A ticket the caller may see, or a form error (never a hint about tickets they may not)."""
    ticket = get_visible(session, model_of("tickets"), caller, number)
    if ticket is None:
        raise ValidationFailed({"ticket": ["No such ticket, or your rights do not cover it."]})
    return ticket


def phone_field(value: str | None, caller: Caller, field: str) -> str | None:
    """A phone number from input, in E.164 (national numbers in the tenant's country), or a form error."""
    if not value:
        return None
    try:
        return normalize_phone(value, caller.country)
    except ValueError:
        raise ValidationFailed({field: ["Not a valid phone number."]}) from None


def time_field(value: str | None, caller: Caller, field: str) -> dt.datetime | None:
    """A timestamp from input (v6 wall time in the tenant's zone, or ISO 8601), or a form error."""
    if value is None:
        return None
    try:
        return from_wire(value, caller.timezone)
    except (ValueError, OverflowError):  # OverflowError: a date at the edge of the calendar
        raise ValidationFailed({field: ["Not a timestamp: use YYYY-MM-DD HH:MM:SS or ISO 8601."]}) from None


def catalogue_refs(session: Session, caller: Caller, table: str, names: list[str], field: str) -> list[str]:
    """Entries of a tenant's catalogue (statuses a record is marked with, groups a user is in):
    each one the tenant has, or a form error naming the first that is not; repeats dropped."""
    model = model_of(table)
    found = set(
        session.scalars(select(model.name).where(model.tenant_id == caller.tenant_id, model.name.in_(names)))
    )
    missing = [n for n in names if n not in found]
    if missing:
        raise ValidationFailed({field: [f"No such entry: {missing[0][:64]}."]})
    return list(dict.fromkeys(names))


def catalogue_ref(session: Session, caller: Caller, table: str, name: str | None, field: str) -> str | None:
    """One entry of a tenant's catalogue (an account's or a category's service level), or None."""
    return None if name is None else catalogue_refs(session, caller, table, [name], field)[0]


def replace_links(
    session: Session, link: Any, column: str, value: str, tenant_id: str, key: Any, values: list[str]
) -> None:
    """The rows of ``link`` of the record ``key`` (in ``column``) become exactly ``values``."""
    owner = getattr(link, column)
    session.execute(delete(link).where(link.tenant_id == tenant_id, owner == key))
    if values:
        session.execute(insert(link), [{"tenant_id": tenant_id, column: key, value: v} for v in values])


def stamp_edit(obj: Any, caller: Caller) -> None:
    """An edit of ``obj`` now, by the caller (who, where the record keeps it)."""
    obj.edited = utcnow()
    if hasattr(type(obj), "edited_by"):
        obj.edited_by = caller.user


def edit_stamps(caller: Caller) -> dict[str, Any]:
    """The same stamps as values of a bulk UPDATE of records that carry ``AuditStamps``."""
    return {"edited": utcnow(), "edited_by": caller.user}


def apply(obj: Any, values: dict[str, Any], required: tuple[str, ...] = ()) -> None:
    """Sets sent values; a required field may not be emptied."""
    for key, value in values.items():
        if key in required and value in (None, ""):
            raise ValidationFailed({key: ["This field cannot be empty."]})
        setattr(obj, key, value)


def plain_functions(
    model: Any,
    key_prefix: str,
    required: tuple[str, ...] = ("title",),
    refs: dict[str, str] | None = None,
) -> tuple[Any, Any, Any]:
    """Create, update and delete of a record that is its fields and nothing else (a catalogue
    entry: a status, a pause type): the key given or generated, the stamps, required fields kept.
    ``refs``: fields that name another record of the tenant (field → its table), checked to exist.
    An entry other records still refer to is not deleted (409, naming what refers to it)."""
    refs = refs or {}

    def check_refs(session: Session, caller: Caller, values: dict[str, Any]) -> None:
        for name, table in refs.items():
            key = values.get(name)
            if key is not None and get_visible(session, model_of(table), caller, key) is None:
                raise ValidationFailed({name: ["No such record."]})

    def create(session: Session, caller: Caller, body: Any) -> Any:
        values = body.model_dump(exclude={"name"})
        check_refs(session, caller, values)
        obj = model(
            tenant_id=caller.tenant_id,
            name=new_key(session, model, caller.tenant_id, body.name, key_prefix),
            created_by=caller.user,
            **values,
        )
        session.add(obj)
        session.flush()
        return obj

    def update(session: Session, caller: Caller, obj: Any, body: Any) -> Any:
        key_unchanged(body, obj.name)
        values = body.model_dump(exclude_unset=True, exclude={"name"})
        check_refs(session, caller, values)
        apply(obj, values, required=required)
        stamp_edit(obj, caller)
        session.flush()
        return obj

    def delete(session: Session, caller: Caller, obj: Any) -> None:
        for table, columns in _referring(model.__table__):
            used = session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.c.tenant_id == obj.tenant_id, table.c[columns[-1]] == obj.name)
            )
            if used:
                raise Conflict(
                    f"Records of {table.name} still refer to this one; change or delete them first."
                )
        session.delete(obj)
        session.flush()

    return create, update, delete


def _referring(target: Any) -> list[tuple[Any, list[str]]]:
    """The tables whose (tenant_id, key) foreign keys point at ``target``, with those columns."""
    found = []
    for table in target.metadata.tables.values():
        for constraint in table.foreign_key_constraints:
            if constraint.referred_table is target and len(constraint.columns) == 2:
                found.append((table, [c.name for c in constraint.columns]))
    return found


def next_number(session: Session, tenant_id: str, kind: str) -> int:
    """The next number of a per-tenant sequence; the row lock serialises concurrent callers."""
    value = session.execute(
        update(Counter)
        .where(Counter.tenant_id == tenant_id, Counter.kind == kind)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar()
    if value is None:
        session.add(Counter(tenant_id=tenant_id, kind=kind, value=1))
        session.flush()
        return 1
    return int(value)
