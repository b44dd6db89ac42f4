"""Small shared pieces of the wire shape."""

from __future__ import annotations

from typing import Any

from hovor.api.resource import Ctx
from hovor.core.wire import to_wire


def stamps(obj: Any, ctx: Ctx) -> dict[str, Any]:
    return {
        "created": to_wire(obj.created, ctx.tz),
        "edited": to_wire(obj.edited, ctx.tz),
        "created_by": getattr(obj, "created_by", None),
        "edited_by": getattr(obj, "edited_by", None),
    }


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
    hidden = ctx.cache.get("hidden", frozenset())
    return {k: list(v) for k, v in (values or {}).items() if k not in hidden}
