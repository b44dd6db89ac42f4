"""Helpdesk rules. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from hovor.auth.users import forget_grant
from hovor.core.caller import Caller
from hovor.core.db import utcnow
from hovor.core.errors import Conflict, Forbidden, ValidationFailed
from hovor.core.identifiers import normalize_email
from hovor.core.permissions import Permission
from hovor.core.records import (
    apply,
    catalogue_ref,
    catalogue_refs,
    contact_ref,
    edit_stamps,
    key_unchanged,
    new_key,
    next_number,
    refuse_if_restricted,
    replace_links,
    stamp_edit,
    user_ref,
)
from hovor.core.references import before_delete, clear_references, model_of
from hovor.core.scope import get_visible, may_use, visible
from hovor.files.service import Files
from hovor.forms.service import store_custom_fields, update_custom_fields, validate_custom_fields
from hovor.helpdesk import schemas
from hovor.helpdesk.models import Ticket, TicketCategory, TicketSla, TicketStatusLink
from hovor.index.service import unindex


def create_category(session: Session, caller: Caller, body: schemas.CategoryCreate) -> TicketCategory:
    category = TicketCategory(
        tenant_id=caller.tenant_id,
        name=new_key(session, TicketCategory, caller.tenant_id, body.name, "categories"),
        created_by=caller.user,
        **body.model_dump(exclude={"name", "sla"}),
        sla=catalogue_ref(session, caller, "ticket_slas", body.sla, "sla"),
    )
    session.add(category)
    session.flush()
    return category


def update_category(
    session: Session, caller: Caller, category: TicketCategory, body: schemas.CategoryUpdate
) -> TicketCategory:
    key_unchanged(body, category.name)
    values = body.model_dump(exclude_unset=True, exclude={"name"})
    if "sla" in values:
        values["sla"] = catalogue_ref(session, caller, "ticket_slas", values["sla"], "sla")
    apply(category, values, required=("title",))
    stamp_edit(category, caller)
    session.flush()
    return category


def delete_category(session: Session, caller: Caller, category: TicketCategory) -> None:
    used = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.tenant_id == category.tenant_id, Ticket.category == category.name)
    )
    if used:
        raise Conflict("The category still holds tickets; move or delete them first.")
    forget_grant(session, category.tenant_id, "categories", category.name)
    session.delete(category)
    session.flush()


def _category(session: Session, caller: Caller, name: str) -> str:
    found = get_visible(session, TicketCategory, caller, name)
    if found is None or not may_use(caller, "category", name):
        raise ValidationFailed({"category": ["No such category, or your rights do not cover it."]})
    return found.name


def _followers(session: Session, caller: Caller, names: list[str]) -> list[str]:
    for name in names:
        user_ref(session, caller, name, field="followers")
    return sorted(set(names))


def _email(value: str | None) -> str | None:
    return normalize_email(value) if value else None


def _stage_changed(ticket: Ticket, stage: str) -> None:
    if stage in ("CLOSE", "ARCHIVE") and ticket.closed is None:
        ticket.closed = utcnow()
    elif stage in ("OPEN", "WAIT"):
        ticket.closed = None
    ticket.stage = stage


def create_ticket(session: Session, caller: Caller, body: schemas.TicketCreate) -> Ticket:
    category = _category(session, caller, body.category)
    clean = validate_custom_fields(
        session,
        caller,
        "tickets",
        None,
        body.customFields,
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    ticket = Ticket(
        tenant_id=caller.tenant_id,
        name=next_number(session, caller.tenant_id, "tickets"),
        title=body.title,
        category=category,
        user=user_ref(session, caller, body.user),
        contact=contact_ref(session, caller, body.contact),
        email=_email(body.email),
        priority=body.priority,
        description=body.description,
        followers=_followers(session, caller, body.followers),
        custom_fields=clean.values,
        consents=clean.consents,
        created_by=caller.user,
        last_activity=utcnow(),
    )
    _stage_changed(ticket, body.stage)
    session.add(ticket)
    session.flush()
    _sla(session, ticket)
    _statuses(session, caller, ticket, body.statuses)
    store_custom_fields(session, ticket, "tickets", clean, creating=True)
    return ticket


def _statuses(session: Session, caller: Caller, ticket: Ticket, names: list[str]) -> None:
    marked = catalogue_refs(session, caller, "ticket_statuses", names, "statuses")
    replace_links(session, TicketStatusLink, "ticket", "status", ticket.tenant_id, ticket.name, marked)


# A ticket's priority → the level of a service level's terms; a term's unit in minutes.
LEVELS = {"LOW": "low", "MEDIUM": "normal", "HIGH": "high"}
UNITS = {"minutes": 1, "hours": 60, "days": 1440}


def _terms(session: Session, ticket: Ticket) -> tuple[int | None, int | None]:
    """Minutes to the first answer and to the solution: by the service level of the contact's
    account (its contract) if it has one, else the category's, at the ticket's priority; else the
    category's own minutes."""
    tenant_id = ticket.tenant_id
    category = session.get(TicketCategory, (tenant_id, ticket.category))
    level = None
    if ticket.contact is not None:
        contact = session.get(model_of("crm_contacts"), (tenant_id, ticket.contact))
        if contact is not None and contact.account is not None:
            account = session.get(model_of("crm_accounts"), (tenant_id, contact.account))
            level = account.sla if account is not None else None
    if level is None and category is not None:
        level = category.sla
    terms = session.get(TicketSla, (tenant_id, level)) if level is not None else None
    if terms is None or terms.deactivated:  # a level switched off gives no deadlines
        return (category.sla_response, category.sla_solution) if category is not None else (None, None)
    at, unit = LEVELS[ticket.priority], UNITS[terms.unit]
    response, solution = getattr(terms, f"response_{at}"), getattr(terms, f"solution_{at}")
    return (
        None if response is None else response * unit,
        None if solution is None else solution * unit,
    )


def _sla(session: Session, ticket: Ticket) -> None:
    """The ticket's deadlines, counted from its creation (see :func:`_terms`)."""
    response, solution = _terms(session, ticket)
    ticket.sla_deadtime = ticket.created + dt.timedelta(minutes=response) if response else None
    ticket.sla_close_deadline = ticket.created + dt.timedelta(minutes=solution) if solution else None


def _leads_back(session: Session, target: Ticket, name: int) -> bool:
    """Whether following merges from ``target`` reaches ticket ``name`` (a merge in a circle)."""
    seen: set[int] = set()
    current: Ticket | None = target
    while current is not None and current.name not in seen:
        if current.name == name:
            return True
        seen.add(current.name)
        nxt = current.id_merge
        current = session.get(Ticket, (target.tenant_id, nxt)) if nxt is not None else None
    return False


def _merged_into(session: Session, caller: Caller, ticket: Ticket, number: int | None) -> int | None:
    """The ticket this one is merged into: another ticket the caller may see, not merged into this."""
    if number is None:
        return None
    target = get_visible(session, Ticket, caller, number)
    if target is None or _leads_back(session, target, ticket.name):
        raise ValidationFailed(
            {"id_merge": ["No such ticket to merge into, or your rights do not cover it."]}
        )
    return target.name


def update_ticket(session: Session, caller: Caller, ticket: Ticket, body: schemas.TicketUpdate) -> Ticket:
    key_unchanged(body, ticket.name)
    refuse_if_restricted(session, caller, ticket.contact)
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    if "title" in sent:
        values["title"] = body.title
    if "category" in sent:
        values["category"] = _category(session, caller, body.category) if body.category else None
    if "user" in sent:
        values["user"] = user_ref(session, caller, body.user)
    if "contact" in sent:
        values["contact"] = contact_ref(session, caller, body.contact)
    if "email" in sent:
        values["email"] = _email(body.email)
    if "priority" in sent:
        values["priority"] = body.priority
    if "description" in sent:
        values["description"] = body.description
    if "followers" in sent:
        values["followers"] = _followers(session, caller, body.followers or [])
    if "id_merge" in sent:
        values["id_merge"] = _merged_into(session, caller, ticket, body.id_merge)
    apply(ticket, values, required=("title", "category", "priority"))
    if {"category", "priority", "contact"} & set(values):
        _sla(session, ticket)
    if "stage" in sent:
        if body.stage is None:
            raise ValidationFailed({"stage": ["This field cannot be empty."]})
        _stage_changed(ticket, body.stage)
    if "statuses" in sent:
        _statuses(session, caller, ticket, body.statuses or [])
    update_custom_fields(session, caller, ticket, "tickets", None, body)
    stamp_edit(ticket, caller)
    session.flush()
    return ticket


def delete_ticket(session: Session, caller: Caller, ticket: Ticket, files: Files) -> None:
    """Deletes a ticket with its comments and attachments; the blobs are crypto-shredded.

    Calls, e-mails and chats filed under the ticket stay (they are records of their own) and
    lose the link.
    """
    before_delete(session, caller, "tickets", ticket.name, files)
    clear_references(session, "tickets", ticket.tenant_id, ticket.name)
    unindex(session, ticket.tenant_id, "tickets", str(ticket.name))
    session.delete(ticket)
    session.flush()


# The most tickets one merge takes: a merge is one transaction.
MAX_MERGED = 100


def merge_tickets(
    session: Session, caller: Caller, numbers: list[int], holds: Any
) -> tuple[Ticket, list[int]]:
    """Merges the tickets after the first into the first (as the reference's ``mergeTickets``):
    their activities and attachments are filed under it, their followers and statuses join its,
    and each is closed with ``id_merge`` naming it. Refused, changing nothing, when a ticket is not
    there for the caller, is merged already, or is covered by a legal hold (``holds`` is the
    privacy domain's, handed over by the app)."""
    if len(numbers) < 2 or len(set(numbers)) != len(numbers) or len(numbers) > MAX_MERGED:
        raise ValidationFailed(
            {"tickets": [f"Name 2 to {MAX_MERGED} different tickets; the first one stays."]}
        )
    # Locked in key order (PostgreSQL; SQLite's writers queue anyway): two merges of one ticket at
    # once cannot both see it unmerged.
    locked = {
        t.name: t
        for t in session.scalars(
            select(Ticket)
            .where(Ticket.name.in_(numbers), *visible(Ticket, caller))
            .order_by(Ticket.name)
            .with_for_update()
        )
    }
    found = []
    for number in numbers:
        ticket = locked.get(number)
        if ticket is None:
            raise ValidationFailed({"tickets": ["No such ticket, or your rights do not cover it."]})
        if ticket.id_merge is not None:
            raise ValidationFailed({"tickets": [f"Ticket {number} is merged into another already."]})
        found.append(ticket)
    target, sources = found[0], found[1:]
    activities, attachments = model_of("activities"), model_of("attachments")
    tenant_id = caller.tenant_id
    merged = [t.name for t in sources]
    hidden = session.scalar(
        select(func.count())
        .select_from(activities)
        .where(activities.tenant_id == tenant_id, activities.ticket.in_(merged))
        .where(~and_(*visible(activities, caller)))
    )
    if hidden:
        raise Forbidden("Activities filed under these tickets are outside your rights; nothing was merged.")
    filed = session.execute(
        select(activities.name, activities.queue, activities.contact, activities.ticket).where(
            activities.tenant_id == tenant_id, activities.ticket.in_(merged)
        )
    ).all()
    pairs = [p for t in sources for p in holds.of_ticket(t)] + [
        p for row in filed for p in holds.of_activity(row)
    ]
    holds.check(session, tenant_id, pairs, "ticket")
    stamps = edit_stamps(caller)
    session.execute(
        update(activities)
        .where(activities.tenant_id == tenant_id, activities.ticket.in_(merged))
        .values(ticket=target.name, **stamps)
    )
    session.execute(
        update(attachments)
        .where(attachments.tenant_id == tenant_id, attachments.ticket.in_(merged))
        .values(ticket=target.name)
    )
    crm_records = model_of("crm_records")
    session.execute(
        update(crm_records)
        .where(crm_records.tenant_id == tenant_id, crm_records.ticket.in_(merged))
        .values(ticket=target.name, **stamps)
    )
    # Tickets merged into a merged ticket before now name the one that stays: no chains.
    session.execute(
        update(Ticket)
        .where(Ticket.tenant_id == tenant_id, Ticket.id_merge.in_(merged))
        .values(id_merge=target.name)
        .execution_options(synchronize_session=False)
    )
    marks = set(
        session.scalars(
            select(TicketStatusLink.status).where(
                TicketStatusLink.tenant_id == tenant_id, TicketStatusLink.ticket.in_([target.name, *merged])
            )
        )
    )
    replace_links(session, TicketStatusLink, "ticket", "status", tenant_id, target.name, sorted(marks))
    target.followers = sorted({*target.followers, *(f for t in sources for f in t.followers)})
    for when in ("last_activity", "last_activity_client", "last_activity_operator"):
        times = [getattr(t, when) for t in found if getattr(t, when) is not None]
        setattr(target, when, max(times) if times else None)
    answers = [t.first_answer for t in found if t.first_answer is not None]
    target.first_answer = min(answers) if answers else None
    for ticket in sources:
        ticket.id_merge = target.name
        if ticket.stage not in ("CLOSE", "ARCHIVE"):
            _stage_changed(ticket, "CLOSE")
        stamp_edit(ticket, caller)
    stamp_edit(target, caller)
    session.flush()
    return target, merged
