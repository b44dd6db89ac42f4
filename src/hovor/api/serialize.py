"""Small shared pieces of the wire shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hovor.api.flat import rows_of
from hovor.api.resource import Ctx
from hovor.core.references import model_of
from hovor.core.wire import to_wire


def stamps(obj: Any, ctx: Ctx) -> dict[str, Any]:
    return {
        "created": to_wire(obj.created, ctx.tz),
        "edited": to_wire(obj.edited, ctx.tz),
        "created_by": getattr(obj, "created_by", None),
        "edited_by": getattr(obj, "edited_by", None),
    }


def links_loader(
    name: str, link: Any, column: str, value: str, target: str
) -> Callable[[Session, Ctx, list[Any]], None]:
    """A resource's ``attach``: for the records of a page, the references ``{"name", "title"}``
    they carry in the rows of ``link`` (``link.column`` the record's key, ``link.value`` the
    reference to ``target``), in ``ctx.cache[name][key]``, in one query. The statement is built
    once, on first use (the target's model is registered by then), and run on the connection:
    a list page pays for the query, not for building it (and the driver runs it: hovor.api.flat)."""
    owner, linked = getattr(link, column), getattr(link, value)
    built: list[Any] = []

    def statement() -> Any:
        if not built:
            model = model_of(target)
            built.append(
                select(owner, model.name, model.title)
                .join(model, (model.tenant_id == link.tenant_id) & (model.name == linked))
                .where(link.tenant_id == bindparam("tenant"), owner.in_(bindparam("keys", expanding=True)))
                .order_by(owner, model.title, model.name)
            )
        return built[0]

    def attach(session: Session, ctx: Ctx, keys: list[Any]) -> None:
        found: dict[Any, list[dict[str, Any]]] = {}
        rows = rows_of(session.connection(), statement(), {"tenant": ctx.caller.tenant_id, "keys": keys})
        for key, ref_name, title in rows:
            found.setdefault(key, []).append({"name": ref_name, "title": title})
        ctx.cache[name] = found

    return attach


def linked(ctx: Ctx, name: str, key: Any) -> list[dict[str, Any]]:
    """What :func:`links_loader` found for the record ``key``."""
    return list(ctx.cache.get(name, {}).get(key, []))


def ref(obj: Any | None) -> dict[str, Any] | None:
    """A reference to another record always has one shape on read: ``{"name", "title"}``."""
    if obj is None:
        return None
    return {"name": obj.name, "title": obj.title}


def contact_ref(contact: Any | None, ctx: Ctx) -> dict[str, Any] | None:
    """A contact referenced from an activity, ticket or campaign record. Those are scoped by
    queue or category, not by CRM database: the contact's name shows only to callers whose rights
    cover the contact's database; others see that there is a contact, not who it is."""
    if contact is None:
        return None
    allowed = ctx.caller.databases
    if allowed is not None and contact.database not in allowed:
        return {"name": contact.name, "title": None}
    return ref(contact)


def visible_custom_fields(values: dict[str, list[str]] | None, ctx: Ctx) -> dict[str, list[str]]:
    """``customFields`` on the wire, without the fields the caller may not see (see ``prepare``)."""
    if not values:
        return {}  # most records have none: a page's hundred rows skip the rest
    hidden = ctx.cache.get("hidden", frozenset())
    return {k: list(v) for k, v in values.items() if k not in hidden}
