"""The helpdesk resources: ticket categories and tickets."""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Body, Request

from hovor.api.catalogue import Plain, catalogue
from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.api.query import parse_brackets
from hovor.api.resource import (
    REGISTRY,
    Ctx,
    Relation,
    Resource,
    qf,
    register,
    relate,
    stamp_fields,
    tags_field,
)
from hovor.api.serialize import contact_ref, linked, links_loader, ref, stamps, visible_custom_fields
from hovor.api.visible import reload
from hovor.audit import log as audit
from hovor.core.db import utcnow
from hovor.core.errors import ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.wire import to_wire
from hovor.forms.service import hidden_fields_preparer
from hovor.helpdesk import schemas, service
from hovor.helpdesk.models import (
    Article,
    ArticleFolder,
    Ticket,
    TicketCategory,
    TicketSla,
    TicketStatus,
    TicketStatusLink,
)


def serialize_category(c: TicketCategory, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": c.name,
        "title": c.title,
        "sla_response": c.sla_response,
        "sla_solution": c.sla_solution,
        "auto_archive_days": c.auto_archive_days,
        "sla": ref(c.sla_obj),
        **stamps(c, ctx),
    }


def sla_overdue(t: Ticket) -> int | None:
    """Seconds the solution came (or, still open, is) past its deadline; 0 when in time, None
    without a deadline."""
    if t.sla_close_deadline is None:
        return None
    end = t.closed or utcnow()
    return max(0, int((end - t.sla_close_deadline).total_seconds()))


def serialize_ticket(t: Ticket, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": t.name,
        "title": t.title,
        "category": ref(t.category_obj),
        "user": ref(t.user_obj),
        "contact": contact_ref(t.contact_obj, ctx),
        "email": t.email,
        "stage": t.stage,
        "priority": t.priority,
        "description": t.description,
        "followers": list(t.followers or []),
        "statuses": linked(ctx, "statuses", t.name),
        "closed": to_wire(t.closed, ctx.tz),
        "last_activity": to_wire(t.last_activity, ctx.tz),
        "last_activity_client": to_wire(t.last_activity_client, ctx.tz),
        "last_activity_operator": to_wire(t.last_activity_operator, ctx.tz),
        "first_answer": to_wire(t.first_answer, ctx.tz),
        "first_answer_duration": (
            None if t.first_answer is None else max(0, int((t.first_answer - t.created).total_seconds()))
        ),
        "id_merge": t.id_merge,
        "sla_deadtime": to_wire(t.sla_deadtime, ctx.tz),
        "sla_close_deadline": to_wire(t.sla_close_deadline, ctx.tz),
        "sla_overdue": sla_overdue(t),
        "anonymized": t.anonymized,
        "customFields": visible_custom_fields(t.custom_fields, ctx),
        **stamps(t, ctx),
    }


register(
    Resource(
        endpoint="ticketsCategories",
        audit="helpdesk.category",
        title="Ticket categories",
        model=TicketCategory,
        permission="helpdesk:categories",
        fields=[
            qf("name", TicketCategory.name),
            qf("title", TicketCategory.title),
            qf("sla_response", TicketCategory.sla_response, "int"),
            qf("sla_solution", TicketCategory.sla_solution, "int"),
            qf("auto_archive_days", TicketCategory.auto_archive_days, "int"),
            qf("sla", TicketCategory.sla),
            *stamp_fields(TicketCategory),
        ],
        serialize=serialize_category,
        create_schema=schemas.CategoryCreate,
        update_schema=schemas.CategoryUpdate,
        create=service.create_category,
        update=service.update_category,
        delete=service.delete_category,
        q_columns=[TicketCategory.title],
        relations=[Relation("tickets", "tickets", "category")],
        eager=[(TicketCategory.sla_obj,)],
        default_order=[TicketCategory.title.asc()],
    )
)

register(
    Resource(
        endpoint="tickets",
        audit="helpdesk.ticket",
        title="Tickets",
        model=Ticket,
        permission="helpdesk:tickets",
        key_type=int,
        fields=[
            qf("name", Ticket.name, "int"),
            qf("title", Ticket.title),
            qf("category", Ticket.category),
            qf("user", Ticket.user),
            qf("contact", Ticket.contact),
            qf("email", Ticket.email),
            qf("stage", Ticket.stage),
            qf("priority", Ticket.priority),
            qf("description", Ticket.description),
            qf("followers", Ticket.followers, filter=False, sort=False),
            tags_field("statuses", TicketStatusLink, Ticket, "ticket", "status"),
            qf("closed", Ticket.closed, "datetime"),
            qf("last_activity", Ticket.last_activity, "datetime"),
            qf("last_activity_client", Ticket.last_activity_client, "datetime"),
            qf("last_activity_operator", Ticket.last_activity_operator, "datetime"),
            qf("first_answer", Ticket.first_answer, "datetime"),
            qf("id_merge", Ticket.id_merge, "int"),
            qf("sla_deadtime", Ticket.sla_deadtime, "datetime"),
            qf("sla_close_deadline", Ticket.sla_close_deadline, "datetime"),
            qf("anonymized", Ticket.anonymized, "bool"),
            qf("customFields", Ticket.custom_fields, filter=False, sort=False),
            *stamp_fields(Ticket),
        ],
        serialize=serialize_ticket,
        create_schema=schemas.TicketCreate,
        update_schema=schemas.TicketUpdate,
        create=service.create_ticket,
        update=service.update_ticket,
        delete=service.delete_ticket,
        q_columns=[Ticket.title, Ticket.description, Ticket.email],
        search="tickets",
        relations=[
            Relation("activities", "activities", "ticket"),
            Relation("attachments", "attachments", "ticket"),
        ],
        eager=[
            (Ticket.category_obj,),
            (Ticket.user_obj,),
            (Ticket.contact_obj,),
        ],
        default_order=[Ticket.name.desc()],
        prepare=hidden_fields_preparer("tickets"),
        attach=links_loader("statuses", TicketStatusLink, "ticket", "status", "ticket_statuses"),
        uses_files=True,
    )
)

relate("contacts", Relation("tickets", "tickets", "contact"))


TERM = Plain(int | None, "int", constraints={"ge": 0, "le": 10**6})
catalogue(
    "ticketsSla",
    TicketSla,
    title="Service levels",
    permission="helpdesk:sla",
    audit="helpdesk.sla",
    key_prefix="sla",
    fields={
        **{
            f"{kind}_{level}": TERM
            for kind in ("response", "solution")
            for level in ("low", "normal", "high")
        },
        "unit": Plain(Literal["minutes", "hours", "days"], "str", "minutes"),
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "deactivated": Plain(bool, "bool", False),
    },
)
catalogue(
    "statuses",
    TicketStatus,
    title="Statuses",
    permission="helpdesk:statuses",
    audit="helpdesk.status",
    key_prefix="statuses",
    fields={
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "color": Plain(str | None, constraints={"pattern": r"^#[0-9A-Fa-f]{6}$"}),
        "deactivated": Plain(bool, "bool", False),
    },
)
catalogue(
    "articlesFolders",
    ArticleFolder,
    title="Knowledge base folders",
    permission="helpdesk:articles",
    audit="helpdesk.article_folder",
    key_prefix="folders",
    fields={
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "deactivated": Plain(bool, "bool", False),
    },
)
catalogue(
    "articles",
    Article,
    title="Knowledge base articles",
    permission="helpdesk:articles",
    audit="helpdesk.article",
    key_prefix="articles",
    fields={
        "folder": Plain(str | None, ref="article_folders"),
        "content": Plain(str | None, constraints={"max_length": 1_000_000}),
        "published": Plain(bool, "bool", False),
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "deactivated": Plain(bool, "bool", False),
    },
    q_columns=[Article.title, Article.content],
)


router = APIRouter()


def _numbers(raw: Any) -> list[int]:
    if isinstance(raw, dict):  # tickets[0]=…&tickets[1]=… read as a mapping of positions
        raw = [raw[k] for k in sorted(raw, key=lambda k: int(k) if str(k).isdigit() else -1)]
    # A ticket number: ASCII digits within what the column holds ("²" is a digit to str.isdigit).
    if not isinstance(raw, list) or not all(
        isinstance(n, int | str) and re.fullmatch(r"[0-9]{1,9}", str(n)) for n in raw
    ):
        raise ValidationFailed({"tickets": ["A list of ticket numbers: tickets[0]=12&tickets[1]=15."]})
    return [int(n) for n in raw]


@router.post(
    "/api/v6/mergeTickets.json",
    tags=["Tickets"],
    summary="Merge tickets into the first one named (tickets[0]=…&tickets[1]=…, or a JSON body "
    '{"tickets": […]}): their activities and attachments move to it, each is closed with id_merge',
)
@permitted(Permission.HELPDESK_TICKETS_UPDATE)
def merge_tickets(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    body: dict[str, Any] | None = Body(None),
) -> Any:
    given = parse_brackets(request.query_params.multi_items()).get("tickets")
    if given is None and body is not None:
        given = body.get("tickets")
    target, merged = service.merge_tickets(session, caller, _numbers(given), request.app.state.legal_holds)
    details = {"into": target.name, "merged": merged}
    audit.record(
        session,
        caller.tenant_id,
        "helpdesk.ticket.merge",
        audit.actor_of(request),
        "tickets",
        str(target.name),
        details,
    )
    result = reload(session, REGISTRY["tickets"], caller, target)
    session.commit()
    return ok(request, result)
